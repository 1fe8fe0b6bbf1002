//! Bounded Candid decoding for every endpoint's argument (`#[update(decode_with = ...)]`).
//!
//! ic-cdk's default decoder bounds only the work of skipping unknown data; a crafted argument
//! (deep `opt` nesting, huge vectors of `null`, long type tables) can still make decoding burn
//! instructions the canister pays for. These decoders also bound the decoding work and the type
//! table, so a hostile argument is refused for a few million instructions at most.
//! A refused argument traps, as ic-cdk's own decoder does: the caller gets a reject, nothing changes.

use candid::utils::ArgumentDecoder;
use candid::utils::{decode_args_with_config, decode_one_with_config};
use candid::{CandidType, DecoderConfig};
use serde::de::DeserializeOwned;

/// Decoding work allowed per argument (candid's cost units: about one per byte of value, more
/// for composite types). The largest legitimate argument of the suite (a 64 KiB envelope with
/// its wrapped keys) stays far below it.
pub const DECODING_QUOTA: usize = 2_000_000;
/// Work allowed for skipping unneeded data (ic-cdk's own default).
pub const SKIPPING_QUOTA: usize = 10_000;
/// Longest type table accepted.
pub const MAX_TYPE_LEN: usize = 500;

pub fn config() -> DecoderConfig {
    let mut config = DecoderConfig::new();
    config.set_decoding_quota(DECODING_QUOTA).set_skipping_quota(SKIPPING_QUOTA).set_max_type_len(MAX_TYPE_LEN).set_full_error_message(false);
    config
}

fn empty_as_unit(bytes: &[u8]) -> &[u8] {
    if bytes.is_empty() {
        b"DIDL\x00\x00"
    } else {
        bytes
    }
}

/// Decodes a one-argument endpoint's argument within the quotas (`decode_with = "common::decode::one"`).
pub fn one<T: CandidType + DeserializeOwned>(bytes: Vec<u8>) -> T {
    decode_one_with_config(empty_as_unit(&bytes), &config()).unwrap_or_else(|e| ic_trap(&format!("argument refused: {e}")))
}

/// Decodes a several-argument endpoint's arguments within the quotas (`decode_with = "common::decode::args"`).
pub fn args<T: for<'a> ArgumentDecoder<'a>>(bytes: Vec<u8>) -> T {
    decode_args_with_config(empty_as_unit(&bytes), &config()).unwrap_or_else(|e| ic_trap(&format!("argument refused: {e}")))
}

#[cfg(target_arch = "wasm32")]
fn ic_trap(message: &str) -> ! {
    ic_cdk::trap(message)
}

#[cfg(not(target_arch = "wasm32"))]
fn ic_trap(message: &str) -> ! {
    panic!("{message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{encode_args, encode_one, Nat};

    #[test]
    fn ordinary_arguments_decode() {
        let s: String = one(encode_one("hello").unwrap());
        assert_eq!(s, "hello");
        let (a, b): (u64, String) = args(encode_args((7u64, "x")).unwrap());
        assert_eq!((a, b.as_str()), (7, "x"));
        let big: Vec<u8> = one(encode_one(serde_bytes::ByteBuf::from(vec![1u8; 100_000])).unwrap());
        assert_eq!(big.len(), 100_000);
    }

    #[test]
    fn a_flood_of_nulls_is_refused() {
        // 3 million `null`s cost almost nothing on the wire and a lot to decode.
        let flood = vec![(); 3_000_000];
        let bytes = encode_one(&flood).unwrap();
        assert!(bytes.len() < 4_000_000);
        let r = std::panic::catch_unwind(|| one::<Vec<()>>(bytes));
        assert!(r.is_err());
        let n: Nat = one(encode_one(Nat::from(5u8)).unwrap());
        assert_eq!(n, Nat::from(5u8));
    }
}
