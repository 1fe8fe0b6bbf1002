//! Candid replies with the type part encoded once per type.
//!
//! A Candid message is `DIDL`, a type table and the argument types, then the values. For a given
//! Rust type the first part never changes, and building it (walking the type, hashing field
//! names, ordering the table) cost more than the rest of a hot update: 0.6 to 1.3 million
//! instructions for a `Result<_, Error>` whose error names every refusal. The header is built
//! once per type and kept on the heap; a reply then serialises only its value. The bytes are
//! exactly `candid::encode_one`'s (tested below).
//!
//! Canisters [`warm`] the headers of their hot replies at install and upgrade, so neither the
//! first update after an upgrade nor any query (a query's own heap writes are discarded) pays
//! for it. Endpoints use it through [`reply_endpoint!`](crate::reply_endpoint).

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

/// Builds and keeps the header of `T`.
pub fn warm<T: CandidType + 'static>() {
    let key = TypeId::of::<T>();
    if HEADERS.with_borrow(|h| !h.contains_key(&key)) {
        let head = build_header::<T>();
        HEADERS.with_borrow_mut(|h| h.insert(key, head));
    }
}

/// Bytes of the value alone (no header, no type table): what it adds inside a reply.
pub fn value_bytes<T: CandidType>(value: &T) -> Vec<u8> {
    let mut values = ValueSerializer::new();
    value.idl_serialize(&mut values).expect("the suite's reply values serialise");
    values.get_result().to_vec()
}

/// The Candid encoding of `value` as a one-value reply, byte for byte `candid::encode_one(value)`.
/// The endpoints' `encode_with`.
pub fn encode<T: CandidType + 'static>(value: T) -> Vec<u8> {
    warm::<T>();
    let values = value_bytes(&value);
    HEADERS.with_borrow(|h| [h[&TypeId::of::<T>()].as_slice(), &values].concat())
}

/// Bytes `value` would take encoded alone, header included (`candid::encode_one(value).len()`).
pub fn encoded_len<T: CandidType + 'static>(value: &T) -> usize {
    warm::<T>();
    HEADERS.with_borrow(|h| h[&TypeId::of::<T>()].len()) + value_bytes(value).len()
}

/// An endpoint whose argument is decoded within [`crate::decode`]'s quotas and whose reply is
/// encoded by [`encode`]; its Candid signature, doc comment included, is declared from the same
/// tokens for `export_candid!` (ic-cdk leaves endpoints with `decode_with`/`encode_with` out).
///
/// ```text
/// common::reply_endpoint! {
///     #[query]
///     /// Doc comment, copied into the .did.
///     fn name(arg: Type) -> Ret { body }
/// }
/// ```
#[macro_export]
macro_rules! reply_endpoint {
    (#[$kind:ident] $(#[doc = $doc:literal])* fn $name:ident() -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, encode_with = "common::reply::encode")]
        fn $name() -> $ret $body
        #[allow(dead_code, clippy::diverging_sub_expression)]
        mod $name {
            use super::*;
            $(#[doc = $doc])*
            #[::candid::candid_method($kind)]
            fn $name() -> $ret {
                unreachable!("Candid signature only")
            }
        }
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* fn $name:ident($arg:ident: $ty:ty) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::one", encode_with = "common::reply::encode")]
        fn $name($arg: $ty) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($arg: $ty) -> $ret);
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* fn $name:ident($($arg:ident: $ty:ty),+) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::args", encode_with = "common::reply::encode")]
        fn $name($($arg: $ty),+) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($($arg: $ty),+) -> $ret);
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* async fn $name:ident($arg:ident: $ty:ty) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::one", encode_with = "common::reply::encode")]
        async fn $name($arg: $ty) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($arg: $ty) -> $ret);
    };
    (#[$kind:ident] $(#[doc = $doc:literal])* async fn $name:ident($($arg:ident: $ty:ty),+) -> $ret:ty $body:block) => {
        #[ic_cdk::$kind(hidden = true, decode_with = "common::decode::args", encode_with = "common::reply::encode")]
        async fn $name($($arg: $ty),+) -> $ret $body
        $crate::bounded_endpoint!(@signature [$($doc)*] $kind $name($($arg: $ty),+) -> $ret);
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    fn same<T: CandidType + Clone + 'static>(value: T) {
        let expected = candid::encode_one(&value).unwrap();
        assert_eq!(encode(value.clone()), expected, "first (header built)");
        assert_eq!(encode(value.clone()), expected, "second (header kept)");
        assert_eq!(encoded_len(&value), expected.len());
    }

    #[test]
    fn replies_are_byte_for_byte_candid() {
        use interfaces::burn_ledger::*;
        use interfaces::license_issuer::{AppPage, License, LicenseError};
        use interfaces::messaging::{MessagingError, TextField, UserView};
        use interfaces::subnet_registry::{Placement, RegistryError, SubnetStatus};
        let p = Principal::from_slice(&[7; 29]);
        let receipt = ReportReceipt { sequence: 3, burn_id: 9, duplicate: false, gap: None, attributed: true };
        same::<Result<ReportReceipt, BurnError>>(Ok(receipt));
        same::<Result<ReportReceipt, BurnError>>(Err(BurnError::ScopeNotOfKind { after: Scope::Program(4), kind: ScopeKind::Canister }));
        let amounts = Amounts { cycles: u128::MAX, micro_xdr: 1, icp_e8s: 2, unpriced_cycles: 3, reports: 4 };
        same::<Result<Vec<ScopeTotals>, BurnError>>(Ok(vec![ScopeTotals { scope: Scope::Canister(p), amounts }; 3]));
        same::<Result<License, LicenseError>>(Err(LicenseError::HolderAlreadyLicensed { holder: p, program_id: 7, license_id: 9 }));
        same(AppPage { items: vec![], total: 3, next_start: Some(1) });
        let user = UserView {
            user: p,
            handle: "amina".into(),
            display_name: "Amina".into(),
            verified: None,
            key_epoch: 1,
            public_key: vec![9; 32],
            active: true,
            registered_at_ns: 5,
        };
        same::<Result<UserView, MessagingError>>(Ok(user));
        same::<Result<UserView, MessagingError>>(Err(MessagingError::InvalidText { field: TextField::DisplayName, max_chars: 64 }));
        let placement = Placement { canister: p, subnet_id: p, recorded_by: Principal::anonymous(), recorded_at_ns: 42 };
        same::<Result<Placement, RegistryError>>(Ok(placement));
        same::<Result<Placement, RegistryError>>(Err(RegistryError::SubnetNotLive { subnet_id: p, status: SubnetStatus::Suspended }));
        same(None::<Placement>);
        same((1u64, "text".to_string()));
    }
}
