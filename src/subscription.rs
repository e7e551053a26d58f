//! The one subscription resolver: what a user typed (`--subscription`, `AZURE_SUBSCRIPTION_ID`:
//! an id or a display name) → a subscription id, by az's rules. Used by every command and by
//! `audit` (several at once, one listing of ARM's subscriptions at most).

use crate::arm::api;
use crate::arm::client::ArmClient;
use crate::arm::models::Subscription;
use crate::azconfig::ProfileSubscription;
use crate::domain::ids::SubscriptionId;
use crate::error::{Error, Result};

/// One subscription, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub id: SubscriptionId,
    /// The display name, when the lookup saw one.
    pub name: Option<String>,
    /// ARM's `state` (`Enabled`, `Disabled`, …), when the lookup asked ARM.
    pub state: Option<String>,
}

/// az's message for a subscription it does not know (`Profile.get_subscription`).
pub fn not_found(wanted: &str, hint: Option<String>) -> Error {
    Error::Config {
        message: format!(
            "Subscription '{wanted}' not found. Check the spelling and casing and try again."
        ),
        hint,
    }
}

/// Resolves each of `wanted` (ids or display names, case-insensitive).
///
/// `profile` is az's `azureProfile.json` when sign-in goes through az (else empty): like az, a
/// value that is neither an id nor a name there is refused before any request. Without a
/// profile an id is taken as it is and a name is looked up in ARM's subscription list, fetched
/// once however many names there are.
pub async fn resolve_all(
    client: &ArmClient,
    profile: &[ProfileSubscription],
    wanted: &[String],
) -> Result<Vec<Resolved>> {
    resolve_all_listing(client, profile, wanted, &mut None).await
}

/// As `resolve_all`, sharing ARM's subscription list with the caller: `visible` is used if
/// already fetched, and left filled if this had to fetch it (`audit` needs it for the states).
pub async fn resolve_all_listing(
    client: &ArmClient,
    profile: &[ProfileSubscription],
    wanted: &[String],
    visible: &mut Option<Vec<Subscription>>,
) -> Result<Vec<Resolved>> {
    let mut resolved = Vec::with_capacity(wanted.len());
    for raw in wanted {
        let raw = raw.trim();
        if !profile.is_empty() {
            resolved.push(in_profile(profile, raw)?);
            continue;
        }
        if let Some(id) = SubscriptionId::parse(raw) {
            resolved.push(Resolved {
                id,
                name: None,
                state: None,
            });
            continue;
        }
        if visible.is_none() {
            *visible = Some(api::list_subscriptions(client).await?);
        }
        resolved.push(by_name(visible.as_deref().unwrap_or_default(), raw)?);
    }
    Ok(resolved)
}

/// One value, as `resolve_all`.
pub async fn resolve(
    client: &ArmClient,
    profile: &[ProfileSubscription],
    wanted: &str,
) -> Result<Resolved> {
    let mut all = resolve_all(client, profile, &[wanted.to_string()]).await?;
    all.pop().ok_or_else(|| not_found(wanted, None))
}

/// Whether az's profile lists `wanted` (an id or a name, case-insensitively). az's
/// `--subscription` action warns `Subscription '…' not recognized.` when it does not, before
/// the refusal (azure-cli 2.91.0, `SubscriptionNameOrIdAction`).
pub fn known_to_profile(profile: &[ProfileSubscription], wanted: &str) -> bool {
    let lower = wanted.trim().to_lowercase();
    profile
        .iter()
        .any(|s| s.id.to_lowercase() == lower || s.name.to_lowercase() == lower)
}

