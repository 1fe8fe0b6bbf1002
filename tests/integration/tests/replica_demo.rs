//! `scripts/demo.sh --replica` without a replica: `DfxEnv` drives a stand-in dfx that accepts
//! only the command forms dfx documents (raw Candid in and out, `--identity`, imported PEM keys,
//! install by canister id with `--wasm`) and carries them out on the executor, whose clock
//! follows this machine's as a local replica's does. The suite is installed with
//! deploy-local.sh's own arguments. What this cannot show is real dfx's behaviour; the
//! command forms come from dfx's reference (docs/cli-reference/dfx-canister.mdx).

use candid::{CandidType, Deserialize, Principal};
use interfaces::burn_ledger::Scope;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};
use suite_tests::actors::principal_of_pem;
use suite_tests::deploy_script::{install_like_deploy_script, CANISTERS};
use suite_tests::replica::{self, rollout_authorities, ROLLOUT_QUORUM};
use suite_tests::scenarios::subnet_registry as sr;
use suite_tests::*;

/// A dfx stand-in over the executor. Refuses any command form it does not know.
struct FakeDfx {
    env: ExecutorEnv,
    names: BTreeMap<String, Principal>,
    identities: BTreeMap<String, Principal>,
    /// Every command run, for the checks on what was sent.
    log: Vec<Vec<String>>,
}

#[derive(CandidType, Deserialize)]
struct ProvisionalCreate {
    amount: Option<candid::Nat>,
}

#[derive(CandidType)]
struct Created {
    canister_id: Principal,
}

/// A parsed command line: flags with values, bare flags, positionals.
#[derive(Default)]
struct Parsed {
    options: BTreeMap<String, String>,
    flags: Vec<String>,
    positional: Vec<String>,
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    const WITH_VALUE: [&str; 10] = ["--network", "--identity", "--type", "--output", "--wasm", "--argument-type", "--argument", "--mode", "--storage-mode", "--add-controller"];
    const BARE: [&str; 3] = ["--update", "--query", "--yes"];
    let mut p = Parsed::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            let v = it.next().ok_or(format!("{a} needs a value"))?;
            p.options.insert(a.clone(), v.clone());
        } else if BARE.contains(&a.as_str()) {
            p.flags.push(a.clone());
        } else if a.starts_with('-') {
            return Err(format!("error: unexpected argument '{a}' found"));
        } else {
            p.positional.push(a.clone());
        }
    }
    Ok(p)
}

fn wall_clock_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

impl FakeDfx {
    /// An executor whose clock has caught up with this machine's.
    fn fresh_executor() -> ExecutorEnv {
        let mut env = ExecutorEnv::new();
        sync_clock(&mut env);
        env
    }

    fn new(env: ExecutorEnv, ids: [Principal; 4]) -> Self {
        let names = CANISTERS.iter().map(|n| n.to_string()).zip(ids).collect();
        FakeDfx { env, names, identities: BTreeMap::new(), log: vec![] }
    }

    fn sender(&self, p: &Parsed) -> Result<Principal, String> {
        match p.options.get("--identity").map(String::as_str) {
            None => Ok(TEST_CONTROLLER),
            Some("anonymous") => Ok(Principal::anonymous()),
            Some(name) => self.identities.get(name).copied().ok_or(format!("Error: Identity {name} does not exist")),
        }
    }

    fn expect(p: &Parsed, option: &str, value: &str) -> Result<(), String> {
        match p.options.get(option) {
            Some(v) if v == value => Ok(()),
            other => Err(format!("{option} must be {value}, got {other:?}")),
        }
    }

    fn call(&mut self, p: &Parsed) -> Result<String, String> {
        Self::expect(p, "--network", "local")?;
        Self::expect(p, "--type", "raw")?;
        Self::expect(p, "--output", "raw")?;
        let [id, method, arg] = p.positional.as_slice() else { return Err(format!("call takes canister, method, argument: {:?}", p.positional)) };
        let arg = hex::decode(arg).map_err(|_| "Argument is not a valid hex string".to_string())?;
        let sender = self.sender(p)?;
        let id = Principal::from_text(id).map_err(|e| e.to_string())?;
        if id == Principal::management_canister() {
            if method != "provisional_create_canister_with_cycles" {
                return Err(format!("the demo calls no other management method: {method}"));
            }
            let _: ProvisionalCreate = candid::decode_one(&arg).map_err(|e| e.to_string())?;
            let canister_id = self.env.create_canister();
            return Ok(hex::encode(candid::encode_one(Created { canister_id }).unwrap()) + "\n");
        }
        let reply = match (p.flags.contains(&"--update".to_string()), p.flags.contains(&"--query".to_string())) {
            (true, false) => self.env.update_raw(id, sender, method, arg),
            (false, true) => self.env.query_raw(id, sender, method, arg),
            _ => return Err("exactly one of --update, --query".into()),
        };
        reply.map(|bytes| hex::encode(bytes) + "\n").map_err(|r| {
            format!(
                "Error: Failed call.\nCaused by: The replica returned a rejection error: reject code {:?}, reject message {}, error code {:?}",
                r.code, r.message, Some(r.error_code)
            )
        })
    }

