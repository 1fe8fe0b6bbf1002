//! Deterministic principals, handles and keys of the benchmark's synthetic population, so the
//! same load gives the same instruction counts on every run.

use candid::Principal;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

fn seed(label: &str) -> [u8; 32] {
    Sha256::digest(format!("sovereign-cloud-suite/bench/{label}")).into()
}

/// A self-authenticating principal (29 bytes, as a user's key gives).
fn principal(label: &str) -> Principal {
    Principal::self_authenticating(seed(label))
}

/// Messaging user `i`.
pub fn user(i: u64) -> Principal {
    principal(&format!("user-{i}"))
}

pub fn user_handle(i: u64) -> String {
    format!("user{i:07}")
}

/// The client whose pages the benchmark measures (in the same conversations at every scale).
pub fn probe() -> Principal {
    principal("probe")
}

pub const PROBE_HANDLE: &str = "probe";

/// A canonical X25519 public key of large order (a real key pair's public half).
pub fn x25519_public(label: &str) -> Vec<u8> {
    PublicKey::from(&StaticSecret::from(seed(label))).to_bytes().to_vec()
}

pub fn user_key(i: u64) -> Vec<u8> {
    x25519_public(&format!("user-key-{i}"))
}

/// License holder `i` (one license each).
pub fn holder(i: u64) -> Principal {
    principal(&format!("holder-{i}"))
}

/// Manager of program `i`.
pub fn manager(i: u64) -> Principal {
    principal(&format!("manager-{i}"))
}

/// Deterministic filler bytes (ciphertexts, wrapped keys, nonces).
pub fn bytes(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = 0u64;
    while out.len() < len {
        out.extend_from_slice(&seed(&format!("{label}/{block}")));
        block += 1;
    }
    out.truncate(len);
    out
}
