//! The one place wadesk reads the system clock. Everything else takes time from a [`Clock`].

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // This is the single sanctioned reading of the system clock.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock tests move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock.
    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut g) = self.0.lock() {
            *g = at;
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut g) = self.0.lock() {
            *g += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        match self.0.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }
}
