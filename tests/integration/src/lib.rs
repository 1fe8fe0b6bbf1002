//! The suite's integration scenarios are written once against [`Env`] and run on two
//! backends: the in-process [`ic_executor`] (always) and PocketIC (when `POCKET_IC_BIN` is set).
//!
//! ```text
//! use suite_tests::*;
//! fn my_scenario(env: &mut dyn Env) { /* ... */ }
//! scenario!(my_scenario); // -> tests `my_scenario::executor` and `my_scenario::pocket_ic`
//! ```

pub mod hostile;
mod pocket_env;

// The client core moved to clients/suite_client; its items keep their old paths here.
pub use suite_client::{actors, checkpoint, deploy_script, messenger, replica, rollout, scenarios};
pub use suite_client::{call, env, wasm};

pub use suite_client::call::*;
pub use suite_client::{DfxCli, DfxCommand, DfxEnv, IDENTITY_PREFIX};
pub use suite_client::env::*;
pub use suite_client::ExecutorEnv;
pub use pocket_env::{pocket_or_skip, PocketIcEnv};
pub use suite_client::wasm::{fixture_wasm, release_dir, with_wasm_dir, workspace_root};

pub use candid::{self, Principal};
pub use ic_executor::{self, Fault, RejectCode};

/// Declares the tests `<name>::executor` and `<name>::pocket_ic` that run the scenario
/// `fn <name>(env: &mut dyn Env)` (defined in the same module) on each backend. The PocketIC
/// test prints one `SKIPPED ...` line and returns when `POCKET_IC_BIN` is not set.
#[macro_export]
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            #[test]
            fn executor() {
                let mut env = $crate::ExecutorEnv::new();
                super::$name(&mut env);
            }

            #[test]
            fn pocket_ic() {
                let Some(mut env) = $crate::pocket_or_skip(concat!(stringify!($name), "::pocket_ic")) else {
                    return;
                };
                super::$name(&mut env);
            }
        }
    };
}
