//! The five suite canisters' real wasm (out/*.wasm from `bash scripts/build.sh`) on both
//! backends: every ic0 import is implemented by the executor, and install with the default
//! (`null`) init argument, a query, and an upgrade work.

use suite_tests::*;

const SUITE: [&str; 5] = ["subnet_registry", "license_issuer", "messaging", "messaging_index", "burn_ledger"];

#[test]
fn executor_implements_every_ic0_import_of_the_suite() {
    for name in SUITE {
        let missing = ic_executor::unimplemented_imports(&wasm(name)).unwrap();
        assert!(missing.is_empty(), "{name} imports what ic_executor lacks: {missing:?}");
    }
}

fn suite_canisters_install_and_upgrade(env: &mut dyn Env) {
    let none = candid::encode_one(None::<()>).unwrap();
    for name in SUITE {
        let w = wasm(name);
        let id = env.create_canister();
        env.install(id, &w, none.clone()).unwrap_or_else(|r| panic!("install {name}: {r}"));
        env.query_raw(id, Principal::anonymous(), "config", candid::encode_args(()).unwrap())
            .unwrap_or_else(|r| panic!("{name}.config: {r}"));
        env.upgrade(id, &w, none.clone()).unwrap_or_else(|r| panic!("upgrade {name}: {r}"));
        env.query_raw(id, Principal::anonymous(), "config", candid::encode_args(()).unwrap())
            .unwrap_or_else(|r| panic!("{name}.config after upgrade: {r}"));
    }
}

scenario!(suite_canisters_install_and_upgrade);