    fn install(&mut self, p: &Parsed) -> Result<String, String> {
        Self::expect(p, "--network", "local")?;
        Self::expect(p, "--argument-type", "raw")?;
        let [id] = p.positional.as_slice() else { return Err("install takes one canister".into()) };
        let id = Principal::from_text(id).map_err(|_| "When installing a canister by its ID, you must specify `--wasm` option.".to_string())?;
        let wasm = std::fs::read(p.options.get("--wasm").ok_or("--wasm is required")?).map_err(|e| e.to_string())?;
        let arg = hex::decode(p.options.get("--argument").ok_or("--argument is required")?).map_err(|e| e.to_string())?;
        if !p.flags.contains(&"--yes".to_string()) {
            return Err("would wait for a 'yes' on stdin".into());
        }
        let result = match p.options.get("--mode").map(String::as_str) {
            Some("install") => self.env.install(id, &wasm, arg),
            Some("reinstall") => self.env.reinstall(id, &wasm, arg),
            Some("upgrade") => self.env.upgrade(id, &wasm, arg),
            other => return Err(format!("--mode {other:?}")),
        };
        result.map(|()| String::new()).map_err(|r| r.to_string())
    }

    fn add_controller(&mut self, p: &Parsed) -> Result<String, String> {
        Self::expect(p, "--network", "local")?;
        let [id] = p.positional.as_slice() else { return Err("update-settings takes one canister".into()) };
        let id = Principal::from_text(id).map_err(|e| e.to_string())?;
        let added = Principal::from_text(p.options.get("--add-controller").ok_or("only --add-controller is used by the demo")?).map_err(|e| e.to_string())?;
        self.env.add_controller(id, added).map(|()| String::new()).map_err(|r| r.to_string())
    }

    fn import(&mut self, p: &Parsed) -> Result<String, String> {
        Self::expect(p, "--storage-mode", "plaintext")?;
        let [name, file] = p.positional.as_slice() else { return Err("import takes a name and a PEM file".into()) };
        if self.identities.contains_key(name) {
            return Err(format!("Error: Identity already exists: {name}"));
        }
        let pem = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        let principal = principal_of_pem(&pem).ok_or("not an Ed25519 PKCS#8 v2 key")?;
        self.identities.insert(name.clone(), principal);
        Ok(String::new())
    }
}

/// A local replica's clock follows the machine's, and it runs due timers by itself.
fn sync_clock(env: &mut ExecutorEnv) {
    let behind = wall_clock_ns().saturating_sub(env.now_ns());
    env.advance_time(std::time::Duration::from_nanos(behind));
    env.tick();
}

impl DfxCli for FakeDfx {
    fn run(&mut self, args: &[String]) -> Result<String, String> {
        self.log.push(args.to_vec());
        sync_clock(&mut self.env);
        let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
        let p = parse(&args[2.min(args.len())..])?;
        match words.as_slice() {
            ["identity", "get-principal"] => Ok(format!("{TEST_CONTROLLER}\n")),
            ["identity", "list"] => Ok(["anonymous", "default"].into_iter().chain(self.identities.keys().map(String::as_str)).map(|n| format!("{n}\n")).collect()),
            ["identity", "import"] => self.import(&p),
            ["canister", "id"] => {
                Self::expect(&p, "--network", "local")?;
                let name = p.positional.first().ok_or("canister id takes a name")?;
                self.names.get(name).map(|id| format!("{id}\n")).ok_or(format!("Cannot find canister id. Please issue 'dfx canister create {name}'."))
            }
            ["canister", "call"] => self.call(&p),
            ["canister", "install"] => self.install(&p),
            ["canister", "update-settings"] => self.add_controller(&p),
            _ => Err(format!("the stand-in knows no `dfx {}`", args.join(" "))),
        }
    }
}

/// A suite installed as deploy-local.sh installs it, given the rollout's authorities.
fn deployed(authorities: &[Principal], quorum: u32) -> FakeDfx {
    let mut env = FakeDfx::fresh_executor();
    let mut all = vec![TEST_CONTROLLER];
    all.extend_from_slice(authorities);
    let ids = install_like_deploy_script(&mut env, &all, quorum);
    FakeDfx::new(env, ids)
}

