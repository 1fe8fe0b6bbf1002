//! The stages: deploy; load to the reference state and measure it; load to the scale; measure.
//! With a state directory the executor state is saved after each stage that did work (and when
//! the deadline stops a stage), and the next run resumes from it.

use crate::bench::{Bench, Paused, Step};
use crate::figures::Figures;
use crate::scale::Scale;
use crate::{load, queries, report, say, updates, upkeep};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Options {
    pub scale: Scale,
    pub state_dir: Option<PathBuf>,
    /// Where the suite's `<canister>.wasm.gz` come from (default `out/`). With a state
    /// directory they are copied into it at the first run, so every later stage (upgrades
    /// included) runs exactly the wasm the load started with.
    pub wasm_dir: Option<PathBuf>,
    /// Stop loading after this long (saving the state); the next run resumes.
    pub max_minutes: Option<u64>,
}

pub enum Outcome {
    /// Stopped at the deadline; run the same command again to continue.
    Paused,
    Done(report::Summary),
}

fn counts(b: &Bench) -> Vec<(String, u64)> {
    let p = &b.p;
    vec![
        ("messaging users".into(), p.users + 1),
        ("conversations".into(), p.conversations.len() as u64),
        ("messages".into(), p.messages),
        ("licenses".into(), p.licenses.len() as u64),
        ("apps".into(), p.apps.len() as u64),
        ("usage reports".into(), p.reports),
        ("subnets".into(), p.subnets.len() as u64),
    ]
}

/// Loads every canister to `target`, saving after it when anything was loaded.
fn load(b: &mut Bench, target: &Scale) -> Step {
    let before = serde_json::to_string(&b.p).unwrap_or_default();
    let r = load::load_to(b, target);
    if serde_json::to_string(&b.p).unwrap_or_default() != before {
        b.save_or_warn();
    }
    r
}

/// The wasm to run: the state directory's copy (made at the first run), or `--wasm-dir`/`out/`.
fn wasm_dir(o: &Options) -> Result<PathBuf, String> {
    let source = o.wasm_dir.clone().unwrap_or_else(|| suite_tests::workspace_root().join("out"));
    let Some(state) = &o.state_dir else { return Ok(source) };
    let copy = state.join("wasm");
    if !copy.exists() {
        let tmp = state.join("wasm.tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        for name in crate::CANISTERS {
            let from = source.join(format!("{name}.wasm.gz"));
            std::fs::copy(&from, tmp.join(format!("{name}.wasm.gz"))).map_err(|e| format!("{}: {e} (run `bash scripts/build.sh`)", from.display()))?;
        }
        std::fs::write(tmp.join(crate::BASELINE_WASM), load::baseline_wasm_bytes(&source)).map_err(|e| e.to_string())?;
        std::fs::write(tmp.join("COMMIT"), crate::wasm_commit(&source)).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &copy).map_err(|e| e.to_string())?;
    }
    Ok(copy)
}

pub fn run(o: Options) -> Result<Outcome, String> {
    o.scale.check()?;
    let dir = wasm_dir(&o)?;
    say(&format!("wasm from {}: {}", dir.display(), crate::wasm_digests(&dir).join(", ")));
    suite_tests::with_wasm_dir(dir.clone(), || run_with(o, dir))
}

fn run_with(o: Options, wasm_dir: PathBuf) -> Result<Outcome, String> {
    let deadline = o.max_minutes.map(|m| Instant::now() + Duration::from_secs(m * 60));
    let resumed = match &o.state_dir {
        Some(dir) => Bench::resume(dir, deadline)?,
        None => None,
    };
    let mut b = match resumed {
        Some(b) => {
            let saved = b.p.scale.as_ref().map(|s| s.name.clone()).unwrap_or_default();
            if saved != o.scale.name {
                return Err(format!("the state directory holds scale {saved}, not {}: use another directory", o.scale.name));
            }
            say(&format!("resuming scale {} from {}", o.scale.name, o.state_dir.as_ref().unwrap().display()));
            b
        }
        None => Bench::new(o.state_dir.clone(), deadline),
    };
    b.wasm_dir = wasm_dir.clone();
    b.p.scale = Some(o.scale.clone());
    if b.p.ids.is_none() {
        b.p.commit = crate::harness_commit();
        b.p.date = crate::today();
        say("stage deploy: the four suite canisters (their release wasm), the baseline, policy, institutions, programs");
        load::deploy(&mut b);
        b.save_or_warn();
    }
    if b.p.reference.is_none() {
        say("stage reference: loading about 1,000 records per canister");
        if let Err(Paused) = load(&mut b, &Scale::reference()) {
            return Ok(Outcome::Paused);
        }
        say("stage reference: measuring queries and upgrades");
        let reference = Figures { queries: queries::measure(&mut b), upgrades: upkeep::upgrades(&mut b), counts: counts(&b), ..Figures::default() };
        b.p.reference = Some(reference);
        b.save_or_warn();
    }
    say(&format!("stage load: loading to scale {}", o.scale.name));
    if let Err(Paused) = load(&mut b, &o.scale) {
        return Ok(Outcome::Paused);
    }
    say("stage measure: queries, storage, hot updates and baselines, upgrades, retention sweep (not saved)");
    let mut at_scale = Figures { counts: counts(&b), ..Figures::default() };
    at_scale.queries = queries::measure(&mut b);
    at_scale.storage = Some(upkeep::storage(&mut b));
    at_scale.updates = updates::measure(&mut b);
    at_scale.upgrades = upkeep::upgrades(&mut b);
    at_scale.sweep = Some(upkeep::sweep(&mut b));

    let reference = b.p.reference.clone().unwrap_or_default();
    let input = report::Input {
        scale: &o.scale.name,
        date: format!("loaded from {}, measured {}", b.p.date, crate::today()),
        commit: format!(
            "wasm built from {} (SHA-256 of .wasm.gz: {}); loaded with the benchmark at {}, measured with it at {}",
            crate::wasm_commit(&wasm_dir),
            crate::wasm_digests(&wasm_dir).join(", "),
            b.p.commit,
            crate::harness_commit()
        ),
        reference: &reference,
        at_scale: &at_scale,
        wasm_gz: crate::wasm_sizes(&wasm_dir),
        load_seconds: &b.p.load_seconds,
        rate_limited: b.p.rate_limited,
    };
    let (text, summary, capacity) = report::render(&input);
    if let Some(dir) = &o.state_dir {
        let json = serde_json::json!({ "scale": o.scale, "reference": reference, "at_scale": at_scale, "capacity": capacity });
        std::fs::write(dir.join("figures.json"), serde_json::to_vec_pretty(&json).unwrap()).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("report.md"), &text).map_err(|e| e.to_string())?;
    }
    println!("{text}");
    say(&format!(
        "worst update: {} ({:.2}); worst query: {} ({}); worst upgrade: {} ({:.2})",
        summary.worst_update, summary.worst_update_ratio, summary.worst_query_label, summary.worst_query, summary.upgrade_canister, summary.upgrade_ratio
    ));
    Ok(Outcome::Done(summary))
}
