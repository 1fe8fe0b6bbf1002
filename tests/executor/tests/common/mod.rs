//! Shared helpers of the executor's tests: the fixture wasm and typed calls.
#![allow(dead_code)]

use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{decode_args, encode_args, Principal};
use ic_executor::{Executor, Reject};
use std::path::PathBuf;

pub const CONTROLLER: Principal = Principal::from_slice(&[0xc0, 0x01]);
pub const USER: Principal = Principal::from_slice(&[0x05, 0xe5]);

/// The fixture canister's wasm. Missing wasm is a failure, never a skip.
pub fn fixture_wasm() -> Vec<u8> {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasm32-unknown-unknown/release/executor_fixture.wasm");
    let path = std::env::var_os("EXECUTOR_FIXTURE_WASM").map_or(default, PathBuf::from);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "fixture wasm {} not readable ({e}); build it first: \
             cargo build --release --target wasm32-unknown-unknown -p executor_fixture",
            path.display()
        )
    })
}

/// An executor with `n` fixture canisters installed (controller = CONTROLLER).
pub fn setup(n: usize) -> (Executor, Vec<Principal>) {
    let wasm = fixture_wasm();
    let mut ex = Executor::new();
    let ids = (0..n)
        .map(|_| {
            let id = ex.create_canister(vec![CONTROLLER]);
            ex.install(id, &wasm, encode_args(()).unwrap(), CONTROLLER).expect("install fixture");
            id
        })
        .collect();
    (ex, ids)
}

pub fn try_update<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(
    ex: &mut Executor,
    id: Principal,
    method: &str,
    args: A,
) -> Result<R, Reject> {
    let bytes = ex.update(id, USER, method, encode_args(args).unwrap())?;
    Ok(decode_args(&bytes).unwrap_or_else(|e| panic!("decoding reply of {method}: {e}")))
}

pub fn update<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(ex: &mut Executor, id: Principal, method: &str, args: A) -> R {
    try_update(ex, id, method, args).unwrap_or_else(|r| panic!("{method} rejected: {r}"))
}

pub fn query<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(ex: &mut Executor, id: Principal, method: &str, args: A) -> R {
    let bytes = ex.query(id, USER, method, encode_args(args).unwrap()).unwrap_or_else(|r| panic!("{method} rejected: {r}"));
    decode_args(&bytes).unwrap_or_else(|e| panic!("decoding reply of {method}: {e}"))
}

#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq)]
pub struct State {
    pub heap: u64,
    pub stable: u64,
    pub upgrades: u64,
    pub journal: Vec<String>,
    pub blobs: u64,
    pub locked: bool,
}

#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq)]
pub struct CallError {
    pub code: u32,
    pub message: String,
}

pub fn state(ex: &mut Executor, id: Principal) -> State {
    let (s,): (State,) = query(ex, id, "state", ());
    s
}
