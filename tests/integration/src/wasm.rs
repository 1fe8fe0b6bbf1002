//! Where the canister wasm comes from.

use std::path::PathBuf;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A suite canister's wasm: `<NAME>_WASM` if set, else `<workspace>/out/<name>.wasm` as
/// `scripts/build.sh` writes it. Missing wasm is a failure naming the build command.
pub fn wasm(name: &str) -> Vec<u8> {
    let var = format!("{}_WASM", name.to_uppercase());
    let path = std::env::var_os(&var).map_or_else(|| workspace_root().join("out").join(format!("{name}.wasm")), PathBuf::from);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{name} wasm {} not readable ({e}): run `bash scripts/build.sh` first (or set {var})", path.display())
    })
}

/// The executor's fixture canister: `EXECUTOR_FIXTURE_WASM`, else
/// `target/wasm32-unknown-unknown/release/executor_fixture.wasm`.
pub fn fixture_wasm() -> Vec<u8> {
    let path = std::env::var_os("EXECUTOR_FIXTURE_WASM").map_or_else(
        || workspace_root().join("target/wasm32-unknown-unknown/release/executor_fixture.wasm"),
        PathBuf::from,
    );
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "fixture wasm {} not readable ({e}): run `cargo build --release --target wasm32-unknown-unknown -p executor_fixture`",
            path.display()
        )
    })
}
