//! Validating the install argument into the stored configuration.

use candid::Principal;
use common::lifecycle::{check_range, usage_report_interval, validate_authorities};
use interfaces::audit::ConfigError;
use interfaces::subnet_registry::{Config, InitArgs, MAX_AUTHORITIES, MAX_PLACEMENT_RECORDERS};
use std::collections::BTreeSet;

/// Version of the stored schema this code reads and writes.
/// - 1: v0.1.0.
/// - 2: the same records, written under the hardened rules (bounded configuration, one open
///   claim per node, placements of canister ids only). Nothing to rewrite; the number refuses a
///   downgrade to code that would break those rules on this state.
/// - 3: the same records plus indexes and counters (`index`: subnet heads, placements and
///   nodes by subnet), built from schema-1/2 records by a batched migration after the upgrade.
///   Code of schema 2 would not keep them, so it is refused on this state.
pub const SCHEMA_VERSION: u32 = 3;

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

/// The configuration `args` describe, or why they are refused. Every principal list is checked:
/// authorities are 1 ..= MAX_AUTHORITIES (the bound `AddAuthority` proposals enforce), distinct
/// and not anonymous; placement recorders at most MAX_PLACEMENT_RECORDERS, distinct and not
/// anonymous; the burn ledger not anonymous.
pub fn build_config(args: InitArgs) -> Result<Config, ConfigError> {
    // The count first: a long list is refused before any work per entry.
    let count = args.authorities.len() as u64;
    if count > u64::from(MAX_AUTHORITIES) {
        return Err(ConfigError::LimitOutOfRange { name: "authorities".into(), value: count, min: 1, max: MAX_AUTHORITIES.into() });
    }
    validate_authorities(&args.authorities)?; // none, anonymous, duplicates
    let n = args.authorities.len() as u32;
    if args.quorum == 0 || args.quorum > n {
        return Err(ConfigError::QuorumOutOfRange { quorum: args.quorum, authorities: n });
    }
    check_range("placement_recorders", args.placement_recorders.len() as u64, 0, MAX_PLACEMENT_RECORDERS.into())?;
    distinct_named("placement_recorders", &args.placement_recorders)?;
    if let Some(ledger) = args.burn_ledger {
        distinct_named("burn_ledger", &[ledger])?;
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

/// `list` names no principal twice and not the anonymous one.
fn distinct_named(field: &str, list: &[Principal]) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    for p in list {
        if *p == Principal::anonymous() {
            return Err(ConfigError::AnonymousPrincipal { field: field.into() });
        }
        if !seen.insert(*p) {
            return Err(ConfigError::DuplicatePrincipal { field: field.into(), principal: *p });
        }
    }
    Ok(())
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
    fn authorities_are_bounded_like_the_proposal_path() {
        let mut args = default_args(p(1));
        args.authorities = (1..=20).map(p).collect();
        assert!(build_config(args.clone()).is_ok());
        args.authorities = (1..=21).map(p).collect();
        assert_eq!(
            build_config(args),
            Err(ConfigError::LimitOutOfRange { name: "authorities".into(), value: 21, min: 1, max: MAX_AUTHORITIES.into() })
        );
    }

    #[test]
    fn every_principal_list_is_checked() {
        let mut args = default_args(p(1));
        args.placement_recorders = vec![Principal::anonymous()];
        assert_eq!(build_config(args.clone()), Err(ConfigError::AnonymousPrincipal { field: "placement_recorders".into() }));
        args.placement_recorders = vec![p(7), p(8), p(7)];
        assert_eq!(build_config(args.clone()), Err(ConfigError::DuplicatePrincipal { field: "placement_recorders".into(), principal: p(7) }));
        args.placement_recorders = (10..21).map(p).collect();
        assert!(matches!(build_config(args.clone()), Err(ConfigError::LimitOutOfRange { name, value: 11, .. }) if name == "placement_recorders"));
        args.placement_recorders = (10..20).map(p).collect();
        assert!(build_config(args.clone()).is_ok());
        args.burn_ledger = Some(Principal::anonymous());
        assert_eq!(build_config(args.clone()), Err(ConfigError::AnonymousPrincipal { field: "burn_ledger".into() }));
        args.burn_ledger = None;
        args.authorities = vec![p(1), Principal::anonymous()];
        assert_eq!(build_config(args.clone()), Err(ConfigError::AnonymousAuthority));
        args.authorities = vec![p(1), p(1)];
        assert_eq!(build_config(args), Err(ConfigError::DuplicateAuthority { authority: p(1) }));
    }

    #[test]
    fn defaults_apply() {
        let c = build_config(default_args(p(1))).unwrap();
        assert_eq!((c.proposal_ttl_seconds, c.usage_report_interval_seconds), (7 * DAY, 3600));
    }
}
