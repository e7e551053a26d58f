//! Fault injection: every Nth ARM request, or a random fraction of them, answers with a throttle,
//! a server error, a proxy's page, a dropped connection, or is carried out and loses its answer,
//! so retry behaviour is tested for real.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After`.
    Throttle,
    /// 500 Internal Server Error.
    InternalError,
    /// 503 Service Unavailable.
    Unavailable,
    /// The connection is closed without an answer.
    Drop,
    /// 502 with an HTML page, as a proxy or gateway answers.
    ProxyPage,
    /// The request is carried out, then the connection closes before the answer: the write
    /// happened but the client cannot know (it retries; ARM's PUT and DELETE are idempotent).
    LostAnswer,
}

impl FaultKind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "throttle" | "429" => FaultKind::Throttle,
            "500" | "internal" => FaultKind::InternalError,
            "503" | "unavailable" => FaultKind::Unavailable,
            "drop" => FaultKind::Drop,
            "html" | "proxy" => FaultKind::ProxyPage,
            "lost" => FaultKind::LostAnswer,
            _ => return None,
        })
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    /// Fault every Nth ARM request (1-based: 3 = the 3rd, 6th, …).
    pub every: Option<u64>,
    /// Or fault this fraction of requests at random (0.0–1.0).
    pub ratio: f64,
    /// The kinds to inject, used in turn.
    pub kinds: Vec<FaultKind>,
    /// `Retry-After` seconds on an injected 429.
    pub throttle_retry_after: u64,
    /// The seed of the random fault stream (`--fault-seed`): the same seed and the same requests
    /// in the same order give the same faults, so a failure can be replayed.
    pub seed: u64,
    /// One generator for every request, drawn once per ARM request in arrival order (not a
    /// thread-local generator per worker thread, whose draws depend on scheduling).
    rng: Mutex<fastrand::Rng>,
    seen: AtomicU64,
    injected: AtomicU64,
}

impl Clone for Faults {
    fn clone(&self) -> Self {
        Faults {
            every: self.every,
            ratio: self.ratio,
            kinds: self.kinds.clone(),
            throttle_retry_after: self.throttle_retry_after,
            seed: self.seed,
            rng: Mutex::new(self.rng.lock().unwrap_or_else(|p| p.into_inner()).clone()),
            seen: AtomicU64::new(self.seen.load(Ordering::Relaxed)),
            injected: AtomicU64::new(self.injected.load(Ordering::Relaxed)),
        }
    }
}

impl Faults {
    pub fn new(
        every: Option<u64>,
        ratio: f64,
        kinds: Vec<FaultKind>,
        throttle_retry_after: u64,
    ) -> Self {
        Faults {
            every: every.filter(|n| *n > 0),
            ratio: ratio.clamp(0.0, 1.0),
            kinds,
            throttle_retry_after,
            seed: 0,
            rng: Mutex::new(fastrand::Rng::with_seed(0)),
            seen: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
        .with_seed(fastrand::u64(..))
    }

    /// The random stream starts from `seed`.
    pub fn with_seed(self, seed: u64) -> Self {
        Faults {
            seed,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            ..self
        }
    }

    /// Decides the fate of the next ARM request.
    pub fn next(&self) -> Option<FaultKind> {
        if self.kinds.is_empty() {
            return None;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        let hit = match self.every {
            Some(every) => n.is_multiple_of(every),
            None => {
                self.ratio > 0.0
                    && self.rng.lock().unwrap_or_else(|p| p.into_inner()).f64() < self.ratio
            }
        };
        if !hit {
            return None;
        }
        let i = self.injected.fetch_add(1, Ordering::Relaxed);
        Some(self.kinds[(i as usize) % self.kinds.len()])
    }

    /// (requests seen, faults injected)
    pub fn counts(&self) -> (u64, u64) {
        (
            self.seen.load(Ordering::Relaxed),
            self.injected.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_gets_the_kinds_in_turn() {
        let f = Faults::new(Some(3), 0.0, vec![FaultKind::Throttle, FaultKind::Drop], 0);
        let fates: Vec<Option<FaultKind>> = (0..9).map(|_| f.next()).collect();
        assert_eq!(
            fates,
            [
                None,
                None,
                Some(FaultKind::Throttle),
                None,
                None,
                Some(FaultKind::Drop),
                None,
                None,
                Some(FaultKind::Throttle)
            ]
        );
        assert_eq!(f.counts(), (9, 3));
    }

    #[test]
    fn the_same_seed_gives_the_same_fault_stream() {
        let stream = |seed| {
            let f = Faults::new(None, 0.33, vec![FaultKind::InternalError], 0).with_seed(seed);
            (0..200).map(|_| f.next().is_some()).collect::<Vec<bool>>()
        };
        assert_eq!(stream(7), stream(7));
        assert_ne!(stream(7), stream(8));
        let hits = stream(7).iter().filter(|h| **h).count();
        assert!((30..110).contains(&hits), "{hits} of 200 at a third");
    }

    #[test]
    fn no_kinds_means_no_faults() {
        let f = Faults::new(Some(1), 1.0, vec![], 0);
        assert!((0..10).all(|_| f.next().is_none()));
    }
}
