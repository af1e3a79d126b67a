//! End-to-end tests of the webhook inbox over real HTTP on loopback, against SQLite always
//! and PostgreSQL when `WADESK_TEST_DATABASE_URL` is set.

mod harness;
mod inbox;
mod numbers;
