//! `scripts/demo.sh`: the Pakistan rollout, step by step, ending with the checkpoint report.
//!
//! - no option: on the embedded executor, with the real canister wasm from `out/` (built by
//!   `scripts/build.sh`) and the same rollout code as the integration tests;
//! - `--replica [--network NAME]`: on the suite `scripts/deploy-local.sh` deployed to a dfx
//!   replica, through dfx (see `suite_tests::replica`);
//! - `--print-authorities`: the principals deploy-local.sh must add as authorities for that.
//!
//! Every number in the report comes from a canister query.

use suite_tests::checkpoint::{self, CheckpointReport};
use suite_tests::replica::{self, rollout_authorities};
use suite_tests::rollout::{deploy_suite, run_rollout, Suite};
use suite_tests::{DfxCommand, DfxEnv, ExecutorEnv};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {
            on_executor();
            Ok(())
        }
        ["--print-authorities"] => {
            rollout_authorities().iter().for_each(|p| println!("{p}"));
            Ok(())
        }
        ["--replica"] => on_replica("local"),
        ["--replica", "--network", network] => on_replica(network),
        _ => Err("usage: demo [--replica [--network NAME] | --print-authorities]".to_string()),
    };
    if let Err(e) = result {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}

fn on_executor() {
    let mut env = ExecutorEnv::new();
    println!("Sovereign Cloud Suite — the Pakistan rollout (embedded executor, real canister wasm)\n");
    let suite = deploy_suite(&mut env);
    print_suite(suite, "deployed and wired");
    let rollout = run_rollout(&mut env, suite, &mut |step| println!("  ✓ {step}"));
    print_report(&checkpoint::fetch(&mut env, suite, rollout.subnet.id));
}

fn on_replica(network: &str) -> Result<(), String> {
    let mut env = DfxEnv::new(DfxCommand, network)?;
    println!("Sovereign Cloud Suite — the Pakistan rollout (dfx network '{network}', as {})\n", env.controller());
    let run = replica::run_on_deployed_suite(&mut env, &mut |step| println!("  ✓ {step}"))?;
    print_suite(run.suite, "deployed by scripts/deploy-local.sh");
    print_report(&run.report);
    Ok(())
}

fn print_suite(suite: Suite, how: &str) {
    println!("  {how}: subnet_registry {}, license_issuer {},", suite.registry, suite.issuer);
    println!("  {:width$}  messaging {}, burn_ledger {}", "", suite.messaging, suite.ledger, width = how.len());
}

fn print_report(report: &CheckpointReport) {
    println!("\n=== Checkpoint report ({}) ===\n", checkpoint::utc(report.burn.now_ns));
    print!("{report}");
    println!("\n(Each figure above was computed by a canister: compliance_report, metrics, licensing_report, burn_checkpoint.)");
}
