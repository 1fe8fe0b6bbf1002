//! `suite`: the Pakistan rollout, the checkpoint report and the suite's status, on the embedded
//! executor (the real canister wasm run in-process; nothing to install) or, with `--network NAME`,
//! on the suite `scripts/deploy-local.sh` deployed to a dfx network (through the dfx command
//! line, as each rollout actor's imported dfx identity). The executor's state is kept in a file
//! between commands (`--state`, default `.suite/embedded.state`).
//!
//! Errors are one line on stderr (what failed and where) and exit code 1.

mod output;

use clap::{Parser, Subcommand};
use ic_executor::Executor;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;
use suite_client::discover::{find_suite, subnets};
use suite_client::{checkpoint, replica, rollout};
use suite_client::{DfxCommand, DfxEnv, Env, ExecutorEnv, Principal, Suite};

#[derive(Parser)]
#[command(name = "suite", version, about = "The Sovereign Cloud Suite on the embedded executor or a dfx network: rollout, checkpoint report, status")]
struct Cli {
    /// The embedded executor's saved state.
    #[arg(long, global = true, default_value = ".suite/embedded.state")]
    state: PathBuf,
    /// Use the suite deployed by scripts/deploy-local.sh on this dfx network (e.g. `local`)
    /// instead of the embedded executor.
    #[arg(long, global = true)]
    network: Option<String>,
    /// Machine-readable output (one JSON document on stdout).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploys the four canisters and runs the Pakistan rollout, then saves the state. With
    /// `--network`: runs the rollout on the deployed suite (unless it already ran there).
    Rollout {
        /// Print the principals deploy-local.sh must make authorities for the rollout, and stop.
        #[arg(long)]
        print_authorities: bool,
    },
    /// The checkpoint report of a subnet (default: the live subnet the rollout made).
    Checkpoint {
        /// Subnet id (a principal).
        #[arg(long)]
        subnet: Option<String>,
    },
    /// Each suite canister's configuration, controllers and verified audit chain.
    Status,
}

type Result<T> = std::result::Result<T, String>;

fn main() {
    let cli = Cli::parse();
    // Canister debug output (ic-cdk-timers notes) would interleave with the report.
    if std::env::var_os("IC_EXECUTOR_QUIET").is_none() {
        std::env::set_var("IC_EXECUTOR_QUIET", "1");
    }
    // The rollout steps panic with a message on failure; show that message as our one line.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&cli)));
    let error = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "internal error".into()),
    };
    let one_line = error.lines().next().unwrap_or_default().to_string();
    eprintln!("suite: {one_line}");
    std::process::exit(1);
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Rollout { print_authorities: true } => {
            replica::rollout_authorities().iter().for_each(|p| println!("{p}"));
            Ok(())
        }
        Command::Rollout { .. } if cli.network.is_some() => replica_rollout_command(cli),
        Command::Rollout { .. } => rollout_command(cli),
        Command::Checkpoint { subnet } => checkpoint_command(cli, subnet.as_deref()),
        Command::Status => status_command(cli),
    }
}

/// A spinner on stderr with a step counter (none for 0 steps); hidden for `--json` (and when
/// stderr is no terminal).
fn progress(cli: &Cli, steps: u64) -> ProgressBar {
    if cli.json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps);
    let template = if steps == 0 { "{spinner} {msg} ({elapsed})" } else { "{spinner} [{pos}/{len}] {msg} ({elapsed})" };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn rollout_command(cli: &Cli) -> Result<()> {
    let bar = progress(cli, 6);
    let mut done: Vec<String> = vec![];
    let mut env = ExecutorEnv::new();
    bar.set_message("deploying the four canisters (compiling their wasm: a few seconds)");
    let suite = rollout::deploy_suite(&mut env);
    bar.inc(1);
    let mut log = |line: &str| {
        bar.println(format!("  ✓ {line}"));
        done.push(line.to_string());
    };
    bar.set_message("bringing the Pakistan subnet live");
    let subnet = rollout::bring_subnet_live(&mut env, suite, &mut log);
    bar.inc(1);
    bar.set_message("licenses and the builders' app canisters");
    let licenses = rollout::allocate_licenses(&mut env, suite, subnet.id, &mut log);
    bar.inc(1);
    bar.set_message("encrypted messages");
    rollout::exchange_messages(&mut env, suite, &mut log);
    bar.inc(1);
    bar.set_message("an hour of usage reported");
    rollout::report_usage(&mut env, suite, &licenses, &mut log);
    bar.inc(1);
    bar.set_message(format!("saving the state to {}", cli.state.display()));
    save(&mut env.ex, &cli.state)?;
    bar.inc(1);
    bar.finish_and_clear();
    if cli.json {
        let doc = serde_json::json!({
            "state": cli.state.display().to_string(),
            "suite": output::suite_json(suite),
            "subnet": subnet.id.to_text(),
            "steps": done,
        });
        println!("{doc:#}");
    } else {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            done.iter().for_each(|l| println!("  ✓ {l}"));
        }
        output::print_suite(suite);
        println!("subnet {} ({:?}); state saved to {}", subnet.id, subnet.status, cli.state.display());
        println!("next: suite checkpoint   (or: suite status)");
    }
    Ok(())
}

