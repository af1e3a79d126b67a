//! End-to-end tests of the webhook inbox over real HTTP on loopback, against SQLite always
//! and PostgreSQL when `WADESK_TEST_DATABASE_URL` is set.

// Test support code outside #[test] functions panics on setup failures by design.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod accounts;
mod attachments_out;
mod automation;
mod billing;
mod harness;
mod inbox;
mod media;
mod numbers;
mod outbound;
mod settings;
mod sla;
mod tickets;
mod webhooks_out;
