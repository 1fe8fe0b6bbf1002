//! Bounds and formats of caller input. Each check returns the typed error naming the field.

use crate::countries;
use candid::Principal;
use interfaces::subnet_registry::{RegistryError, CONTINENTS, MAX_DATA_CENTRE_ID_LEN};
use std::collections::BTreeSet;

/// `value` must have 1 ..= `max` characters.
pub fn text(field: &str, value: &str, max: u32) -> Result<(), RegistryError> {
    let length = value.chars().count();
    if length == 0 || length > max as usize {
        return Err(RegistryError::InvalidText { field: field.into(), length: length.min(u32::MAX as usize) as u32, max });
    }
    Ok(())
}

/// A name shown to people (subnet, provider, owner, region): `text`, and no control,
/// invisible-formatting or bidi-override character, and not only spaces or invisible marks, so
/// a name cannot hide or pose as another.
pub fn label(field: &str, value: &str, max: u32) -> Result<(), RegistryError> {
    text(field, value, max)?;
    let visible = value.chars().any(|c| !c.is_whitespace() && !is_invisible_mark(c));
    if !visible || value.chars().any(|c| c.is_control() || is_hidden_format(c)) {
        return Err(RegistryError::UnsafeText { field: field.into() });
    }
    Ok(())
}

/// Free text such as a proposal summary: `text`, line breaks and tabs allowed, but no other
/// control character, no hidden-format character, and something visible.
pub fn prose(field: &str, value: &str, max: u32) -> Result<(), RegistryError> {
    text(field, value, max)?;
    let visible = value.chars().any(|c| !c.is_whitespace() && !is_invisible_mark(c));
    let hidden = value.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || is_hidden_format(c));
    if !visible || hidden {
        return Err(RegistryError::UnsafeText { field: field.into() });
    }
    Ok(())
}

/// Formatting characters that reorder or hide text: bidi embeddings, overrides and isolates,
/// zero-width space, word joiner and invisible operators, the byte-order mark, soft hyphen.
fn is_hidden_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

/// Marks that are legitimate inside a name (Urdu and Arabic need ZWNJ/ZWJ, mixed scripts need
/// direction marks) but are invisible: a name of only these is refused.
fn is_invisible_mark(c: char) -> bool {
    matches!(c, '\u{200C}'..='\u{200F}' | '\u{061C}') || is_hidden_format(c)
}

/// A canister id: an opaque id of 10 bytes ending in 0x01. Self-authenticating (user) principals
/// end in 0x02, the anonymous principal is the single byte 0x04, the management canister is empty.
pub fn canister_id(field: &str, p: &Principal) -> Result<(), RegistryError> {
    not_anonymous(field, p)?;
    let bytes = p.as_slice();
    if bytes.len() == 10 && bytes[9] == 0x01 {
        Ok(())
    } else {
        Err(RegistryError::NotACanister { field: field.into(), principal: *p })
    }
}

/// A data-centre id in `field`: 1 ..= MAX_DATA_CENTRE_ID_LEN characters of `[A-Za-z0-9_-]`.
/// Checked before any lookup, so no refusal echoes a long string back.
pub fn data_centre_id(field: &str, id: &str) -> Result<(), RegistryError> {
    text(field, id, MAX_DATA_CENTRE_ID_LEN)?;
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(RegistryError::InvalidIdentifier { field: field.into(), value: id.into() });
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

/// A region path `Continent,CC[,City...]`: the first part one of `CONTINENTS`, the second equal
/// to `country`, every part non-empty without surrounding spaces, the whole a safe `label`.
pub fn region(region: &str, country: &str, max: u32) -> Result<(), RegistryError> {
    label("data_centre.region", region, max)?;
    let parts: Vec<&str> = region.split(',').collect();
    let well_formed = parts.len() >= 2
        && CONTINENTS.contains(&parts[0])
        && parts.iter().all(|p| !p.is_empty() && p.trim() == *p)
        && parts[1] == country;
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

/// A table holding `len` records may take one more only below `max`.
pub fn room(field: &str, len: u64, max: u32) -> Result<(), RegistryError> {
    if len >= u64::from(max) {
        return Err(RegistryError::TooManyItems { field: field.into(), count: len.saturating_add(1).min(u32::MAX.into()) as u32, max });
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
        assert!(data_centre_id("id", "isb-1_a").is_ok());
        assert!(matches!(data_centre_id("id", "isb 1"), Err(RegistryError::InvalidIdentifier { .. })));
        assert!(matches!(data_centre_id("id", ""), Err(RegistryError::InvalidText { .. })));
    }

    #[test]
    fn region_must_name_the_country_second() {
        assert!(region("Asia,PK,Islamabad", "PK", 128).is_ok());
        assert!(region("Asia,PK", "PK", 128).is_ok());
        assert!(region("North America,US,New York", "US", 128).is_ok());
        for bad in [
            "Asia,IN,Delhi", "PK", "Asia,,Lahore", "Asia,PK,", "Asia, PK,Lahore", "Atlantis,PK,Lahore", "asia,PK", "PK,PK,Lahore",
            "Asia ,PK", "Asia,PK, Lahore", "Europe", ",PK",
        ] {
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
    fn labels_refuse_hidden_and_reordering_characters() {
        for ok in ["Islamabad", "اسلام آباد", "PK Node Provider 1", "می\u{200C}خواهم", "a\u{200F}b"] {
            assert_eq!(label("name", ok, 64), Ok(()), "{ok:?}");
        }
        for bad in ["   ", "\u{200B}", "\u{200F}\u{200E}", "evil\u{202E}gnp.exe", "a\u{2066}b", "tab\there", "new\nline", "\u{FEFF}x", "nul\0"] {
            assert_eq!(label("name", bad, 64), Err(RegistryError::UnsafeText { field: "name".into() }), "{bad:?}");
        }
        assert!(matches!(label("name", "", 64), Err(RegistryError::InvalidText { .. })));
    }

    #[test]
    fn prose_allows_lines_but_not_hidden_characters() {
        assert_eq!(prose("summary", "Create the subnet.\n\tWhy: residency.", 100), Ok(()));
        for bad in ["\n\n", "ok\u{202E}", "bell\u{7}"] {
            assert_eq!(prose("summary", bad, 100), Err(RegistryError::UnsafeText { field: "summary".into() }), "{bad:?}");
        }
    }

    #[test]
    fn canister_ids_are_ten_bytes_ending_in_one() {
        let canister = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 7, 1, 1]);
        assert_eq!(canister_id("canister", &canister), Ok(()));
        assert_eq!(canister_id("canister", &Principal::anonymous()), Err(RegistryError::AnonymousPrincipal { field: "canister".into() }));
        let user = Principal::self_authenticating([7u8; 32]);
        let node_like = Principal::from_slice(&[9; 29]);
        let short = Principal::from_slice(&[0x5a, 0xa9, 0x01]);
        for p in [user, node_like, short, Principal::management_canister(), Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 7, 1, 2])] {
            assert_eq!(canister_id("canister", &p), Err(RegistryError::NotACanister { field: "canister".into(), principal: p }), "{p}");
        }
    }

    #[test]
    fn country_codes() {
        assert!(country("PK").is_ok());
        assert_eq!(country("Pakistan"), Err(RegistryError::InvalidCountryCode { code: "Pakistan".into() }));
    }
}
