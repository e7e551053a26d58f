//! What every command needs, resolved once from flags, environment and az's configuration:
//! the ARM client, the subscription (id, or display name looked up), and which write is in
//! flight (so Ctrl-C can say how to check its result).

use crate::arm::client::ArmClient;
use crate::azconfig::AzConfig;
use crate::diagnostics::Diagnostics;
use crate::domain::ids::{BindingId, SubscriptionId};
use crate::error::{Error, Result};
use crate::settings::SubscriptionChoice;
use crate::subscription;
use tokio::sync::{OnceCell, watch};

pub struct Context {
    pub client: ArmClient,
    pub config: AzConfig,
    pub diagnostics: Diagnostics,
    subscription_choice: SubscriptionChoice,
    subscription: OnceCell<SubscriptionId>,
    /// Sign-in goes through az, so az's profile (`azureProfile.json`) says which subscriptions
    /// exist: one it does not list is refused before any request, as az does.
    pub az_profile_applies: bool,
    /// The binding whose write may be running in Azure right now (see `writing`).
    in_flight: watch::Sender<Option<BindingId>>,
}

/// Marks a write as in flight until dropped (when the command returns, however it returns).
pub struct WriteInFlight<'a>(&'a watch::Sender<Option<BindingId>>);

impl Drop for WriteInFlight<'_> {
    fn drop(&mut self) {
        self.0.send_replace(None);
    }
}

impl Context {
    pub fn new(
        client: ArmClient,
        config: AzConfig,
        diagnostics: Diagnostics,
        subscription_choice: SubscriptionChoice,
    ) -> Self {
        Context {
            client,
            config,
            diagnostics,
            subscription_choice,
            subscription: OnceCell::new(),
            az_profile_applies: false,
            in_flight: watch::Sender::new(None),
        }
    }

    /// The settings' choice (`--subscription`, else `AZURE_SUBSCRIPTION_ID`), looked up; else az's
    /// default subscription.
    pub async fn subscription(&self) -> Result<&SubscriptionId> {
        self.subscription
            .get_or_try_init(|| self.resolve_subscription())
            .await
    }

    async fn resolve_subscription(&self) -> Result<SubscriptionId> {
        let raw = match &self.subscription_choice {
            SubscriptionChoice::Named(raw) => raw.clone(),
            SubscriptionChoice::AzDefault => {
                return match self.config.default_subscription() {
                    Some(default) => SubscriptionId::parse(&default.id).ok_or_else(|| Error::Config {
                        message: format!("az's default subscription id '{}' is not a UUID", default.id),
                        hint: Some("run 'az account set --subscription <id>'".into()),
                    }),
                    None => Err(Error::Config {
                        message: "no subscription: none was given and az has no default subscription".into(),
                        hint: Some(
                            "pass --subscription <id or name>, set AZURE_SUBSCRIPTION_ID, \
                             or choose az's default with 'az login' / 'az account set --subscription <id>'"
                                .into(),
                        ),
                    }),
                };
            }
        };
        let profile = self.az_profile();
        if !profile.is_empty() && !subscription::known_to_profile(&profile, &raw) {
            self.diagnostics
                .warn(&format!("Subscription '{raw}' not recognized."));
        }
        Ok(subscription::resolve(&self.client, &profile, &raw)
            .await?
            .id)
    }

    /// az's profile subscriptions when sign-in goes through az (they decide which subscriptions
    /// exist, as in az), else none.
    pub fn az_profile(&self) -> Vec<crate::azconfig::ProfileSubscription> {
        if self.az_profile_applies {
            self.config.profile_subscriptions()
        } else {
            Vec::new()
        }
    }

    /// From now until the guard drops, a write of `binding` may be running in Azure.
    pub fn writing(&self, binding: &BindingId) -> WriteInFlight<'_> {
        self.in_flight.send_replace(Some(binding.clone()));
        WriteInFlight(&self.in_flight)
    }

    /// The write in flight, if any: what an interruption leaves behind.
    pub fn write_in_flight(&self) -> Option<BindingId> {
        self.in_flight.borrow().clone()
    }
}
