//! `ic_executor`: runs Internet Computer canister wasm in-process with wasmtime, implementing
//! the part of the System API that ic-cdk 0.20 canisters use, with the IC interface
//! specification's semantics. Test support only; see README.md for what is (not) covered.

mod canister;
pub mod costs;
mod persist;
mod engine;
mod executor;
mod instance;
mod lifecycle;
pub mod instrument;
mod management;
mod stable;
mod system_api;
mod types;

pub use executor::{CanisterSettings, ExecutionRecord, Executor, Step, DEFAULT_CYCLES, GENESIS_NS};
pub use instance::TrapInfo;
pub use system_api::EntryKind;
pub use lifecycle::{StoredSettings, MAX_CHUNK_BYTES, MAX_SNAPSHOTS, STOP_CANISTER_TIMEOUT_NS};
pub use types::*;
/// The management canister's Candid types (ic-management-canister-types), as the executor uses them.
pub use ic_management_canister_types as mgmt;

/// Compiles a module ahead of use (fills the compiled-module cache); useful to keep the first
/// test from paying the compilation inside a timed section.
pub fn precompile(wasm: &[u8]) -> Result<(), String> {
    engine::compile(wasm).map(|_| ())
}

/// The `ic0` imports of `wasm` that the executor does not implement (calling one traps,
/// naming it). Useful to check a canister before relying on the executor for it.
pub fn unimplemented_imports(wasm: &[u8]) -> Result<Vec<String>, String> {
    let known = system_api::implemented_ic0(engine::engine());
    let mut missing = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(s) = payload.map_err(|e| e.to_string())? {
            for imp in s.into_imports() {
                let imp = imp.map_err(|e| e.to_string())?;
                if imp.module != "ic0" || !known.contains(&imp.name) {
                    missing.push(format!("{}.{}", imp.module, imp.name));
                }
            }
        }
    }
    Ok(missing)
}
