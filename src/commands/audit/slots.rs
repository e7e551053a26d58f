//! The one place audit requests are scheduled: a bound on the requests in flight, shared by every
//! stage (discovery, bindings, catalogs, source checks), and the width of the ordered windows.

use crate::error::{Error, Result};
use tokio::sync::Semaphore;

pub struct Slots {
    permits: Semaphore,
    width: usize,
}

impl Slots {
    pub fn new(parallel: usize) -> Self {
        let width = parallel.max(1);
        Slots {
            permits: Semaphore::new(width),
            width,
        }
    }

    /// How many requests may be in flight at once (`--parallel`).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Runs one request while holding a slot.
    pub async fn run<T>(&self, request: impl Future<Output = Result<T>>) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Io(e.to_string()))?;
        request.await
    }
}