/// The rollout on a dfx network: the suite deploy-local.sh deployed, the rollout's actors as
/// imported dfx identities; on a suite where it already ran, only the report.
fn replica_rollout_command(cli: &Cli) -> Result<()> {
    let network = cli.network.as_deref().unwrap_or("local");
    let mut env = DfxEnv::new(DfxCommand, network)?;
    let bar = progress(cli, 0);
    bar.set_message(format!("the rollout on dfx network '{network}' (one dfx command per call)"));
    let mut done: Vec<String> = vec![];
    let run = replica::run_on_deployed_suite(&mut env, &mut |line: &str| {
        bar.println(format!("  ✓ {line}"));
        done.push(line.to_string());
    })?;
    bar.finish_and_clear();
    if cli.json {
        let doc = serde_json::json!({
            "network": network,
            "suite": output::suite_json(run.suite),
            "subnet": run.report.subnet.subnet_id.to_text(),
            "steps": done,
        });
        println!("{doc:#}");
    } else {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            done.iter().for_each(|l| println!("  ✓ {l}"));
        }
        output::print_suite(run.suite);
        println!("subnet {} on dfx network '{network}'", run.report.subnet.subnet_id);
        println!("next: suite --network {network} checkpoint   (or: suite --network {network} status)");
    }
    Ok(())
}

fn save(ex: &mut Executor, path: &Path) -> Result<()> {
    let bytes = ex.save_state().map_err(|e| format!("saving the executor state: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    // Write aside, then rename: an interrupted save leaves the previous state intact.
    let tmp = path.with_extension("state.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Where the commands run: the embedded executor's saved state or a dfx network.
enum Backend {
    Embedded(ExecutorEnv),
    Dfx(DfxEnv<DfxCommand>),
}

impl Backend {
    fn env(&mut self) -> &mut dyn Env {
        match self {
            Backend::Embedded(env) => env,
            Backend::Dfx(env) => env,
        }
    }
}

/// The backend `--network` chooses, and the suite found there.
fn connect(cli: &Cli) -> Result<(Backend, Suite)> {
    match cli.network.as_deref() {
        Some(network) => {
            let mut env = DfxEnv::new(DfxCommand, network).map_err(|e| format!("dfx network '{network}': {}", e.trim()))?;
            let suite = replica::deployed_suite(&mut env).map_err(|e| format!("dfx network '{network}': {}", e.trim()))?;
            Ok((Backend::Dfx(env), suite))
        }
        None => load(&cli.state).map(|(env, suite)| (Backend::Embedded(env), suite)),
    }
}

/// The saved executor and the suite found in it.
fn load(path: &Path) -> Result<(ExecutorEnv, Suite)> {
    let bytes = std::fs::read(path).map_err(|e| format!("no state at {} ({e}); run `suite rollout` first", path.display()))?;
    let ex = Executor::load_state(&bytes).map_err(|e| format!("{} is not an executor state: {e}", path.display()))?;
    let mut env = ExecutorEnv { ex };
    let ids = env.ex.canister_ids();
    let suite = find_suite(&mut env, &ids).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((env, suite))
}

fn checkpoint_command(cli: &Cli, subnet: Option<&str>) -> Result<()> {
    let (mut backend, suite) = connect(cli)?;
    let env = backend.env();
    let subnet_id = match subnet {
        Some(text) => Principal::from_text(text).map_err(|e| format!("--subnet {text:?} is not a principal: {e}"))?,
        None => default_subnet(env, suite)?,
    };
    let report = checkpoint::try_fetch(env, suite, subnet_id).map_err(|e| e.to_string())?;
    if cli.json {
        println!("{:#}", output::checkpoint_json(suite, &report));
    } else {
        println!("=== Checkpoint report ({}) ===\n", checkpoint::utc(report.burn.now_ns));
        print!("{report}");
    }
    Ok(())
}

/// The live subnet the registry lists (the rollout made one); else its only subnet.
fn default_subnet(env: &mut dyn Env, suite: Suite) -> Result<Principal> {
    let all = subnets(env, suite.registry).map_err(|e| e.to_string())?;
    let live: Vec<_> = all.iter().filter(|s| s.status == interfaces::subnet_registry::SubnetStatus::Live).collect();
    match (live.as_slice(), all.as_slice()) {
        ([one], _) => Ok(one.id),
        ([], [one]) => Ok(one.id),
        ([], []) => Err(format!("subnet_registry {} lists no subnet; give one with --subnet", suite.registry)),
        _ => Err(format!("subnet_registry {} lists {} subnets ({} live); choose one with --subnet", suite.registry, all.len(), live.len())),
    }
}

fn status_command(cli: &Cli) -> Result<()> {
    let (mut backend, suite) = connect(cli)?;
    let env = backend.env();
    let bar = progress(cli, 4);
    bar.set_message("verifying the audit chains");
    let mut rows = vec![];
    for (name, id) in output::named(suite) {
        rows.push(output::status_of(env, name, id)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if cli.json {
        let ok = rows.iter().all(|r| r.chain_valid);
        println!("{:#}", serde_json::json!({ "suite": output::suite_json(suite), "canisters": rows.iter().map(output::StatusRow::json).collect::<Vec<_>>(), "all_chains_valid": ok }));
    } else {
        rows.iter().for_each(output::StatusRow::print);
    }
    Ok(())
}
