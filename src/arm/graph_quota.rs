//! Resource Graph's per-caller quota as one client's queries found it: when it resets after
//! running out, and until when only its reserve is left (`Graph::yielding`).

use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Default)]
pub struct GraphQuota {
    /// No query before this instant (the quota ran out).
    not_before: Mutex<Option<Instant>>,
    /// Until this instant the quota left is down to the reserve yielding queries leave.
    reserved_until: Mutex<Option<Instant>>,
}

fn read(cell: &Mutex<Option<Instant>>) -> Option<Instant> {
    *cell.lock().unwrap_or_else(|p| p.into_inner())
}

fn write(cell: &Mutex<Option<Instant>>, value: Option<Instant>) {
    *cell.lock().unwrap_or_else(|p| p.into_inner()) = value;
}

impl GraphQuota {
    /// When the quota resets, if a query found it used up.
    pub fn not_before(&self) -> Option<Instant> {
        read(&self.not_before)
    }

    pub fn set_not_before(&self, until: Instant) {
        write(&self.not_before, Some(until));
    }

    /// Until when the quota is down to its reserve, if it is.
    pub fn reserved_until(&self) -> Option<Instant> {
        read(&self.reserved_until)
    }

    pub fn set_reserved_until(&self, until: Option<Instant>) {
        write(&self.reserved_until, until);
    }
}
