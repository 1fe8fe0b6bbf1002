//! Every call this canister makes to another canister starts here.
//!
//! The only one is the usage report to the burn ledger (`report_usage`), made by the suite's
//! shared client `common::usage_reporter` on a timer: it measures the cycles this shard burned
//! per period and resends the same sequence-numbered report until the ledger acknowledges it, so
//! a timeout never double-counts and a failed call leaves this shard's state untouched. The
//! ledger's id comes from the configuration; without one, nothing is sent.


/// Starts (or restarts, after an upgrade) usage reporting when a burn ledger is configured.
pub fn start_usage_reports(config: &interfaces::messaging::Config) {
    common::usage_reporter::start_if_configured(
        crate::storage::mem(crate::storage::USAGE_REPORTER_MEM),
        config.burn_ledger,
        config.usage_report_interval_seconds,
    );
}
