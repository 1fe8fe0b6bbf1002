//! The benchmark's world: the executor with the deployed suite, and what has been loaded so far
//! (`Progress`), both saved to the state directory so a long load resumes where it stopped.

use crate::figures::Figures;
use crate::scale::Scale;
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::Principal;
use ic_executor::{CallOutcome, Executor};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use suite_tests::{Env, ExecutorEnv};

/// Canister ids of the deployment.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Ids {
    pub registry: Principal,
    pub issuer: Principal,
    pub messaging: Principal,
    pub ledger: Principal,
    pub baseline: Principal,
}

/// What is loaded so far. Every loader moves its counter towards a target and can stop between
/// chunks; the counters and ids here are enough to continue.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Bumped when the meaning of a saved state changes.
    pub format: u32,
    pub scale: Option<Scale>,
    pub ids: Option<Ids>,
    pub policy_id: u64,
    pub programs: Vec<u64>,
    pub subnets: Vec<Principal>,
    /// License ids, by holder index.
    pub licenses: Vec<u64>,
    /// App canisters, by app index (app `j` belongs to license `j % licenses` at its registration).
    pub apps: Vec<Principal>,
    pub app_licenses: Vec<u64>,
    /// Per app: the last usage report's sequence number and period end.
    pub app_reports: Vec<(u64, u64)>,
    pub reports: u64,
    /// Index of the next app to report in the current hour (0 = a new hour starts).
    pub report_cursor: u64,
    pub users: u64,
    pub probe_registered: bool,
    /// Conversation ids, by conversation index.
    pub conversations: Vec<u64>,
    pub messages: u64,
    /// Sends refused by the rate limit while loading (each retried after the wait it named).
    pub rate_limited: u64,
    /// Figures measured on the reference state.
    pub reference: Option<Figures>,
    /// Seconds spent loading, per loader.
    pub load_seconds: Vec<(String, u64)>,
    /// The workspace commit and the date of the deploying run.
    pub commit: String,
    pub date: String,
}

pub const FORMAT: u32 = 1;

pub struct Bench {
    pub env: ExecutorEnv,
    pub p: Progress,
    pub dir: Option<PathBuf>,
    /// Stop loading (save and exit) after this instant.
    pub deadline: Option<Instant>,
    pub started: Instant,
    /// Where the wasm comes from (`<canister>.wasm.gz`, `bench_baseline.wasm`).
    pub wasm_dir: PathBuf,
    last_save: Instant,
}

/// A long stage also saves this often (a crash loses at most this much loading).
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Loading stopped at the deadline; the state is saved.
#[derive(Debug)]
pub struct Paused;

pub type Step = Result<(), Paused>;

impl Bench {
    pub fn new(dir: Option<PathBuf>, deadline: Option<Instant>) -> Bench {
        Bench {
            env: ExecutorEnv::new(),
            p: Progress { format: FORMAT, ..Progress::default() },
            dir,
            deadline,
            started: Instant::now(),
            wasm_dir: suite_tests::workspace_root().join("out"),
            last_save: Instant::now(),
        }
    }

    /// Loads the saved state of `dir`, if there is one.
    pub fn resume(dir: &Path, deadline: Option<Instant>) -> Result<Option<Bench>, String> {
        let progress = dir.join("progress.json");
        let state = dir.join("executor.state");
        if !progress.exists() || !state.exists() {
            return Ok(None);
        }
        let p: Progress = serde_json::from_slice(&std::fs::read(&progress).map_err(|e| format!("{}: {e}", progress.display()))?)
            .map_err(|e| format!("{}: {e}", progress.display()))?;
        if p.format != FORMAT {
            return Err(format!("{} has format {}, this benchmark reads {FORMAT}: use a new state dir", progress.display(), p.format));
        }
        let bytes = std::fs::read(&state).map_err(|e| format!("{}: {e}", state.display()))?;
        let ex = Executor::load_state(&bytes)?;
        let wasm_dir = dir.join("wasm");
        Ok(Some(Bench { env: ExecutorEnv { ex }, p, dir: Some(dir.to_path_buf()), deadline, started: Instant::now(), wasm_dir, last_save: Instant::now() }))
    }

    /// Writes the executor state and the progress (each to a temporary file, then renamed).
    pub fn save(&mut self) -> Result<(), String> {
        let Some(dir) = self.dir.clone() else { return Ok(()) };
        let t = Instant::now();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let state = self.env.ex.save_state()?;
        let write = |name: &str, bytes: &[u8]| -> Result<(), String> {
            let tmp = dir.join(format!("{name}.tmp"));
            std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, dir.join(name)).map_err(|e| format!("{name}: {e}"))
        };
        write("executor.state", &state)?;
        write("progress.json", &serde_json::to_vec_pretty(&self.p).map_err(|e| e.to_string())?)?;
        self.last_save = Instant::now();
        crate::say(&format!("saved the state ({} MB) to {} in {:.0} s", state.len() >> 20, dir.display(), t.elapsed().as_secs_f64()));
        Ok(())
    }

    /// Saves; a failure (a full disk) costs only the resume point, so loading goes on.
    pub fn save_or_warn(&mut self) {
        if let Err(e) = self.save() {
            self.last_save = Instant::now();
            crate::say(&format!("could not save the state ({e}); going on without a new resume point"));
        }
    }

    /// Whether the deadline passed (the loaders then save and stop between chunks).
    pub fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Between two chunks: stop at the deadline (the caller saves), and save now and then.
    pub fn checkpoint(&mut self) -> Step {
        if self.out_of_time() {
            return Err(Paused);
        }
        if self.dir.is_some() && self.last_save.elapsed() >= SAVE_EVERY {
            self.save_or_warn();
        }
        Ok(())
    }

    pub fn ids(&self) -> Ids {
        self.p.ids.expect("the suite is deployed")
    }

    pub fn env(&mut self) -> &mut dyn Env {
        &mut self.env
    }

    pub fn ex(&mut self) -> &mut Executor {
        &mut self.env.ex
    }

    pub fn add_load_seconds(&mut self, loader: &str, seconds: u64) {
        match self.p.load_seconds.iter_mut().find(|(n, _)| n == loader) {
            Some((_, s)) => *s += seconds,
            None => self.p.load_seconds.push((loader.to_string(), seconds)),
        }
    }

    /// A typed update that must not be rejected.
    pub fn update<A: ArgumentEncoder, R: for<'a> ArgumentDecoder<'a>>(&mut self, canister: Principal, sender: Principal, method: &str, args: A) -> R {
        suite_tests::update(&mut self.env, canister, sender, method, args)
    }

    /// An update with the executor's instruction counts.
    pub fn update_stats(&mut self, canister: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> CallOutcome {
        self.env.ex.update_with_stats(canister, sender, method, arg)
    }

    pub fn query_stats(&mut self, canister: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> CallOutcome {
        self.env.ex.query_with_stats(canister, sender, method, arg)
    }
}
