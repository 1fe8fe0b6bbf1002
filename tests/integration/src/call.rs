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
