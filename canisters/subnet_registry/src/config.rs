//! Validating the install argument into the stored configuration.

use candid::Principal;
use common::lifecycle::{check_range, usage_report_interval, validate_authorities};
use interfaces::audit::ConfigError;
use interfaces::subnet_registry::{Config, InitArgs};

/// Version of the stored schema this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

const DAY: u64 = 24 * 3600;

/// Defaults for an install without an argument: the installer is the only authority.
pub fn default_args(installer: Principal) -> InitArgs {
    InitArgs {
        authorities: vec![installer],
        quorum: 1,
        placement_recorders: vec![],
        burn_ledger: None,
        proposal_ttl_seconds: None,
        usage_report_interval_seconds: None,
    }
}

pub fn build_config(args: InitArgs) -> Result<Config, ConfigError> {
    validate_authorities(&args.authorities)?;
    let n = args.authorities.len() as u32;
    if args.quorum == 0 || args.quorum > n {
        return Err(ConfigError::QuorumOutOfRange { quorum: args.quorum, authorities: n });
    }
    Ok(Config {
        schema_version: SCHEMA_VERSION,
        authorities: args.authorities,
        quorum: args.quorum,
        placement_recorders: args.placement_recorders,
        burn_ledger: args.burn_ledger,
        proposal_ttl_seconds: check_range("proposal_ttl_seconds", args.proposal_ttl_seconds.unwrap_or(7 * DAY), 60, 365 * DAY)?,
        usage_report_interval_seconds: usage_report_interval(args.usage_report_interval_seconds)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    #[test]
    fn quorum_must_fit_the_authorities() {
        let mut args = default_args(p(1));
        args.authorities = vec![p(1), p(2), p(3)];
        args.quorum = 2;
        assert_eq!(build_config(args.clone()).unwrap().quorum, 2);
        args.quorum = 4;
        assert_eq!(build_config(args.clone()), Err(ConfigError::QuorumOutOfRange { quorum: 4, authorities: 3 }));
        args.quorum = 0;
        assert!(build_config(args).is_err());
    }

    #[test]
    fn defaults_apply() {
        let c = build_config(default_args(p(1))).unwrap();
        assert_eq!((c.proposal_ttl_seconds, c.usage_report_interval_seconds), (7 * DAY, 3600));
    }
}
