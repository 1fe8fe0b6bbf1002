//! Checks every canister runs on install and upgrade.

use candid::Principal;
use interfaces::audit::ConfigError;
use std::collections::BTreeSet;

/// Authorities must be non-empty, non-anonymous and distinct.
pub fn validate_authorities(authorities: &[Principal]) -> Result<(), ConfigError> {
    if authorities.is_empty() {
        return Err(ConfigError::NoAuthorities);
    }
    let mut seen = BTreeSet::new();
    for a in authorities {
        if *a == Principal::anonymous() {
            return Err(ConfigError::AnonymousAuthority);
        }
        if !seen.insert(*a) {
            return Err(ConfigError::DuplicateAuthority { authority: *a });
        }
    }
    Ok(())
}

/// `value` must lie in `min..=max`.
pub fn check_range(name: &str, value: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::LimitOutOfRange { name: name.into(), value, min, max })
    }
}

/// How often a canister reports its usage to the burn ledger: one hour unless given, between a
/// minute and a week.
pub fn usage_report_interval(seconds: Option<u64>) -> Result<u64, ConfigError> {
    check_range("usage_report_interval_seconds", seconds.unwrap_or(3600), 60, 7 * 24 * 3600)
}

/// Refuses to run code older than the stored state (a downgrade could misread newer records).
pub fn check_schema(stored: u32, code: u32) -> Result<(), String> {
    if stored > code {
        Err(format!("refusing downgrade: stored schema version {stored} is newer than this code's {code}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    #[test]
    fn authorities_are_checked() {
        assert_eq!(validate_authorities(&[]), Err(ConfigError::NoAuthorities));
        assert_eq!(validate_authorities(&[Principal::anonymous()]), Err(ConfigError::AnonymousAuthority));
        assert_eq!(validate_authorities(&[p(1), p(1)]), Err(ConfigError::DuplicateAuthority { authority: p(1) }));
        assert_eq!(validate_authorities(&[p(1), p(2)]), Ok(()));
    }

    #[test]
    fn ranges_and_schema() {
        assert_eq!(check_range("x", 5, 1, 10), Ok(5));
        assert!(check_range("x", 11, 1, 10).is_err());
        assert!(check_schema(1, 1).is_ok());
        assert!(check_schema(0, 1).is_ok());
        assert!(check_schema(2, 1).unwrap_err().contains("downgrade"));
    }
}
