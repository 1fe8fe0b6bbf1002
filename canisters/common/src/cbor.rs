//! CBOR encoding for values kept in stable memory.
//!
//! CBOR (ciborium) lets stored types evolve: new fields carry `#[serde(default)]` and old records
//! still decode. Stable structures store values through the [`Cbor`] wrapper.

use ic_stable_structures::storable::Bound;
use ic_stable_structures::Storable;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::borrow::Cow;

/// Encodes a value as CBOR. Encoding into a `Vec` cannot fail for the suite's types.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut buf = Vec::new();
    ciborium::ser::into_writer(value, &mut buf).expect("CBOR encoding into a Vec cannot fail");
    buf
}

/// Decodes a CBOR value.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    ciborium::de::from_reader(bytes).map_err(|e| e.to_string())
}

/// A value stored in stable memory as CBOR.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Cbor<T>(pub T);

impl<T: Serialize + DeserializeOwned> Storable for Cbor<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode(&self.0))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode(&self.0)
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        // A record that no longer decodes is a broken invariant (corrupt memory or a bad
        // migration): trapping keeps the canister from acting on garbage.
        Cbor(decode(&bytes).unwrap_or_else(|e| panic!("corrupt CBOR record in stable memory: {e}")))
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct V1 {
        name: String,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct V2 {
        name: String,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn round_trip() {
        let v = Cbor(V2 { name: "a".into(), tags: vec!["x".into()] });
        assert_eq!(Cbor::<V2>::from_bytes(v.to_bytes()), v);
        assert_eq!(Cbor::<V2>::from_bytes(Cow::Owned(v.clone().into_bytes())), v);
    }

    #[test]
    fn old_records_decode_with_new_defaulted_fields() {
        let old = Cbor(V1 { name: "old".into() }).into_bytes();
        let new: Cbor<V2> = Cbor::from_bytes(Cow::Owned(old));
        assert_eq!(new.0, V2 { name: "old".into(), tags: vec![] });
    }

    #[test]
    fn garbage_is_an_error_not_a_value() {
        assert!(decode::<V1>(&[0xff, 0x00, 0x13]).is_err());
    }
}
