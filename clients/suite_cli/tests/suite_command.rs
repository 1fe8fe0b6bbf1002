//! The built `suite` binary end to end on the embedded executor: rollout, checkpoint (JSON),
//! status, and the one-line errors of bad input. Needs the wasm of `scripts/build.sh` and the
//! fixture (`cargo build --release --target wasm32-unknown-unknown -p executor_fixture`).

use candid::Principal;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn suite(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_suite")).arg("--state").arg(state).args(args).output().expect("the suite binary runs")
}

fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// A failure: non-zero exit and exactly one line on stderr, which is returned.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure, got stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("suite: "), "{err}");
    err
}

fn state_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suite_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn rollout_then_checkpoint_and_status_then_bad_input() {
    let state = state_path("rollout.state");

    let rollout = stdout_json(&suite(&state, &["rollout", "--json"]));
    assert!(state.exists(), "state saved at {}", state.display());
    let registry = rollout["suite"]["subnet_registry"].as_str().expect("registry id").to_string();
    let subnet = rollout["subnet"].as_str().expect("subnet id").to_string();
    assert!(rollout["steps"].as_array().is_some_and(|s| s.len() >= 6), "{rollout:#}");

    // The default subnet is the one the rollout made, found through the registry.
    let report = stdout_json(&suite(&state, &["checkpoint", "--json"]));
    assert_eq!(report["suite"]["subnet_registry"], registry.as_str());
    assert_eq!(report["subnet"]["id"], subnet.as_str());
    assert_eq!(report["subnet"]["status"], "Live");
    assert_eq!(report["subnet"]["compliant"], true);
    assert_eq!(report["subnet"]["nodes"], 13);
    assert_eq!(report["subnet"]["violations"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["licensing"]["apps_live"], 13);
    assert_eq!(report["messenger"]["users"], 21, "the ministry and 20 citizens");
    assert!(report["burn"]["reports"].as_u64().is_some_and(|n| n >= 13), "{:#}", report["burn"]);
    // The same subnet given explicitly gives the same figures.
    let explicit = stdout_json(&suite(&state, &["checkpoint", "--subnet", &subnet, "--json"]));
    assert_eq!(explicit["subnet"], report["subnet"]);

    let text = suite(&state, &["checkpoint"]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("compliant: yes"));

    let status = stdout_json(&suite(&state, &["status", "--json"]));
    assert_eq!(status["all_chains_valid"], true, "{status:#}");
    let canisters = status["canisters"].as_array().expect("canisters");
    assert_eq!(canisters.len(), 4);
    for c in canisters {
        assert!(c["audit_entries"].as_u64().is_some_and(|n| n > 0), "{c:#}");
        assert!(c["controllers"].as_array().is_some_and(|a| !a.is_empty()), "{c:#}");
        assert!(c["config"].as_str().is_some_and(|s| s.contains("authorities")), "{c:#}");
        // The embedded rollout deploys under one test controller: the trust model's warning.
        assert_eq!(c["controllers"].as_array().map(Vec::len), Some(1), "{c:#}");
        assert!(c["control_warning"].as_str().is_some_and(|w| w.contains("single principal")), "{c:#}");
    }
    let text = suite(&state, &["status"]);
    assert!(text.status.success());
    assert_eq!(String::from_utf8_lossy(&text.stdout).matches("chain verified").count(), 4);
    assert_eq!(String::from_utf8_lossy(&text.stdout).matches("WARNING:     a single principal").count(), 4);

    // The principals deploy-local.sh needs for a replica rollout: one per line, no state needed.
    let authorities = suite(&state_path("unused.state"), &["rollout", "--print-authorities"]);
    assert!(authorities.status.success());
    let lines: Vec<String> = String::from_utf8_lossy(&authorities.stdout).lines().map(str::to_string).collect();
    assert!(lines.len() >= 4 && lines.iter().all(|l| Principal::from_text(l).is_ok()), "{lines:?}");

    // Bad input: one line naming what and where, exit 1.
    let unknown = one_line_error(&suite(&state, &["checkpoint", "--subnet", "aaaaa-aa"]));
    assert!(unknown.contains("SubnetNotFound") && unknown.contains(&registry), "{unknown}");
    let garbage = one_line_error(&suite(&state, &["checkpoint", "--subnet", "not a principal"]));
    assert!(garbage.contains("--subnet"), "{garbage}");
    let missing = one_line_error(&suite(&state_path("missing.state"), &["status"]));
    assert!(missing.contains("missing.state") && missing.contains("suite rollout"), "{missing}");
    let not_state = state_path("not-a-state");
    std::fs::write(&not_state, b"hello").unwrap();
    let bad = one_line_error(&suite(&not_state, &["checkpoint"]));
    assert!(bad.contains("not-a-state"), "{bad}");
}
