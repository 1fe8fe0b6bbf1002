//! Compact binary encoding of the shard's stored records (schema 3).
//!
//! A compact record is a tag byte ([`TAG_V1`]) and the fields in a fixed order, without field
//! names: times and sequence numbers as little-endian u64 (fixed size), counts, lengths and
//! small numbers as LEB128 varints, principals as a length byte and their bytes, optional
//! fields behind presence bits. Records written before schema 3 are CBOR maps, whose first
//! byte is 0xa0..=0xbf (major type 5), so the tag byte tells the two apart: old records still
//! read (through serde) and take the compact form the next time they are written. Nothing is
//! rewritten on upgrade.

use candid::Principal;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::Storable;
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// First byte of every compact record (never the first byte of a CBOR map).
pub const TAG_V1: u8 = 0x01;

/// Why stored bytes did not decode.
pub type DecodeError = String;

/// Appends the fields of a compact record.
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// Unsigned LEB128.
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A length byte (at most 29) and the principal's bytes.
    pub fn principal(&mut self, p: &Principal) {
        let b = p.as_slice();
        self.0.push(b.len() as u8);
        self.0.extend_from_slice(b);
    }
}

/// Reads the fields of a compact record; every read checks the bounds.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("record ends early")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).filter(|_| shift < 63 || b <= 1).ok_or("varint overflows u64")?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint overflows u64".into())
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| "number overflows u32".into())
    }

    pub fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length overflows")?;
        Ok(self.take(n)?.to_vec())
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        String::from_utf8(self.bytes()?).map_err(|_| "string is not UTF-8".into())
    }

    pub fn principal(&mut self) -> Result<Principal, DecodeError> {
        let n = self.u8()? as usize;
        Principal::try_from_slice(self.take(n)?).map_err(|e| e.to_string())
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("bad bool".into()),
        }
    }

    /// The record must use every byte.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err("trailing bytes after record".into())
        }
    }
}

/// A stored record with a compact form. `Deserialize` reads the CBOR of earlier schemas.
pub trait Record: Sized + DeserializeOwned {
    fn encode(&self, w: &mut Writer);
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// The compact form of a record, tag byte included.
pub fn encode<T: Record>(value: &T) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64));
    w.u8(TAG_V1);
    value.encode(&mut w);
    w.0
}

/// Reads a record in either form: compact (tag byte) or the CBOR map of schema 1 and 2.
pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, DecodeError> {
    match bytes.first() {
        Some(&TAG_V1) => {
            let mut r = Reader::new(&bytes[1..]);
            let value = T::decode(&mut r)?;
            r.finish()?;
            Ok(value)
        }
        Some(0xa0..=0xbf) => common::cbor::decode(bytes),
        Some(b) => Err(format!("unknown record tag {b:#04x}")),
        None => Err("empty record".into()),
    }
}

/// A value stored in stable memory in the compact form (reading old CBOR too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compact<T>(pub T);

impl<T: Record> Storable for Compact<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode(&self.0))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode(&self.0)
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        // A record that does not decode is a broken invariant (corrupt memory or a bad
        // migration): trapping keeps the canister from acting on garbage.
        Compact(decode(&bytes).unwrap_or_else(|e| panic!("corrupt record in stable memory: {e}")))
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(v in any::<u64>()) {
            let mut w = Writer(vec![]);
            w.varint(v);
            let mut r = Reader::new(&w.0);
            prop_assert_eq!(r.varint().unwrap(), v);
            r.finish().unwrap();
        }
    }

    #[test]
    fn bad_bytes_are_errors_not_values() {
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
        assert!(Reader::new(&[30]).principal().is_err(), "longer than any principal");
        assert!(Reader::new(&[5, 1]).bytes().is_err(), "ends early");
        assert!(Reader::new(&[2]).bool().is_err());
    }
}
