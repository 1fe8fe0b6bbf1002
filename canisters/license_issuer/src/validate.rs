//! Bounds on caller input: each breach is a typed error naming the field.

use candid::Principal;
use interfaces::license_issuer::LicenseError;
use std::collections::BTreeSet;

/// A trimmed-nonempty text of at most `max` characters.
pub fn text(field: &str, value: &str, max: u32) -> Result<(), LicenseError> {
    let length = value.chars().count().min(u32::MAX as usize) as u32;
    if value.trim().is_empty() || length > max {
        return Err(LicenseError::InvalidText { field: field.into(), length, max });
    }
    Ok(())
}

/// A number in `min..=max`.
pub fn range(field: &str, value: u64, min: u64, max: u64) -> Result<(), LicenseError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(LicenseError::OutOfRange { field: field.into(), value, min, max })
    }
}

/// A non-anonymous principal.
pub fn signed_principal(field: &str, p: Principal) -> Result<(), LicenseError> {
    if p == Principal::anonymous() {
        Err(LicenseError::AnonymousPrincipal { field: field.into() })
    } else {
        Ok(())
    }
}

/// At most `max` distinct, non-anonymous principals.
pub fn principals(field: &str, list: &[Principal], max: u32) -> Result<(), LicenseError> {
    let count = list.len().min(u32::MAX as usize) as u32;
    if count > max {
        return Err(LicenseError::TooManyItems { field: field.into(), count, max });
    }
    let mut seen = BTreeSet::new();
    for p in list {
        signed_principal(field, *p)?;
        if !seen.insert(*p) {
            return Err(LicenseError::DuplicateInList { field: field.into(), value: *p });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_in_characters_and_not_blank() {
        assert!(text("name", "NUST", 10).is_ok());
        assert!(text("name", "ملتان", 5).is_ok(), "five characters, more bytes");
        assert_eq!(text("name", "   ", 10), Err(LicenseError::InvalidText { field: "name".into(), length: 3, max: 10 }));
        assert_eq!(text("name", "abcdef", 5), Err(LicenseError::InvalidText { field: "name".into(), length: 6, max: 5 }));
    }

    #[test]
    fn principal_lists_are_bounded_distinct_and_signed() {
        let a = Principal::from_slice(&[7; 29]);
        assert!(principals("managers", &[a], 2).is_ok());
        assert!(matches!(principals("managers", &[a, a], 2), Err(LicenseError::DuplicateInList { .. })));
        assert!(matches!(principals("managers", &[a, a, a], 2), Err(LicenseError::TooManyItems { count: 3, .. })));
        assert!(matches!(
            principals("managers", &[Principal::anonymous()], 2),
            Err(LicenseError::AnonymousPrincipal { .. })
        ));
    }
}
