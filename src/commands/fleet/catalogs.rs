//! Role catalogs read once per (subscription, location) and shared by every cluster that needs
//! one (`audit`, `plan`, `apply`): the one cache, whatever each command keeps of a catalog.

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
}

impl<T> Default for Catalogs<T> {
    fn default() -> Self {
        Catalogs {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Catalogs<T> {
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
            read(parsed).await.map(Arc::new)
        })
        .await
        .clone()
    }
}
