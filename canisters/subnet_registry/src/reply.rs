//! Candid replies whose header (magic, type table, argument types) is computed once per return
//! type and kept on the heap. `candid::encode_one` rebuilds the type table on every reply: for
//! a type that carries `RegistryError` (dozens of variants and nested records) that costs about
//! 1.3M instructions, several times the rest of `record_placement`. The bytes are the same as
//! `encode_one`'s (tested below).
//!
//! Update calls keep what they cache; a query's heap changes are dropped, so `warm` computes the
//! headers of the replies of the hot update and of the paged queries at install and upgrade.

use candid::CandidType;
use interfaces::subnet_registry::{
    ComplianceReport, NodePage, Placement, PlacementPage, ProposalPage, RegistryError, Subnet, SubnetPage, SubnetStatus,
};
use std::any::TypeId;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

thread_local! {
    static HEADERS: RefCell<BTreeMap<TypeId, Rc<[u8]>>> = RefCell::default();
}

/// `value` as Candid, byte for byte what `candid::encode_one(&value)` gives.
pub fn encode<T: CandidType + 'static>(value: T) -> Vec<u8> {
    let header = header::<T>();
    let mut ser = candid::ser::ValueSerializer::new();
    value.idl_serialize(&mut ser).unwrap_or_else(|e| panic!("reply encoding failed: {e}"));
    let mut bytes = Vec::with_capacity(header.len() + ser.get_result().len());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(ser.get_result());
    bytes
}

/// The header of a one-value reply of type `T`, built as `candid::IDLBuilder` builds it.
fn header<T: CandidType + 'static>() -> Rc<[u8]> {
    if let Some(cached) = HEADERS.with_borrow(|h| h.get(&TypeId::of::<T>()).cloned()) {
        return cached;
    }
    candid::types::internal::env_clear();
    let mut types = candid::ser::TypeSerialize::new();
    types.push_type(&T::ty()).and_then(|()| types.serialize()).unwrap_or_else(|e| panic!("reply type table failed: {e}"));
    let mut bytes = b"DIDL".to_vec();
    bytes.extend_from_slice(types.get_result());
    let header: Rc<[u8]> = bytes.into();
    HEADERS.with_borrow_mut(|h| h.insert(TypeId::of::<T>(), header.clone()));
    header
}

/// Computes the headers of the replies of `record_placement` and the read paths clients page
/// through (called at install and upgrade, whose heap persists).
pub fn warm() {
    header::<Result<Placement, RegistryError>>();
    header::<Option<Placement>>();
    header::<PlacementPage>();
    header::<NodePage>();
    header::<SubnetPage>();
    header::<ProposalPage>();
    header::<Option<Subnet>>();
    header::<Result<SubnetStatus, RegistryError>>();
    header::<Result<ComplianceReport, RegistryError>>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    fn same_as_candid<T: CandidType + Clone + 'static>(value: T) {
        let expected = candid::encode_one(&value).unwrap();
        assert_eq!(encode(value.clone()), expected, "first (header computed)");
        assert_eq!(encode(value), expected, "second (header cached)");
    }

    #[test]
    fn replies_are_byte_for_byte_candids() {
        let p = Principal::from_slice(&[1, 2, 3]);
        let placement = Placement { canister: p, subnet_id: p, recorded_by: Principal::anonymous(), recorded_at_ns: 42 };
        warm();
        same_as_candid::<Result<Placement, RegistryError>>(Ok(placement.clone()));
        same_as_candid::<Result<Placement, RegistryError>>(Err(RegistryError::SubnetNotLive { subnet_id: p, status: SubnetStatus::Suspended }));
        same_as_candid(Some(placement.clone()));
        same_as_candid(None::<Placement>);
        same_as_candid(PlacementPage { items: vec![placement.clone(), placement], total: 7, next_start: Some(2) });
        same_as_candid(ProposalPage { items: vec![], total: 0, next_start: None });
        same_as_candid::<Result<(), RegistryError>>(Err(RegistryError::NothingToChange));
        same_as_candid((1u64, "text".to_string()));
    }
}
