//! Every call this canister makes to another canister starts here.
//!
//! The only one is the usage report to the burn ledger (`report_usage`), made by the suite's
//! shared client `common::usage_reporter` on a timer: it measures the cycles this shard burned
//! per period and resends the same sequence-numbered report until the ledger acknowledges it, so
//! a timeout never double-counts and a failed call leaves this shard's state untouched. The
//! ledger's id comes from the configuration; without one, nothing is sent.

use crate::storage;
use common::usage_reporter::{self, Transport};
use interfaces::messaging::Config;
use std::time::Duration;

/// Starts (or restarts, after an upgrade) usage reporting when a burn ledger is configured.
pub fn start_usage_reports(config: &Config) {
    if let Some(ledger) = config.burn_ledger {
        let interval = Duration::from_secs(config.usage_report_interval_seconds);
        usage_reporter::start(storage::mem(storage::USAGE_REPORTER_MEM), Transport::Call(ledger), interval);
    }
}
