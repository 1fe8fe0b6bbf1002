//! Candid encoding of replies without rebuilding the reply type's table on every call.
//!
//! `candid::encode_one` builds the type table of the value's Rust type each time: for
//! `Result<License, LicenseError>` (an error type of 35 variants) that was about 3M instructions
//! of the 3.7M an `offer_license` took. The table depends on the type only, so it is built once
//! per type and message heap and reused; only the value is serialised per call. The bytes are
//! exactly `candid::encode_one`'s (unit test below).

use candid::ser::{TypeSerialize, ValueSerializer};
use candid::CandidType;
use std::any::TypeId;
use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    /// "DIDL", type table and argument types of each reply type encoded so far.
    static PREFIXES: RefCell<BTreeMap<TypeId, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

fn prefix_of<T: CandidType + 'static>() -> Vec<u8> {
    candid::types::internal::env_clear();
    let mut types = TypeSerialize::new();
    types.push_type(&T::ty()).expect("reply type serialises");
    types.serialize().expect("reply type table serialises");
    let mut prefix = b"DIDL".to_vec();
    prefix.extend_from_slice(types.get_result());
    prefix
}

/// Bytes of the value alone (no header, no type table).
pub fn value_bytes<T: CandidType>(value: &T) -> Vec<u8> {
    let mut values = ValueSerializer::new();
    value.idl_serialize(&mut values).expect("reply value serialises");
    values.get_result().to_vec()
}

/// The Candid encoding of `value` as the only argument of a message: what
/// `candid::encode_one(value)` returns.
pub fn encode<T: CandidType + 'static>(value: T) -> Vec<u8> {
    let mut bytes = PREFIXES.with_borrow_mut(|m| m.entry(TypeId::of::<T>()).or_insert_with(prefix_of::<T>).clone());
    bytes.extend_from_slice(&value_bytes(&value));
    bytes
}

/// Bytes `value` would take encoded alone, header and type table included (as
/// `candid::encode_one(value).len()`), with the table measured once per type.
pub fn encoded_len<T: CandidType + 'static>(value: &T) -> usize {
    let prefix = PREFIXES.with_borrow_mut(|m| m.entry(TypeId::of::<T>()).or_insert_with(prefix_of::<T>).len());
    prefix + value_bytes(value).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use interfaces::license_issuer::*;

    #[test]
    fn replies_are_the_bytes_candid_encodes() {
        let err: Result<License, LicenseError> = Err(LicenseError::HolderAlreadyLicensed {
            holder: Principal::from_slice(&[3; 29]),
            program_id: 7,
            license_id: 9,
        });
        // Twice each: the second encoding uses the cached table.
        for _ in 0..2 {
            assert_eq!(encode(err.clone()), candid::encode_one(err.clone()).unwrap());
            assert_eq!(encoded_len(&err), candid::encode_one(err.clone()).unwrap().len());
            let page = AppPage { items: vec![], total: 3, next_start: Some(1) };
            assert_eq!(encode(page.clone()), candid::encode_one(page).unwrap());
            let some: Option<u64> = Some(5);
            assert_eq!(encode(some), candid::encode_one(some).unwrap());
        }
    }
}