/// az's rule: the id or the name, case-insensitively; the first match when names repeat.
fn in_profile(profile: &[ProfileSubscription], wanted: &str) -> Result<Resolved> {
    let lower = wanted.to_lowercase();
    let found = profile
        .iter()
        .find(|s| s.id.to_lowercase() == lower || s.name.to_lowercase() == lower)
        .ok_or_else(|| {
            not_found(
                wanted,
                Some(
                    "az knows these subscriptions ('az account list -o table'); \
                     run 'az account list --refresh' if it is new"
                        .into(),
                ),
            )
        })?;
    let id = SubscriptionId::parse(&found.id).ok_or_else(|| Error::Config {
        message: format!(
            "the subscription id '{}' in az's profile is not a UUID",
            found.id
        ),
        hint: Some("run 'az account list --refresh'".into()),
    })?;
    Ok(Resolved {
        id,
        name: Some(found.name.clone()).filter(|n| !n.is_empty()),
        state: None,
    })
}

/// A display name among the subscriptions ARM lists, case-insensitively; two with that name is
/// an error naming both (a silent pick could act on the wrong one).
pub fn by_name(visible: &[Subscription], name: &str) -> Result<Resolved> {
    let matches: Vec<&Subscription> = visible
        .iter()
        .filter(|s| {
            s.display_name
                .as_deref()
                .is_some_and(|d| d.to_lowercase() == name.to_lowercase())
                || s.subscription_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(name))
        })
        .collect();
    let describe = |s: &Subscription| {
        format!(
            "{} ({})",
            s.display_name.as_deref().unwrap_or("?"),
            s.subscription_id.as_deref().unwrap_or("?")
        )
    };
    match matches.as_slice() {
        [one] => {
            let id = one
                .subscription_id
                .as_deref()
                .and_then(SubscriptionId::parse)
                .ok_or_else(|| Error::UnexpectedResponse {
                    request: "GET /subscriptions".into(),
                    detail: format!("subscription '{name}' has no valid subscriptionId"),
                })?;
            Ok(Resolved {
                id,
                name: one.display_name.clone(),
                state: one.state.clone(),
            })
        }
        [] => Err(not_found(
            name,
            Some(if visible.is_empty() {
                "the signed-in identity can see no subscriptions".to_string()
            } else {
                format!(
                    "subscriptions this identity can see: {}",
                    visible.iter().map(describe).collect::<Vec<_>>().join(", ")
                )
            }),
        )),
        many => Err(Error::Config {
            message: format!("subscription name '{name}' is ambiguous"),
            hint: Some(format!(
                "pass the id of one of: {}",
                many.iter()
                    .map(|s| describe(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, name: &str) -> Subscription {
        Subscription {
            id: Some(format!("/subscriptions/{id}")),
            subscription_id: Some(id.into()),
            display_name: Some(name.into()),
            state: Some("Enabled".into()),
            tenant_id: None,
        }
    }

    fn profile(id: &str, name: &str) -> ProfileSubscription {
        serde_json::from_value(serde_json::json!({"id": id, "name": name})).unwrap()
    }

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";

    #[test]
    fn names_match_case_insensitively_and_twins_are_refused() {
        let visible = [sub(A, "Prod"), sub(B, "prod")];
        assert!(matches!(
            by_name(&visible, "PROD"),
            Err(Error::Config { .. })
        ));
        let visible = [sub(A, "Prod"), sub(B, "Staging")];
        assert_eq!(by_name(&visible, "staging").unwrap().id.as_str(), B);
        let Err(Error::Config { message, .. }) = by_name(&visible, "nope") else {
            panic!("an unknown name is refused");
        };
        assert_eq!(
            message,
            "Subscription 'nope' not found. Check the spelling and casing and try again."
        );
    }

    #[test]
    fn the_profile_answers_by_id_or_name_and_refuses_the_rest() {
        let profile = [profile(A, "Prod"), profile(B, "Staging")];
        assert_eq!(in_profile(&profile, "sTaGiNg").unwrap().id.as_str(), B);
        assert_eq!(
            in_profile(&profile, &A.to_uppercase()).unwrap().id.as_str(),
            A
        );
        assert!(in_profile(&profile, "33333333-3333-3333-3333-333333333333").is_err());
    }
}