#[test]
fn the_rollout_runs_through_dfx_commands_on_the_deployed_suite() {
    let fake = deployed(&rollout_authorities(), ROLLOUT_QUORUM);
    let mut env = DfxEnv::new(fake, "local").expect("dfx answers");
    let mut steps = vec![];
    let run = replica::run_on_deployed_suite(&mut env, &mut |s| steps.push(s.to_string())).expect("the rollout runs");
    let rollout = run.rollout.expect("a fresh deployment gets the rollout");
    assert!(steps.iter().any(|s| s.contains("13 app canisters reported")), "{steps:#?}");

    // The report, from the canisters, through dfx.
    let r = &run.report;
    assert!(r.subnet.compliant && r.subnet.members == 13, "{:?}", r.subnet);
    assert_eq!(r.licensing.apps_live, 13);
    assert_eq!(r.messenger.messages_sent, rollout.messaging.sent.len() as u64);
    let app_total: u128 = rollout.app_usage.iter().map(|(_, c)| c).sum();
    let on_subnet = r.burn.per_subnet.iter().find(|l| l.scope == Scope::Subnet(sr::PAKISTAN_SUBNET)).expect("subnet line");
    assert_eq!(on_subnet.amounts.cycles, app_total, "each app canister's own report reached the ledger and its subnet");
    assert_eq!(r.burn.pending_attribution, 0);

    // The commands: actors imported once each, the apps created and installed through dfx.
    let log = &env_log(env);
    let imports: Vec<&String> = log.iter().filter(|c| c[..2] == ["identity", "import"]).map(|c| &c[4]).collect();
    let mut unique = imports.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(imports.len(), unique.len(), "an identity was imported twice");
    assert!(imports.iter().all(|n| n.starts_with(IDENTITY_PREFIX)));
    assert!(imports.len() >= rollout_authorities().len() + 20, "authorities, managers, builders, ministry, citizens: {}", imports.len());
    let creates = log.iter().filter(|c| c.iter().any(|a| a == "provisional_create_canister_with_cycles")).count();
    let installs = log.iter().filter(|c| c[..2] == ["canister", "install"]).count();
    assert_eq!((creates, installs), (13, 13));
}

fn env_log(env: DfxEnv<FakeDfx>) -> Vec<Vec<String>> {
    env.into_cli().log
}

#[test]
fn a_second_run_shows_the_report_without_repeating_the_rollout() {
    let fake = deployed(&rollout_authorities(), ROLLOUT_QUORUM);
    let mut env = DfxEnv::new(fake, "local").unwrap();
    let first = replica::run_on_deployed_suite(&mut env, &mut |_| {}).unwrap();
    let mut steps = vec![];
    let second = replica::run_on_deployed_suite(&mut env, &mut |s| steps.push(s.to_string())).unwrap();
    assert!(second.rollout.is_none(), "the rollout ran twice");
    assert!(steps.iter().any(|s| s.contains("already ran")), "{steps:?}");
    assert_eq!(second.report.licensing.apps_live, first.report.licensing.apps_live);
    assert_eq!(second.report.burn.suite.cycles, first.report.burn.suite.cycles);
}

#[test]
fn a_suite_without_the_rollout_authorities_gets_the_deploy_command() {
    let fake = deployed(&[], 1);
    let mut env = DfxEnv::new(fake, "local").unwrap();
    let err = replica::run_on_deployed_suite(&mut env, &mut |_| {}).err().expect("refused");
    assert!(err.contains(&format!("scripts/deploy-local.sh --quorum {ROLLOUT_QUORUM}")), "{err}");
    for p in rollout_authorities() {
        assert!(err.contains(&p.to_text()), "{err} lacks {p}");
    }
    // Nothing was done on the suite.
    let log = env_log(env);
    assert!(!log.iter().any(|c| c[..2] == ["canister", "install"] || c.iter().any(|a| a == "--update")), "{log:?}");
}

#[test]
fn a_reject_from_the_replica_keeps_its_code() {
    let fake = deployed(&rollout_authorities(), ROLLOUT_QUORUM);
    let mut env = DfxEnv::new(fake, "local").unwrap();
    let suite = replica::deployed_suite(&mut env).unwrap();
    let r = env.update_raw(suite.registry, Principal::anonymous(), "no_such_method", candid::encode_args(()).unwrap()).unwrap_err();
    // A missing method is a canister error on the replica (IC0536, CanisterMethodNotFound), and
    // the executor behind the stand-in dfx answers the same.
    assert_eq!(r.code, RejectCode::CanisterError, "{r}");
    assert!(r.message.contains("no_such_method") && r.message.contains("CanisterMethodNotFound"), "{r}");
}
