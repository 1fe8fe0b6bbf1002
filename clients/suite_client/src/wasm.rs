//! Where the canister wasm comes from.

use std::cell::RefCell;
use std::path::PathBuf;

thread_local! {
    /// Where [`wasm`] reads suite canisters from on this thread, when not `out/`.
    static WASM_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Runs `f` with [`wasm`] reading `<dir>/<name>.wasm.gz` (e.g. a previous release's wasm kept as a
/// fixture). Per thread, so parallel tests do not see each other's choice.
pub fn with_wasm_dir<R>(dir: PathBuf, f: impl FnOnce() -> R) -> R {
    let previous = WASM_DIR.with(|d| d.replace(Some(dir)));
    let result = f();
    WASM_DIR.with(|d| *d.borrow_mut() = previous);
    result
}

/// The directory holding the previous release's gzipped wasm (`tests/fixtures/release-<tag>`).
pub fn release_dir(tag: &str) -> PathBuf {
    workspace_root().join("tests/fixtures").join(format!("release-{tag}"))
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A suite canister's wasm: `<NAME>_WASM` if set, else `<workspace>/out/<name>.wasm` as
/// `scripts/build.sh` writes it. Missing wasm is a failure naming the build command.
pub fn wasm(name: &str) -> Vec<u8> {
    if let Some(dir) = WASM_DIR.with(|d| d.borrow().clone()) {
        let path = dir.join(format!("{name}.wasm.gz"));
        return std::fs::read(&path).unwrap_or_else(|e| panic!("{name} wasm {} not readable: {e}", path.display()));
    }
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
