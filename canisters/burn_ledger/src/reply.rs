//! Candid replies with the type part encoded once.
//!
//! A Candid message is `DIDL`, a type table and the argument types, then the values. For a
//! given Rust type the first part never changes, and building it (walking the type, hashing
//! field names, ordering the table) cost more than the rest of a hot update: about 0.6 million
//! instructions for `report_usage`'s `Result<ReportReceipt, BurnError>`, whose error names
//! every refusal. The header is built once per type and kept on the heap (warmed at install
//! and upgrade, so queries find it too: a query's own heap writes are discarded); a reply then
//! serialises only its value. The bytes are exactly `candid::encode_one`'s (tested below).

use candid::ser::{TypeSerialize, ValueSerializer};
use candid::CandidType;
use std::any::TypeId;
use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    static HEADERS: RefCell<BTreeMap<TypeId, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

/// `DIDL`, the type table and the single argument type of a message holding one `T`.
fn build_header<T: CandidType>() -> Vec<u8> {
    // As `IDLBuilder::new` does: the type memo must not carry over between messages' tables.
    candid::types::internal::env_clear();
    let mut types = TypeSerialize::new();
    types.push_type(&T::ty()).expect("the suite's reply types have a Candid type");
    types.serialize().expect("the suite's reply types have a Candid type");
    [b"DIDL".as_slice(), types.get_result()].concat()
}

/// Builds and keeps the header of `T` (run at install and upgrade for the query replies).
pub fn warm<T: CandidType + 'static>() {
    let key = TypeId::of::<T>();
    if HEADERS.with_borrow(|h| !h.contains_key(&key)) {
        let head = build_header::<T>();
        HEADERS.with_borrow_mut(|h| h.insert(key, head));
    }
}

/// The Candid encoding of `value` as a one-value reply, byte for byte `candid::encode_one(value)`.
/// Used as the endpoints' `encode_with`.
pub fn encode<T: CandidType + 'static>(value: T) -> Vec<u8> {
    warm::<T>();
    let mut values = ValueSerializer::new();
    value.idl_serialize(&mut values).expect("the suite's reply values serialise");
    HEADERS.with_borrow(|h| [h[&TypeId::of::<T>()].as_slice(), values.get_result()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use interfaces::burn_ledger::*;

    fn same<T: CandidType + Clone + 'static>(value: T) {
        assert_eq!(encode(value.clone()), candid::encode_one(&value).unwrap());
        // Again, from the kept header.
        assert_eq!(encode(value.clone()), candid::encode_one(&value).unwrap());
    }

    #[test]
    fn replies_are_byte_for_byte_candid() {
        let p = Principal::from_slice(&[7; 29]);
        let receipt = ReportReceipt { sequence: 3, burn_id: 9, duplicate: false, gap: None, attributed: true };
        same::<Result<ReportReceipt, BurnError>>(Ok(receipt.clone()));
        same::<Result<ReportReceipt, BurnError>>(Err(BurnError::ScopeNotOfKind { after: Scope::Program(4), kind: ScopeKind::Canister }));
        same::<Result<ReportReceipt, BurnError>>(Err(BurnError::AlreadyInProgress { what: "x".into() }));
        let amounts = Amounts { cycles: u128::MAX, micro_xdr: 1, icp_e8s: 2, unpriced_cycles: 3, reports: 4 };
        same::<Result<Vec<ScopeTotals>, BurnError>>(Ok(vec![ScopeTotals { scope: Scope::Canister(p), amounts }; 3]));
        same::<Result<Vec<Bucket>, BurnError>>(Ok(vec![Bucket { start_ns: 5, amounts }]));
        same::<Amounts>(amounts);
        same::<BurnPage>(BurnPage { burns: vec![], total: 0 });
        same::<Option<ReporterInfo>>(None);
        same::<Vec<SequenceGap>>(vec![]);
    }
}
