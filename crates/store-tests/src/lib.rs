//! The storage conformance suite: one set of behaviours every [`store::Store`] adapter must
//! show, so the SQLite and PostgreSQL adapters behave alike.
//!
//! Each check in [`checks`] is a `pub async fn(Arc<dyn Store>)` that panics on a violation and
//! expects a **fresh, empty** store (some checks count rows or bootstrap the first account).
//! An adapter crate runs the whole suite from its `tests/conformance.rs` by implementing
//! [`Harness`] (how to open a fresh store and clean up after it) and invoking
//! [`conformance_tests!`], which generates one `#[tokio::test]` per check:
//!
//! ```ignore
//! struct TempFile;
//! impl store_tests::Harness for TempFile {
//!     type Fixture = tempfile::TempDir;
//!     async fn setup() -> Option<(Arc<dyn Store>, Self::Fixture)> { /* open a store */ }
//!     async fn teardown(_dir: Self::Fixture) {}
//! }
//! store_tests::conformance_tests!(TempFile);
//! ```
//!
//! A harness returns `None` from [`Harness::setup`] to skip (for example when no database URL
//! is configured); it should say so on stderr.
//!
//! This crate is test support only: it is not a benchmark and does not know any SQL.

pub mod automation;
pub mod billing;
pub mod checks;
pub mod directory;
pub mod media;
pub mod outbox;
pub mod settings;
pub mod sla;
pub mod tickets;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use store::Store;

/// How the suite gets a fresh store for each check, and cleans up after it.
pub trait Harness: Send + Sync + 'static {
    /// What must live as long as the store (a temporary directory, a schema to drop, …).
    type Fixture: Send + 'static;

    /// Opens a fresh, empty, migrated store, or returns `None` to skip the check.
    fn setup() -> impl Future<Output = Option<(Arc<dyn Store>, Self::Fixture)>> + Send;

    /// Cleans up after a check, whether it passed or failed.
    fn teardown(fixture: Self::Fixture) -> impl Future<Output = ()> + Send;
}

/// Runs one check on a fresh store from `H`, tears down, then re-raises a failure.
///
/// The check runs in its own task so that a panic still lets the teardown run.
pub async fn run_check<H, F, Fut>(name: &str, check: F)
where
    H: Harness,
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((store, fixture)) = H::setup().await else {
        return;
    };
    let outcome = tokio::spawn(check(store)).await;
    H::teardown(fixture).await;
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("check {name} did not finish: {e}"),
    }
}

/// Generates one `#[tokio::test]` per conformance check, each on a fresh store from the given
/// [`Harness`] type. The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:ty) => {
        $crate::conformance_tests!(@each $harness;
            insert_returns_ordered_ids_and_exact_bodies,
            insert_large_batch_spans_chunks,
            concurrent_inserts_all_succeed,
            claim_is_oldest_first_and_increments_attempts,
            concurrent_claimers_get_disjoint_sets,
            expired_lease_is_reclaimable,
            complete_records_events_once,
            complete_after_lease_loss_fails_and_changes_nothing,
            complete_batch_records_each_item_once,
            complete_requires_a_lease,
            release_keeps_error_and_delays_until_retry_at,
            requeue_reprocesses_without_doubling_events,
            retention_prunes_processed_bodies_once,
            list_deliveries_filters_and_pages,
            inbox_stats_counts,
            list_events_in_order_after_cursor,
            accounts_create_get_and_set_plan,
            agent_api_key_hashes_are_unique,
            bootstrap_creates_exactly_once_under_race,
            bootstrap_does_nothing_when_an_agent_exists,
            connect_number_conflicts_across_accounts,
            connect_number_limit,
            connect_number_limit_under_race,
            number_secrets_and_settings_round_trip,
            a_reconnected_store_shares_the_database,
        );
        $crate::conformance_tests!(@tickets $harness;
            tickets_round_trip_and_are_scoped_by_account,
            event_outcomes_are_atomic_and_once,
            savepoints_undo_one_step_and_keep_the_rest,
            batch_reads_match_single_reads,
            reserved_inserts_read_back_and_land_at_commit,
            later_ticket_updates_read_back_and_land_at_commit,
        );
        $crate::conformance_tests!(@media $harness;
            media_queue_leases_finishes_and_retries,
            media_batch_finish_isolates_failures,
            media_claims_are_disjoint_under_concurrency,
            url_signing_key_is_stored_once,
        );
        $crate::conformance_tests!(@settings $harness;
            settings_documents_round_trip_order_and_scope,
            settings_unique_key_admits_one_under_race,
        );
        $crate::conformance_tests!(@sla $harness;
            sla_state_round_trips_and_advances_safely,
            notifications_are_recorded_once,
            sla_writes_in_a_transaction_read_back_and_land_at_commit,
        );
        $crate::conformance_tests!(@billing $harness;
            billing_feed_records_each_fact_once,
            billing_claims_are_disjoint_and_leases_expire,
            billing_settings_round_trip,
        );
        $crate::conformance_tests!(@outbox $harness;
            outbox_entry_and_send_commit_together,
            claim_sends_is_exclusive_under_race,
            send_outcomes_move_state_and_entry,
            expired_sends_become_unknown_and_reconcile,
            link_send_is_idempotent,
            claim_sends_keeps_rate_limits,
            templates_replace_and_cursors,
            customer_transactions_exclude_what_they_share,
        );
        $crate::conformance_tests!(@automation $harness;
            job_slots_run_once_and_hand_over,
            sweep_lists_open_tickets_in_order,
            fired_rules_cursors_and_loads,
        );
        $crate::conformance_tests!(@webhooks $harness;
            webhooks_enqueue_once_per_key_and_round_trip,
            webhooks_lease_excludes_and_expires,
            webhooks_retry_backoff_and_give_up,
            webhooks_claims_are_disjoint_under_race,
            webhooks_enqueue_in_ticket_transaction,
        );
        $crate::conformance_tests!(@directory $harness;
            agents_are_scoped_and_round_trip,
            groups_are_scoped_and_hold_members,
            number_state_machine_is_atomic_and_scoped,
        );
    };
    (@automation $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::automation::$check).await;
            }
        )*
    };
    (@webhooks $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::webhooks::$check).await;
            }
        )*
    };
    (@directory $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::directory::$check).await;
            }
        )*
    };
    (@outbox $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::outbox::$check).await;
            }
        )*
    };
    (@billing $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::billing::$check).await;
            }
        )*
    };
    (@sla $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::sla::$check).await;
            }
        )*
    };
    (@media $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::media::$check).await;
            }
        )*
    };
    (@settings $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::settings::$check).await;
            }
        )*
    };
    (@tickets $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::tickets::$check).await;
            }
        )*
    };
    (@each $harness:ty; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::run_check::<$harness, _, _>(stringify!($check), $crate::checks::$check).await;
            }
        )*
    };
}
