//! Test support: the exported Candid service must equal the committed `candid/<name>.did`.

use candid_parser::utils::{service_equal, CandidSource};
use std::path::{Path, PathBuf};

/// Path of a canister's committed interface, relative to the canister crate's manifest dir.
pub fn committed_did(manifest_dir: &str, canister: &str) -> PathBuf {
    Path::new(manifest_dir).join("../../candid").join(format!("{canister}.did"))
}

/// Panics, printing both interfaces, if `exported` differs from the file at `path`.
/// With `UPDATE_DID=1` in the environment it rewrites the file instead.
pub fn assert_service_matches(exported: &str, path: &Path) {
    if std::env::var_os("UPDATE_DID").is_some() {
        std::fs::write(path, exported).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if let Err(e) = service_equal(CandidSource::Text(exported), CandidSource::Text(&committed)) {
        panic!(
            "{} differs from the exported service: {e}\n--- exported ---\n{exported}\n--- committed ---\n{committed}\n\
             Rerun with UPDATE_DID=1 to regenerate it, then review the diff.",
            path.display()
        );
    }
}
