//! The one place where callers of the suite live: typed calls over the [`Env`] backend trait
//! (implemented here by the embedded executor, [`ExecutorEnv`], and by a dfx replica through the
//! dfx command line, [`DfxEnv`] — to be replaced by an ic-agent backend), the deterministic actors, the
//! messenger's client-side encryption ([`messenger`]), the checkpoint report and the Pakistan
//! rollout ([`rollout`], built from the per-canister steps in [`scenarios`]). The tests, the
//! demo and the `suite` command (clients/suite_cli) all call the suite through this crate.

pub mod actors;
pub mod call;
pub mod checkpoint;
pub mod deploy_script;
mod dfx_env;
pub mod discover;
pub mod env;
pub mod executor_env;
pub mod messenger;
pub mod replica;
pub mod rollout;
pub mod scenarios;
pub mod wasm;

pub use call::*;
pub use dfx_env::{DfxCli, DfxCommand, DfxEnv, IDENTITY_PREFIX};
pub use env::*;
pub use executor_env::ExecutorEnv;
pub use wasm::{fixture_wasm, release_dir, wasm, with_wasm_dir, workspace_root};

pub use candid::{self, Principal};
pub use ic_executor::{self, Fault, RejectCode};

/// The four canisters of one deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub registry: Principal,
    pub issuer: Principal,
    pub messaging: Principal,
    pub ledger: Principal,
}
