//! The Resource Graph query that checks a batch of binding sources, written compactly: the
//! sources of one subscription and type are asked for by name (`(subscriptionId =~ 's' and
//! type =~ 't' and name in~ (…))`), each subscription and type written once, so a query of a
//! given length covers several times more sources than one listing full ids. A name may match
//! a resource the batch did not ask for (the same name in another resource group): the caller
//! keeps only the rows whose full id it asked for (`wants`), and reads what is left through ARM.

use crate::commands::fleet::discovery::kql_string;
use crate::domain::ids::SourceResourceId;
use std::collections::{BTreeMap, HashSet};

/// Ids per query at most: one answer page (Resource Graph's 1,000 rows). Each id asked for is
/// one resource, so only an unasked resource of the same subscription, type and name (dropped
/// by `wants`) can make a second page: one more query, never a wrong answer.
pub const SOURCE_BATCH: usize = 1000;

/// Characters per query at most (the batch is cut to fit). Resource Graph documents no length
/// limit a client can rely on; 48,000 is under half of the ~110,000 a server was seen to
/// refuse, and a batch refused anyway is split. At about 12 characters a name, a batch of
/// 1,000 sources takes a quarter of it; as full ids (~130 characters) it took 400.
pub const MAX_QUERY_CHARS: usize = 48_000;

const HEAD: &str = "resources | where ";
const TAIL: &str = " | project id, identity";
const OR: &str = " or ";
const SEP: &str = ", ";
/// A group's clause, without its subscription, type and names.
const GROUP_CLAUSE: &str = "(subscriptionId =~  and type =~  and name in~ ())";
/// The clause of the sources asked for by id, without the ids.
const ID_CLAUSE: &str = "id in~ ()";

/// The sources of one subscription and one top-level resource type (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    subscription: String,
    resource_type: String,
}

/// A batch's query as it is built: its groups, and the length of its text at most.
#[derive(Debug, Default)]
pub struct SourceQuery<'a> {
    /// Each group's sources, as (id, name).
    groups: BTreeMap<Group, Vec<(&'a str, &'a str)>>,
    /// Sources asked for by id: of a nested type (whose name Resource Graph may not write as
    /// the id's last segment) or an id that does not parse.
    by_id: Vec<&'a str>,
    /// The query's length at most (each list's separators counted once more than written).
    len: usize,
    /// The sources added.
    count: usize,
}

/// A top-level resource's group and name; `None` for a nested type or an unparsable id.
fn named(id: &str) -> Option<(Group, &str)> {
    let parsed = SourceResourceId::parse(id).ok()?;
    let resource_type = parsed.resource_type();
    if resource_type.matches('/').count() != 1 {
        return None;
    }
    let group = Group {
        subscription: parsed.subscription().to_ascii_lowercase(),
        resource_type: resource_type.to_ascii_lowercase(),
    };
    Some((group, id.trim_end_matches('/').rsplit('/').next()?))
}

/// A quoted literal's length with its separator.
fn item(text: &str) -> usize {
    kql_string(text).len() + SEP.len()
}

impl<'a> SourceQuery<'a> {
    /// The query of a whole batch.
    pub fn of(batch: &'a [String]) -> Self {
        let mut query = SourceQuery::default();
        batch.iter().for_each(|id| query.add(id));
        query
    }

    /// The sources added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The query's length at most, once `id` is added. A group's first source is written as
    /// an id (a clause for one name is longer); from its second, the group has its clause.
    pub fn len_with(&self, id: &str) -> usize {
        let base = if self.count == 0 {
            HEAD.len() + TAIL.len() + ID_CLAUSE.len() + OR.len()
        } else {
            self.len
        };
        let added = match named(id) {
            None => item(id),
            Some((group, name)) => match self.groups.get(&group).map(Vec::as_slice) {
                None | Some([]) => item(id),
                Some([(first_id, first_name)]) => {
                    let clause = GROUP_CLAUSE.len()
                        + kql_string(&group.subscription).len()
                        + kql_string(&group.resource_type).len()
                        + OR.len();
                    return (base + clause + item(first_name) + item(name))
                        .saturating_sub(item(first_id));
                }
                Some(_) => item(name),
            },
        };
        base + added
    }

