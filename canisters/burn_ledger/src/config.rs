//! Validating the install argument into the stored configuration.

use candid::Principal;
use common::lifecycle::{check_range, usage_report_interval, validate_authorities};
use interfaces::audit::ConfigError;
use interfaces::burn_ledger::{
    Config, InitArgs, DEFAULT_ATTRIBUTION_CACHE_TTL_SECONDS, DEFAULT_ATTRIBUTION_RETRY_SECONDS,
};

/// Version of the stored schema this code reads and writes. 2: burns are spread over the hours
/// of their period (schema-1 burns keep their end-of-period buckets, see `Ledger::adopt_schema_2`).
/// 3: bucket values are written in a compact binary form (`buckets::StoredSums`); CBOR values
/// written by schemas 1 and 2 are still read, so the upgrade rewrites nothing. A downgrade is
/// refused: schema-1 code would move spread burns wrongly, and schema-2 code cannot read the
/// compact buckets.
pub const SCHEMA_VERSION: u32 = 3;

const DAY: u64 = 24 * 3600;

/// At most this many configured peer reporters.
pub const MAX_REPORTERS: u64 = 100;

/// Defaults for an install without an argument: the installer is the only authority.
pub fn default_args(installer: Principal) -> InitArgs {
    InitArgs {
        authorities: vec![installer],
        subnet_registry: None,
        license_issuer: None,
        reporters: vec![],
        network_target_milli_xdr_per_second: None,
        usage_report_interval_seconds: None,
        attribution_cache_ttl_seconds: None,
        attribution_retry_interval_seconds: None,
    }
}

pub fn build_config(args: InitArgs) -> Result<Config, ConfigError> {
    validate_authorities(&args.authorities)?;
    check_range("reporters", args.reporters.len() as u64, 0, MAX_REPORTERS)?;
    Ok(Config {
        schema_version: SCHEMA_VERSION,
        authorities: args.authorities,
        subnet_registry: args.subnet_registry,
        license_issuer: args.license_issuer,
        reporters: args.reporters,
        network_target_milli_xdr_per_second: check_range(
            "network_target_milli_xdr_per_second",
            args.network_target_milli_xdr_per_second.unwrap_or(770),
            1,
            1_000_000_000,
        )?,
        usage_report_interval_seconds: usage_report_interval(args.usage_report_interval_seconds)?,
        attribution_cache_ttl_seconds: check_range(
            "attribution_cache_ttl_seconds",
            args.attribution_cache_ttl_seconds.unwrap_or(DEFAULT_ATTRIBUTION_CACHE_TTL_SECONDS),
            60,
            30 * DAY,
        )?,
        attribution_retry_interval_seconds: check_range(
            "attribution_retry_interval_seconds",
            args.attribution_retry_interval_seconds.unwrap_or(DEFAULT_ATTRIBUTION_RETRY_SECONDS),
            10,
            DAY,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_defaults_to_mission_70() {
        let c = build_config(default_args(Principal::from_slice(&[1; 29]))).unwrap();
        assert_eq!(c.network_target_milli_xdr_per_second, 770);
        assert_eq!(c.attribution_cache_ttl_seconds, 6 * 3600);
    }

    #[test]
    fn out_of_range_limits_are_refused() {
        let mut args = default_args(Principal::from_slice(&[1; 29]));
        args.attribution_retry_interval_seconds = Some(1);
        assert!(matches!(build_config(args), Err(ConfigError::LimitOutOfRange { .. })));
    }
}
