//! Typed calls over `Env`: Candid in, Candid out, with context in every panic.

use crate::env::{Env, Reject};
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{decode_args, encode_args, CandidType, Principal};
use serde::de::DeserializeOwned;

fn encode<A: ArgumentEncoder>(method: &str, args: A) -> Vec<u8> {
    encode_args(args).unwrap_or_else(|e| panic!("encoding the arguments of {method}: {e}"))
}

fn decode<R: for<'a> ArgumentDecoder<'a>>(env: &dyn Env, id: Principal, method: &str, bytes: &[u8]) -> R {
    decode_args(bytes).unwrap_or_else(|e| panic!("[{}] decoding the reply of {id}.{method}: {e}", env.backend()))
}

/// Update call returning `Err(reject)`; panics only when the reply does not decode.
pub fn try_update<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(
    env: &mut dyn Env,
    id: Principal,
    sender: Principal,
    method: &str,
    args: A,
) -> Result<R, Reject> {
    let bytes = env.update_raw(id, sender, method, encode(method, args))?;
    Ok(decode(env, id, method, &bytes))
}

/// Update call that must succeed.
pub fn update<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(env: &mut dyn Env, id: Principal, sender: Principal, method: &str, args: A) -> R {
    try_update(env, id, sender, method, args).unwrap_or_else(|r| panic!("[{}] update {id}.{method} rejected: {r}", env.backend()))
}

pub fn try_query<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(
    env: &mut dyn Env,
    id: Principal,
    sender: Principal,
    method: &str,
    args: A,
) -> Result<R, Reject> {
    let bytes = env.query_raw(id, sender, method, encode(method, args))?;
    Ok(decode(env, id, method, &bytes))
}

pub fn query<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(env: &mut dyn Env, id: Principal, sender: Principal, method: &str, args: A) -> R {
    try_query(env, id, sender, method, args).unwrap_or_else(|r| panic!("[{}] query {id}.{method} rejected: {r}", env.backend()))
}

/// Update call with a single return value.
pub fn update1<A: ArgumentEncoder, T: CandidType + DeserializeOwned>(env: &mut dyn Env, id: Principal, sender: Principal, method: &str, args: A) -> T {
    let (t,): (T,) = update(env, id, sender, method, args);
    t
}

/// Query call with a single return value.
pub fn query1<A: ArgumentEncoder, T: CandidType + DeserializeOwned>(env: &mut dyn Env, id: Principal, sender: Principal, method: &str, args: A) -> T {
    let (t,): (T,) = query(env, id, sender, method, args);
    t
}

/// Creates a canister and installs `wasm` with the Candid-encoded `args`.
pub fn deploy<A: ArgumentEncoder>(env: &mut dyn Env, wasm: &[u8], args: A) -> Principal {
    let id = env.create_canister();
    let backend = env.backend();
    env.install(id, wasm, encode("install", args)).unwrap_or_else(|r| panic!("[{backend}] install into {id} failed: {r}"));
    id
}

/// A call that did not give the expected answer, said in one line: which canister, which
/// method, and what went wrong (a reject, an undecodable reply, or the canister's typed error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    pub canister: Principal,
    pub method: String,
    pub detail: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}: {}", self.canister, self.method, self.detail)
    }
}

impl std::error::Error for CallError {}

impl CallError {
    pub fn new(canister: Principal, method: &str, detail: impl Into<String>) -> Self {
        CallError { canister, method: method.to_string(), detail: detail.into() }
    }
}

/// Query with one return value that never panics: a reject or a reply of another type (a
/// canister of the wrong kind) is a [`CallError`].
pub fn checked_query1<A: ArgumentEncoder, T: CandidType + DeserializeOwned>(
    env: &mut dyn Env,
    id: Principal,
    sender: Principal,
    method: &str,
    args: A,
) -> Result<T, CallError> {
    let arg = encode_args(args).map_err(|e| CallError::new(id, method, format!("encoding the arguments: {e}")))?;
    let bytes = env.query_raw(id, sender, method, arg).map_err(|r| CallError::new(id, method, format!("rejected: {}", r.message)))?;
    candid::decode_one(&bytes).map_err(|e| CallError::new(id, method, format!("unexpected reply (not this kind of canister?): {e}")))
}

/// `format!("{:?}")` of a value with every `Principal { len, bytes }` shown as its text form,
/// so typed errors and configurations read in words.
pub fn readable<T: std::fmt::Debug>(value: &T) -> String {
    principals_as_text(&format!("{value:?}"))
}

fn principals_as_text(debug: &str) -> String {
    const HEAD: &str = "Principal { len: ";
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(at) = rest.find(HEAD) {
        out.push_str(&rest[..at]);
        let tail = &rest[at + HEAD.len()..];
        let parsed = (|| {
            let (len, tail) = tail.split_once(", bytes: [")?;
            let (bytes, tail) = tail.split_once("] }")?;
            let len: usize = len.parse().ok()?;
            let bytes: Vec<u8> = bytes.split(", ").map(|b| b.parse().ok()).collect::<Option<_>>()?;
            let principal = Principal::try_from_slice(bytes.get(..len)?).ok()?;
            Some((principal, tail))
        })();
        match parsed {
            Some((principal, tail)) => {
                out.push_str(&principal.to_text());
                rest = tail;
            }
            None => {
                out.push_str(HEAD);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_read_as_text() {
        let p = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(readable(&Some(p)), format!("Some({p})"));
        assert_eq!(readable(&(Principal::anonymous(), 3)), "(2vxsx-fae, 3)");
        assert_eq!(principals_as_text("Principal { len: x"), "Principal { len: x");
    }
}
