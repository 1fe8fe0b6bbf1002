//! Validating the install argument into the stored configuration.

use candid::Principal;
use common::lifecycle::{check_range, usage_report_interval, validate_authorities};
use interfaces::audit::ConfigError;
use interfaces::license_issuer::{Config, InitArgs, MAX_SUITE_CANISTERS};

/// Version of the stored schema this code reads and writes.
///
/// 2: `App.module_hash`, `PendingApp.module_hash` and `Config.other_suite_canisters` added
/// (`serde(default)`: v1 records read as they are, nothing rewritten); a recorded lapse's
/// `ended_at_ns` is its deadline; `pending_apps` holds only registrations with an unknown
/// outcome (a v1 slot left there is resumed by its holder, as in v1). Code of v1 would not know
/// these rules, so going back to it is refused.
///
/// 3: secondary indexes (memories 17-22, `indexes.rs`), built after an upgrade from 1 or 2 in
/// bounded timer batches (queries read by full scans until they are complete); licenses are
/// written in a compact encoding (`codec.rs`) while those stored as CBOR still read as they
/// are (nothing is rewritten). Code of 2 could neither read compact licenses nor maintain the
/// indexes, so going back to it is refused.
pub const SCHEMA_VERSION: u32 = 3;

const DAY: u64 = 24 * 3600;

/// Defaults for an install without an argument: the installer is the only authority and the
/// cap is Pakistan's 1,500 seats.
pub fn default_args(installer: Principal) -> InitArgs {
    InitArgs {
        authorities: vec![installer],
        global_seat_cap: 1_500,
        subnet_registry: None,
        burn_ledger: None,
        offer_ttl_seconds: None,
        idle_reclaim_days: None,
        usage_report_interval_seconds: None,
        other_suite_canisters: None,
    }
}

pub fn build_config(args: InitArgs) -> Result<Config, ConfigError> {
    validate_authorities(&args.authorities)?;
    let mut others = args.other_suite_canisters.unwrap_or_default();
    check_range("other_suite_canisters", others.len() as u64, 0, MAX_SUITE_CANISTERS.into())?;
    // A set: listing a canister twice means the same as once.
    others.sort();
    others.dedup();
    Ok(Config {
        schema_version: SCHEMA_VERSION,
        authorities: args.authorities,
        global_seat_cap: check_range("global_seat_cap", args.global_seat_cap.into(), 1, 10_000_000)? as u32,
        subnet_registry: args.subnet_registry,
        burn_ledger: args.burn_ledger,
        offer_ttl_seconds: check_range("offer_ttl_seconds", args.offer_ttl_seconds.unwrap_or(14 * DAY), 60, 365 * DAY)?,
        idle_reclaim_days: check_range("idle_reclaim_days", args.idle_reclaim_days.unwrap_or(90).into(), 1, 3650)? as u32,
        usage_report_interval_seconds: usage_report_interval(args.usage_report_interval_seconds)?,
        other_suite_canisters: (!others.is_empty()).then_some(others),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_must_be_positive() {
        let mut args = default_args(Principal::from_slice(&[1; 29]));
        assert_eq!(build_config(args.clone()).unwrap().global_seat_cap, 1_500);
        args.global_seat_cap = 0;
        assert!(matches!(build_config(args), Err(ConfigError::LimitOutOfRange { .. })));
    }
}