    /// Adds a source (lower-cased or not: names and ids are matched case-insensitively).
    pub fn add(&mut self, id: &'a str) {
        self.len = self.len_with(id);
        self.count += 1;
        match named(id) {
            Some((group, name)) => self.groups.entry(group).or_default().push((id, name)),
            None => self.by_id.push(id),
        }
    }

    /// The query's text.
    pub fn text(&self) -> String {
        let list = |items: &mut dyn Iterator<Item = &str>| {
            items.map(kql_string).collect::<Vec<_>>().join(SEP)
        };
        let mut ids: Vec<&str> = self.by_id.clone();
        let mut clauses = Vec::new();
        for (group, sources) in &self.groups {
            if let [(id, _)] = sources.as_slice() {
                ids.push(id);
                continue;
            }
            clauses.push(format!(
                "(subscriptionId =~ {} and type =~ {} and name in~ ({}))",
                kql_string(&group.subscription),
                kql_string(&group.resource_type),
                list(&mut sources.iter().map(|(_, name)| *name))
            ));
        }
        if !ids.is_empty() {
            clauses.push(format!("id in~ ({})", list(&mut ids.into_iter())));
        }
        format!("{HEAD}{}{TAIL}", clauses.join(OR))
    }

    /// The ids asked for (lower-cased): a returned row whose id is not among them is another
    /// resource of the same name, and is dropped.
    pub fn wants(&self) -> HashSet<String> {
        let named = self.groups.values().flatten().map(|(id, _)| *id);
        named
            .chain(self.by_id.iter().copied())
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-4000-8000-000000000001";

    fn ids() -> Vec<String> {
        let mut ids: Vec<String> = (0..1500)
            .map(|n| {
                let sub = format!("{:08x}-0000-4000-8000-000000000001", n % 7);
                match n % 5 {
                    // Nested, subscription-scoped (Defender's), and not an id at all.
                    0 => format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/p{n}/securityOperators/o"),
                    1 => format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/p{n}"),
                    2 if n % 3 == 0 => format!("not an id {n} with a 'quote'"),
                    _ => format!(
                        "/subscriptions/{sub}/resourceGroups/rg-{}/providers/Microsoft.MachineLearningServices/workspaces/ws-{}{}",
                        n % 4,
                        n,
                        "x".repeat(n % 40)
                    ),
                }
            })
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn the_length_bound_holds_and_is_close() {
        let ids = ids();
        let mut query = SourceQuery::default();
        for (i, id) in ids.iter().enumerate() {
            let bound = query.len_with(id);
            query.add(id);
            let text = query.text();
            assert!(text.len() <= bound, "{i}: {} > {bound}", text.len());
            // Beyond the text, only a separator after each list's last item, one " or ", and
            // the id clause while it is empty are counted.
            let slack = ID_CLAUSE.len() + 2 * OR.len() + SEP.len() * (1 + query.groups.len());
            assert!(bound - text.len() <= slack, "{i}");
            assert_eq!(query.len, bound);
        }
        assert_eq!(query.count(), ids.len());
        assert_eq!(query.wants().len(), ids.len());
    }

    #[test]
    fn sources_are_named_within_their_subscription_and_type() {
        let a = format!("/subscriptions/{SUB}/resourceGroups/RG/providers/Microsoft.X/ys/A");
        let b = format!("/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.X/ys/b");
        let c = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.X/zs/c");
        let nested = format!("/subscriptions/{SUB}/providers/Microsoft.S/ps/p/os/o");
        let batch = vec![a.clone(), b, c.clone(), nested.clone()];
        let query = SourceQuery::of(&batch);
        assert_eq!(
            query.text(),
            format!(
                "resources | where (subscriptionId =~ '{SUB}' and type =~ 'microsoft.x/ys' and name in~ ('A', 'b')) \
                 or id in~ ('{nested}', '{c}') | project id, identity"
            )
        );
        let wants = query.wants();
        assert_eq!(wants.len(), 4);
        assert!(wants.contains(&a.to_ascii_lowercase()) && wants.contains(&c.to_ascii_lowercase()));
    }
}
