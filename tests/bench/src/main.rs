//! `cargo run --release -p suite_bench -- --scale small|medium|full [--state-dir DIR] [--max-minutes M]`
//!
//! Deploys the suite's wasm (out/*.wasm, from `bash scripts/build.sh`) and the baseline canister
//! (`cargo build --release --target wasm32-unknown-unknown -p bench_baseline`) on the in-process
//! executor, loads it to the scale, measures, and prints the tables and, last, the summary line
//! `bench: worst update ratio R, worst query Q instructions, upgrade ratio U`.
//! With `--state-dir` the state is saved after each stage and a second run resumes from it;
//! `--max-minutes` stops loading after that long (state saved) so each command stays short.
//! `--wasm-dir` takes the suite's `<canister>.wasm.gz` from elsewhere than `out/` (a state
//! directory keeps its own copy from its first run, so a resumed load never mixes builds).

use std::path::PathBuf;
use std::process::ExitCode;
use suite_bench::run::{run, Options, Outcome};
use suite_bench::scale::Scale;

const USAGE: &str = "usage: suite_bench --scale small|medium|full [--state-dir DIR] [--max-minutes M] [--wasm-dir DIR]";

fn main() -> ExitCode {
    if std::env::var_os("IC_EXECUTOR_QUIET").is_none() {
        std::env::set_var("IC_EXECUTOR_QUIET", "1");
    }
    let mut args = std::env::args().skip(1);
    let (mut scale, mut state_dir, mut max_minutes, mut wasm_dir) = (None, None, None, None);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--scale", Some(v)) => scale = Scale::by_name(&v),
            ("--state-dir", Some(v)) => state_dir = Some(PathBuf::from(v)),
            ("--max-minutes", Some(v)) => max_minutes = v.parse().ok(),
            ("--wasm-dir", Some(v)) => wasm_dir = Some(PathBuf::from(v)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(scale) = scale else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(Options { scale, state_dir, max_minutes, wasm_dir }) {
        Ok(Outcome::Paused) => {
            println!("bench: paused at the time limit, state saved: run the same command again to continue");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Done(summary)) => {
            println!("{}", summary.line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
