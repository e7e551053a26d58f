//! The one place fleet requests are scheduled: a bound on the requests in flight, shared by every
//! stage of an audit (discovery, bindings, catalogs, source checks), and the width of the
//! ordered windows.
//! The bound applies to attempts on the wire (the ARM client holds a slot only while a request
//! is sent and read), never to a request waiting out a retry; and the ordered window is wide, so
//! a cluster waiting on a retry does not stall the clusters behind it.

use crate::arm::graph::Backlog;
use crate::error::Result;

/// The least number of clusters in progress in an ordered stream.
const ORDERED_WINDOW: usize = 1024;

pub struct Slots {
    width: usize,
    /// Clusters discovery has handed on and the audit not yet taken: discovery waits while it
    /// is at its limit (unlimited unless set with `paced`).
    backlog: Backlog,
}

impl Slots {
    pub fn new(parallel: usize) -> Self {
        let width = parallel.max(1);
        Slots {
            width,
            backlog: Backlog::new(usize::MAX),
        }
    }

    /// Discovery waits while `limit` clusters it found are not taken yet.
    pub fn paced(mut self, limit: usize) -> Self {
        self.backlog = Backlog::new(limit);
        self
    }

    /// Discovery's backlog of clusters not yet taken.
    pub fn backlog(&self) -> &Backlog {
        &self.backlog
    }

    /// How many requests may be in flight at once (`--parallel`).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Runs one request of `client`'s. The slots are the client's in-flight limit (set to this
    /// width by `bind`), so a request holds one only while it is on the wire.
    pub async fn run<T>(&self, request: impl Future<Output = Result<T>>) -> Result<T> {
        request.await
    }

    /// Makes `client` keep at most `width` requests on the wire.
    pub fn bind(&self, client: &crate::arm::client::ArmClient) {
        client.limit_in_flight(self.width);
    }

    /// How many clusters may be in progress at once in an ordered stream: far more than the
    /// requests in flight, so clusters behind one that waits on a retry keep going (their rows
    /// are small; 1024 of them are a few hundred kilobytes).
    pub fn window(&self) -> usize {
        (self.width * 2).max(ORDERED_WINDOW)
    }
}
