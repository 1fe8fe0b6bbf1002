//! Validating the install argument into the stored configuration.

use candid::Principal;
use common::lifecycle::{check_range, usage_report_interval, validate_authorities};
use interfaces::audit::ConfigError;
use interfaces::messaging::{Config, InitArgs, Limits};

/// Version of the stored schema this code reads and writes. 2: the sweep's due queue (memory 17)
/// and new `Conversation` fields with defaults; schema 1's sweep list is drained lazily.
/// 3: records are written in the compact binary form (`codec.rs`); CBOR records of schemas 1
/// and 2 still read, and are rewritten only when next written.
pub const SCHEMA_VERSION: u32 = 3;

/// Defaults for an install without an argument: the installer is the only authority.
pub fn default_args(installer: Principal) -> InitArgs {
    InitArgs { authorities: vec![installer], burn_ledger: None, limits: None, usage_report_interval_seconds: None, index: None }
}

fn check_limits(l: Limits) -> Result<Limits, ConfigError> {
    check_range("max_envelope_bytes", l.max_envelope_bytes.into(), 64, 1024 * 1024)?;
    check_range("max_recipients", l.max_recipients.into(), 1, 1024)?;
    check_range("max_group_size", l.max_group_size.into(), 2, 10_000)?;
    check_range("messages_per_minute", l.messages_per_minute.into(), 1, 10_000)?;
    check_range("max_conversations_per_user", l.max_conversations_per_user.into(), 1, 100_000)?;
    Ok(l)
}

pub fn build_config(args: InitArgs) -> Result<Config, ConfigError> {
    validate_authorities(&args.authorities)?;
    if args.index == Some(Principal::anonymous()) {
        return Err(ConfigError::AnonymousPrincipal { field: "index".into() });
    }
    Ok(Config {
        schema_version: SCHEMA_VERSION,
        authorities: args.authorities,
        burn_ledger: args.burn_ledger,
        limits: check_limits(args.limits.unwrap_or_default())?,
        usage_report_interval_seconds: usage_report_interval(args.usage_report_interval_seconds)?,
        index: args.index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        let mut args = default_args(Principal::from_slice(&[1; 29]));
        assert_eq!(build_config(args.clone()).unwrap().limits, Limits::default());
        args.limits = Some(Limits { max_group_size: 1, ..Limits::default() });
        assert!(matches!(build_config(args), Err(ConfigError::LimitOutOfRange { name, .. }) if name == "max_group_size"));
    }
}
