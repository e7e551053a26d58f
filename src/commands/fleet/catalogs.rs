//! Role catalogs read once per (subscription, location) and shared by every cluster that needs
//! one (`audit`, `plan`, `apply`): the one cache, whatever each command keeps of a catalog.
//! A location's catalog is the same in every subscription, so an equal one is kept once: a
//! 200-subscription audit held some 600 copies (about 10 MB).

use crate::domain::ids::{Location, SubscriptionId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// A location's catalog as a command keeps it, or the reason it could not be read.
type Cell<T> = OnceCell<Result<Arc<T>, String>>;

/// (lower-cased subscription id, lower-cased location).
type Key = (String, String);

pub struct Catalogs<T> {
    cells: Mutex<HashMap<Key, Arc<Cell<T>>>>,
    /// The distinct catalogs read so far, by lower-cased location.
    distinct: Mutex<HashMap<String, Vec<Arc<T>>>>,
}

impl<T> Default for Catalogs<T> {
    fn default() -> Self {
        Catalogs {
            cells: Mutex::new(HashMap::new()),
            distinct: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: PartialEq> Catalogs<T> {
    /// The catalog of `location` in `sub`, read by `read` the first time it is asked for (later
    /// callers wait for that read and share its answer). A location the service gave that is
    /// not a location name is refused, never put in a request.
    pub async fn get<F, Fut>(
        &self,
        sub: &SubscriptionId,
        location: &str,
        read: F,
    ) -> Result<Arc<T>, String>
    where
        F: FnOnce(Location) -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            let key = (
                sub.as_str().to_ascii_lowercase(),
                location.to_ascii_lowercase(),
            );
            cells.entry(key).or_default().clone()
        };
        cell.get_or_init(|| async {
            let Some(parsed) = Location::from_service(location) else {
                return Err(format!(
                    "the cluster's location '{location}' is not a location name"
                ));
            };
            read(parsed)
                .await
                .map(|catalog| self.shared(location, catalog))
        })
        .await
        .clone()
    }

    /// The one kept copy of a catalog equal to `catalog` in `location`, or `catalog` kept.
    fn shared(&self, location: &str, catalog: T) -> Arc<T> {
        let mut distinct = self.distinct.lock().unwrap_or_else(|p| p.into_inner());
        let kept = distinct.entry(location.to_ascii_lowercase()).or_default();
        match kept.iter().find(|k| ***k == catalog) {
            Some(k) => k.clone(),
            None => {
                let catalog = Arc::new(catalog);
                kept.push(catalog.clone());
                catalog
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn equal_catalogs_of_one_location_are_kept_once() {
        let catalogs = Catalogs::<Vec<&str>>::default();
        let sub = |n: u8| {
            SubscriptionId::parse(&format!("00000000-0000-0000-0000-0000000000{n:02}")).unwrap()
        };
        let a = catalogs
            .get(&sub(1), "westeurope", |_| async { Ok(vec!["r"]) })
            .await
            .unwrap();
        let b = catalogs
            .get(&sub(2), "WestEurope", |_| async { Ok(vec!["r"]) })
            .await
            .unwrap();
        let c = catalogs
            .get(&sub(3), "westeurope", |_| async { Ok(vec!["other"]) })
            .await
            .unwrap();
        let d = catalogs
            .get(&sub(4), "eastus", |_| async { Ok(vec!["r"]) })
            .await
            .unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "an equal catalog of the same location is shared"
        );
        assert!(!Arc::ptr_eq(&a, &c) && *c == vec!["other"]);
        assert!(!Arc::ptr_eq(&a, &d), "another location keeps its own");
    }
}
