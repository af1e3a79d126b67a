//! Accounts, plans, roles and per-number settings.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// The plan an account is on. The WhatsApp channel exists on Growth, Pro and Enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// No WhatsApp channel.
    Free,
    /// WhatsApp included.
    Growth,
    /// WhatsApp included.
    Pro,
    /// WhatsApp included.
    Enterprise,
}

impl Plan {
    /// Whether accounts on this plan may use the WhatsApp channel.
    pub fn has_whatsapp(self) -> bool {
        !matches!(self, Plan::Free)
    }

    /// The plan's wire name (`free`, `growth`, `pro`, `enterprise`).
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Growth => "growth",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plan name that is not one of `free`, `growth`, `pro`, `enterprise`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan {0:?}: expected one of free, growth, pro, enterprise")]
pub struct PlanParseError(pub String);

impl FromStr for Plan {
    type Err = PlanParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Ok(Plan::Free),
            "growth" => Ok(Plan::Growth),
            "pro" => Ok(Plan::Pro),
            "enterprise" => Ok(Plan::Enterprise),
            _ => Err(PlanParseError(s.to_owned())),
        }
    }
}

/// What an agent may do. Admins manage numbers, policies, rules and billing; agents answer tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Full access to the account.
    Admin,
    /// Tickets and contacts only.
    Agent,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

impl FromStr for Role {
    type Err = PlanParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            _ => Err(PlanParseError(s.to_owned())),
        }
    }
}

/// How long after the latest message a WhatsApp conversation continues on the same ticket:
/// whole hours from 1 to 48, 24 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ThreadingInterval(u8);

/// A threading interval outside 1 to 48 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("threading_interval_hours must be between 1 and 48, got {0}")]
pub struct ThreadingIntervalError(pub i64);

impl ThreadingInterval {
    /// The default, 24 hours.
    pub const DEFAULT: Self = Self(24);
    /// The smallest allowed interval.
    pub const MIN_HOURS: i64 = 1;
    /// The largest allowed interval.
    pub const MAX_HOURS: i64 = 48;

    /// Validates a number of hours.
    pub fn from_hours(hours: i64) -> Result<Self, ThreadingIntervalError> {
        if (Self::MIN_HOURS..=Self::MAX_HOURS).contains(&hours) {
            Ok(Self(hours as u8))
        } else {
            Err(ThreadingIntervalError(hours))
        }
    }

    /// The interval in hours.
    pub fn hours(self) -> i64 {
        i64::from(self.0)
    }

    /// The interval as a duration.
    pub fn duration(self) -> time::Duration {
        time::Duration::hours(self.hours())
    }
}

impl Default for ThreadingInterval {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<i64> for ThreadingInterval {
    type Error = ThreadingIntervalError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::from_hours(v)
    }
}

impl From<ThreadingInterval> for i64 {
    fn from(v: ThreadingInterval) -> Self {
        v.hours()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threading_interval_bounds() {
        assert!(ThreadingInterval::from_hours(0).is_err());
        assert_eq!(ThreadingInterval::from_hours(1).map(|t| t.hours()), Ok(1));
        assert_eq!(ThreadingInterval::from_hours(48).map(|t| t.hours()), Ok(48));
        assert!(ThreadingInterval::from_hours(49).is_err());
        assert_eq!(ThreadingInterval::default().hours(), 24);
    }

    #[test]
    fn plans_parse_and_gate_whatsapp() {
        assert_eq!("Growth".parse::<Plan>(), Ok(Plan::Growth));
        assert!("gold".parse::<Plan>().is_err());
        assert!(!Plan::Free.has_whatsapp());
        assert!(Plan::Enterprise.has_whatsapp());
    }
}
