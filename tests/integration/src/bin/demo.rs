//! `scripts/demo.sh`: the Pakistan rollout on the embedded executor, step by step, ending with
//! the checkpoint report. Runs the real canister wasm from `out/` (built by `scripts/build.sh`)
//! and the same rollout code as the integration tests; every number in the report comes from a
//! canister query.

use suite_tests::checkpoint;
use suite_tests::rollout::{deploy_suite, run_rollout};
use suite_tests::ExecutorEnv;

fn main() {
    let mut env = ExecutorEnv::new();
    println!("Sovereign Cloud Suite — the Pakistan rollout (embedded executor, real canister wasm)\n");
    let suite = deploy_suite(&mut env);
    println!("  deployed and wired: subnet_registry {}, license_issuer {},", suite.registry, suite.issuer);
    println!("                      messaging {}, burn_ledger {}", suite.messaging, suite.ledger);
    let rollout = run_rollout(&mut env, suite, &mut |step| println!("  ✓ {step}"));
    let report = checkpoint::fetch(&mut env, suite, rollout.subnet.id);
    println!("\n=== Checkpoint report ({}) ===\n", checkpoint::utc(report.burn.now_ns));
    print!("{report}");
    println!("\n(Each figure above was computed by a canister: compliance_report, metrics, licensing_report, burn_checkpoint.)");
}
