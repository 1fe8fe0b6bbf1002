//! `suite_bench`: the suite's benchmarks on the in-process executor (see BENCHMARKS.md).
//!
//! The command (`src/main.rs`) deploys the real wasm (`out/*.wasm`) and the baseline canister
//! (`tests/bench_baseline`), loads every canister through its public endpoints to a reference
//! state (about 1,000 records each) and measures its queries and upgrades, loads on to the
//! chosen scale, then measures every client page's queries, each hot update against its
//! baseline, upgrades, the retention sweep, storage per message, cycles and per-shard capacity.
//! Instruction counts are the executor's (deterministic); wall time is never a figure.

pub mod baseline;
pub mod bench;
pub mod capacity;
pub mod costs;
pub mod figures;
pub mod ids;
pub mod load;
pub mod queries;
pub mod report;
pub mod run;
pub mod scale;
pub mod stored;
pub mod updates;
pub mod upkeep;

use candid::Principal;

/// One progress line on stdout (flushed, so `nohup` logs show it at once).
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The suite canister's name, for tables.
pub fn canister_name(ids: &bench::Ids, id: Principal) -> &'static str {
    match id {
        x if x == ids.registry => "subnet_registry",
        x if x == ids.issuer => "license_issuer",
        x if x == ids.messaging => "messaging",
        x if x == ids.ledger => "burn_ledger",
        x if x == ids.baseline => "bench_baseline",
        _ => "other",
    }
}

/// Today's UTC date, `YYYY-MM-DD` (the date part of the checkpoint report's `utc`).
pub fn today() -> String {
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    suite_tests::checkpoint::utc(now_ns)[..10].to_string()
}

/// The workspace's commit, with `+changes` when files under `paths` differ from it.
pub fn commit_of(paths: &[&str]) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(suite_tests::workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend_from_slice(paths);
    if git(&status).is_some_and(|s| !s.is_empty()) {
        format!("{head}+changes")
    } else {
        head
    }
}

/// The commit the canisters in `out/` come from (if `scripts/build.sh` ran on this tree).
pub fn commit() -> String {
    commit_of(&["canisters", "out"])
}

/// The commit of the benchmark's own code (this crate, the baseline, the executor, the clients).
pub fn harness_commit() -> String {
    commit_of(&["tests/bench", "tests/bench_baseline", "tests/executor", "tests/integration", "clients"])
}

/// The suite's canisters, as `out/<name>.wasm.gz` names them.
pub const CANISTERS: [&str; 4] = ["subnet_registry", "license_issuer", "messaging", "burn_ledger"];
/// The baseline's file name in a wasm directory.
pub const BASELINE_WASM: &str = "bench_baseline.wasm";

/// The commit a wasm directory was built from: its `COMMIT` file (or its parent's, as in a
/// `git archive` export built with scripts/build.sh), the workspace's commit for `out/`, else
/// "unknown".
pub fn wasm_commit(dir: &std::path::Path) -> String {
    for file in [dir.join("COMMIT"), dir.join("../COMMIT")] {
        if let Ok(text) = std::fs::read_to_string(file) {
            return text.trim().to_string();
        }
    }
    let out = suite_tests::workspace_root().join("out");
    let same = |a: &std::path::Path, b: &std::path::Path| a.canonicalize().ok() == b.canonicalize().ok();
    if same(dir, &out) {
        commit()
    } else {
        "unknown".into()
    }
}

/// `<dir>/<canister>.wasm.gz` sizes (scripts/build.sh's gzip -9 output).
pub fn wasm_sizes(dir: &std::path::Path) -> Vec<(String, u64)> {
    CANISTERS.iter().map(|c| (c.to_string(), std::fs::metadata(dir.join(format!("{c}.wasm.gz"))).map_or(0, |m| m.len()))).collect()
}

/// The first bytes of each wasm's SHA-256, to tell which build a figure comes from.
pub fn wasm_digests(dir: &std::path::Path) -> Vec<String> {
    use sha2::{Digest, Sha256};
    CANISTERS
        .iter()
        .map(|c| {
            let bytes = std::fs::read(dir.join(format!("{c}.wasm.gz"))).unwrap_or_default();
            format!("{c} {}", hex_prefix(&Sha256::digest(&bytes)))
        })
        .collect()
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_date() {
        let d = super::today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }
}
