//! Bounds and formats of caller input. Each check returns the typed error naming the field.

use crate::countries;
use candid::Principal;
use interfaces::subnet_registry::{RegistryError, MAX_DATA_CENTRE_ID_LEN};
use std::collections::BTreeSet;

/// `value` must have 1 ..= `max` characters.
pub fn text(field: &str, value: &str, max: u32) -> Result<(), RegistryError> {
    let length = value.chars().count();
    if length == 0 || length > max as usize {
        return Err(RegistryError::InvalidText { field: field.into(), length: length.min(u32::MAX as usize) as u32, max });
    }
    Ok(())
}

/// A data-centre id: 1 ..= MAX_DATA_CENTRE_ID_LEN characters of `[A-Za-z0-9_-]`.
pub fn data_centre_id(id: &str) -> Result<(), RegistryError> {
    text("data_centre.id", id, MAX_DATA_CENTRE_ID_LEN)?;
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(RegistryError::InvalidIdentifier { field: "data_centre.id".into(), value: id.into() });
    }
    Ok(())
}

/// An officially assigned ISO 3166-1 alpha-2 code in upper case.
pub fn country(code: &str) -> Result<(), RegistryError> {
    if countries::is_assigned(code) {
        Ok(())
    } else {
        // Echo at most a few characters back: the input may be arbitrarily long.
        Err(RegistryError::InvalidCountryCode { code: code.chars().take(8).collect() })
    }
}

/// A region path `Continent,CC[,City...]`: non-empty parts, the second equal to `country`.
pub fn region(region: &str, country: &str, max: u32) -> Result<(), RegistryError> {
    text("data_centre.region", region, max)?;
    let parts: Vec<&str> = region.split(',').collect();
    let well_formed = parts.len() >= 2 && parts.iter().all(|p| !p.trim().is_empty()) && parts[1] == country;
    if well_formed {
        Ok(())
    } else {
        Err(RegistryError::InvalidRegion { region: region.into(), country: country.into() })
    }
}

/// A list of at most `max` distinct, non-anonymous principals.
pub fn principals(field: &str, list: &[Principal], max: u32) -> Result<(), RegistryError> {
    count(field, list.len(), max)?;
    let mut seen = BTreeSet::new();
    for p in list {
        not_anonymous(field, p)?;
        if !seen.insert(*p) {
            return Err(RegistryError::DuplicateInList { field: field.into(), value: p.to_text() });
        }
    }
    Ok(())
}

/// A list may hold at most `max` items.
pub fn count(field: &str, len: usize, max: u32) -> Result<(), RegistryError> {
    if len > max as usize {
        return Err(RegistryError::TooManyItems { field: field.into(), count: len.min(u32::MAX as usize) as u32, max });
    }
    Ok(())
}

pub fn not_anonymous(field: &str, p: &Principal) -> Result<(), RegistryError> {
    if *p == Principal::anonymous() {
        Err(RegistryError::AnonymousPrincipal { field: field.into() })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bounds_count_characters() {
        assert!(text("name", "Islamabad", 64).is_ok());
        assert_eq!(text("name", "", 64), Err(RegistryError::InvalidText { field: "name".into(), length: 0, max: 64 }));
        assert_eq!(
            text("name", &"ب".repeat(65), 64),
            Err(RegistryError::InvalidText { field: "name".into(), length: 65, max: 64 })
        );
        assert!(text("name", &"ب".repeat(64), 64).is_ok());
    }

    #[test]
    fn data_centre_ids_are_identifiers() {
        assert!(data_centre_id("isb-1_a").is_ok());
        assert!(matches!(data_centre_id("isb 1"), Err(RegistryError::InvalidIdentifier { .. })));
        assert!(matches!(data_centre_id(""), Err(RegistryError::InvalidText { .. })));
    }

    #[test]
    fn region_must_name_the_country_second() {
        assert!(region("Asia,PK,Islamabad", "PK", 128).is_ok());
        assert!(region("Asia,PK", "PK", 128).is_ok());
        for bad in ["Asia,IN,Delhi", "PK", "Asia,,Lahore", "Asia,PK,", "Asia, PK,Lahore"] {
            assert_eq!(
                region(bad, "PK", 128),
                Err(RegistryError::InvalidRegion { region: bad.into(), country: "PK".into() }),
                "{bad}"
            );
        }
    }

    #[test]
    fn principal_lists_are_bounded_distinct_and_named() {
        let a = Principal::from_slice(&[1; 29]);
        let b = Principal::from_slice(&[2; 29]);
        assert!(principals("admins", &[a, b], 2).is_ok());
        assert_eq!(
            principals("admins", &[a, b, a], 5),
            Err(RegistryError::DuplicateInList { field: "admins".into(), value: a.to_text() })
        );
        assert_eq!(
            principals("admins", &[a, b], 1),
            Err(RegistryError::TooManyItems { field: "admins".into(), count: 2, max: 1 })
        );
        assert_eq!(
            principals("admins", &[Principal::anonymous()], 1),
            Err(RegistryError::AnonymousPrincipal { field: "admins".into() })
        );
    }

    #[test]
    fn country_codes() {
        assert!(country("PK").is_ok());
        assert_eq!(country("Pakistan"), Err(RegistryError::InvalidCountryCode { code: "Pakistan".into() }));
    }
}
