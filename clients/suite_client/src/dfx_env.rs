//! [`Env`] on a real replica, through the dfx command line: `scripts/demo.sh --replica` runs
//! the rollout with it against the suite `scripts/deploy-local.sh` deployed.
//!
//! Every request is one dfx command with raw Candid in and out (`--type raw --output raw`),
//! sent as the scenario actor that makes it: each actor's key (see [`crate::actors`]) is imported
//! once as the dfx identity `suite-demo-<actor>`. A replica's clock is real, so `advance_time`
//! and `tick` cannot move it; fault injection and certified data are not available here.
//!
//! The commands go through [`DfxCli`], so the tests can check them against a stand-in dfx.

use crate::actors::actor_of;
use crate::env::{Env, Reject, Unsupported};
use candid::{CandidType, Deserialize, Principal};
use ic_executor::RejectCode;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Runs one dfx command.
pub trait DfxCli {
    /// `dfx <args>`: its stdout when it exits 0, else its stderr (or why it could not run).
    fn run(&mut self, args: &[String]) -> Result<String, String>;
}

/// The real `dfx` on the PATH.
pub struct DfxCommand;

impl DfxCli for DfxCommand {
    fn run(&mut self, args: &[String]) -> Result<String, String> {
        let out = std::process::Command::new("dfx").args(args).output().map_err(|e| format!("running dfx: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// Cycles each canister the demo creates starts with (the replica's provisional API).
pub const NEW_CANISTER_CYCLES: u128 = 100_000_000_000_000;
/// Prefix of the dfx identities the demo imports for its actors.
pub const IDENTITY_PREFIX: &str = "suite-demo-";

pub struct DfxEnv<C: DfxCli> {
    cli: C,
    network: String,
    /// The current dfx identity's principal: controller of what the demo creates.
    controller: Principal,
    identities: BTreeSet<String>,
    /// Where wasm and PEM files are written for dfx to read.
    workdir: PathBuf,
}

impl<C: DfxCli> DfxEnv<C> {
    /// Connects to `network`; fails with dfx's message when dfx cannot list identities.
    pub fn new(mut cli: C, network: &str) -> Result<Self, String> {
        let controller = cli.run(&strings(&["identity", "get-principal"]))?;
        let controller = Principal::from_text(controller.trim()).map_err(|e| format!("dfx identity get-principal: {e}"))?;
        let identities = cli.run(&strings(&["identity", "list"]))?.lines().map(|l| l.trim().trim_end_matches(" *").to_string()).collect();
        let workdir = std::env::temp_dir().join(format!("sovereign-suite-dfx-{}", std::process::id()));
        std::fs::create_dir_all(&workdir).map_err(|e| format!("creating {}: {e}", workdir.display()))?;
        Ok(DfxEnv { cli, network: network.to_string(), controller, identities, workdir })
    }

    /// The command runner back (the tests read what was run).
    pub fn into_cli(self) -> C {
        self.cli
    }

    /// The principal of the dfx identity in use (an authority after `deploy-local.sh`).
    pub fn controller(&self) -> Principal {
        self.controller
    }

    /// A canister id by its dfx.json name, as `dfx canister id` gives it.
    pub fn canister_id(&mut self, name: &str) -> Result<Principal, String> {
        let id = self.cli.run(&strings(&["canister", "id", name, "--network", &self.network]))?;
        Principal::from_text(id.trim()).map_err(|e| format!("dfx canister id {name}: {e}"))
    }

    /// `--identity <name>` for `sender`: none for the current identity, `anonymous`, or the
    /// actor's imported identity.
    fn identity_args(&mut self, sender: Principal) -> Result<Vec<String>, Reject> {
        if sender == self.controller {
            return Ok(vec![]);
        }
        if sender == Principal::anonymous() {
            return Ok(strings(&["--identity", "anonymous"]));
        }
        let actor = actor_of(sender).ok_or_else(|| local_error(format!("no key for sender {sender}: not a scenario actor")))?;
        let name = format!("{IDENTITY_PREFIX}{}", actor.name);
        if !self.identities.contains(&name) {
            let pem = self.workdir.join(format!("{name}.pem"));
            std::fs::write(&pem, actor.pkcs8_pem()).map_err(|e| local_error(format!("writing {}: {e}", pem.display())))?;
            let path = pem.to_string_lossy().into_owned();
            let imported = self.cli.run(&strings(&["identity", "import", "--storage-mode", "plaintext", &name, &path]));
            let _ = std::fs::remove_file(&pem);
            imported.map_err(local_error)?;
            self.identities.insert(name.clone());
        }
        Ok(vec!["--identity".into(), name])
    }

    fn call(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>, kind: &str) -> Result<Vec<u8>, Reject> {
        let mut args = strings(&["canister", "call", "--network", &self.network]);
        args.extend(self.identity_args(sender)?);
        args.extend(strings(&[kind, "--type", "raw", "--output", "raw", &id.to_text(), method, &hex::encode(arg)]));
        let out = self.cli.run(&args).map_err(reject_from_dfx)?;
        hex::decode(out.trim()).map_err(|e| local_error(format!("dfx printed no raw reply for {id}.{method} ({e}): {out}")))
    }

    fn install_mode(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>, mode: &str) -> Result<(), Reject> {
        let file = self.workdir.join(format!("{id}.wasm"));
        std::fs::write(&file, wasm).map_err(|e| local_error(format!("writing {}: {e}", file.display())))?;
        let path = file.to_string_lossy().into_owned();
        let args = strings(&[
            "canister", "install", "--network", &self.network, &id.to_text(), "--wasm", &path, "--argument-type", "raw",
            "--argument", &hex::encode(arg), "--mode", mode, "--yes",
        ]);
        let installed = self.cli.run(&args);
        let _ = std::fs::remove_file(&file);
        installed.map(drop).map_err(reject_from_dfx)
    }

    fn lifecycle(&mut self, command: &str, id: Principal) -> Result<(), Reject> {
        self.cli.run(&strings(&["canister", command, "--network", &self.network, &id.to_text()])).map(drop).map_err(reject_from_dfx)
    }
}

fn strings(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// A failure on this side (a file, a missing key): no reply from the replica.
fn local_error(message: String) -> Reject {
    Reject { code: RejectCode::SysFatal, message, error_code: String::new() }
}

/// dfx's error text as a reject: the agent's message names the reject code ("reject code
/// CanisterReject, reject message ..., error code Some(\"IC0406\")"); other text (a dfx error
/// of its own) counts as a canister error with the whole text as the message.
fn reject_from_dfx(stderr: String) -> Reject {
    let code = stderr
        .find("reject code ")
        .map(|at| stderr[at + "reject code ".len()..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>())
        .map_or(RejectCode::CanisterError, |name| reject_code(&name));
    let error_code = stderr
        .find("IC0")
        .map(|at| stderr[at..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect())
        .unwrap_or_default();
    Reject { code, message: stderr.trim().to_string(), error_code }
}

/// The reject code the agent names (`CanisterReject`) or numbers; unknown text: CanisterError.
fn reject_code(name: &str) -> RejectCode {
    (1..=6)
        .filter_map(RejectCode::from_u32)
        .find(|c| format!("{c:?}") == name)
        .or_else(|| name.parse().ok().and_then(RejectCode::from_u32))
        .unwrap_or(RejectCode::CanisterError)
}

/// The principals on the "Controllers:" line of `dfx canister info`.
fn parse_controllers(info: &str) -> Result<Vec<Principal>, String> {
    let line = info.lines().find_map(|l| l.trim().strip_prefix("Controllers:")).ok_or("no \"Controllers:\" line")?;
    line.split_whitespace().map(|p| Principal::from_text(p).map_err(|e| format!("controller {p:?}: {e}"))).collect()
}

#[derive(CandidType)]
struct ProvisionalCreateArgs {
    amount: Option<candid::Nat>,
    settings: Option<()>,
}

#[derive(CandidType, Deserialize)]
struct CreatedCanister {
    canister_id: Principal,
}

impl<C: DfxCli> Env for DfxEnv<C> {
    fn backend(&self) -> &'static str {
        "dfx"
    }

    /// A new canister from the replica's provisional API (local replicas only), controlled by
    /// the current dfx identity.
    fn create_canister(&mut self) -> Principal {
        let arg = candid::encode_one(ProvisionalCreateArgs { amount: Some(NEW_CANISTER_CYCLES.into()), settings: None })
            .expect("encode provisional_create_canister_with_cycles");
        let controller = self.controller;
        let reply = self
            .update_raw(Principal::management_canister(), controller, "provisional_create_canister_with_cycles", arg)
            .unwrap_or_else(|r| panic!("[dfx] creating a canister: {r}"));
        let created: CreatedCanister = candid::decode_one(&reply).unwrap_or_else(|e| panic!("[dfx] decoding the new canister id: {e}"));
        created.canister_id
    }

    fn create_canister_with_env(&mut self, _env_vars: Vec<(String, String)>) -> Principal {
        panic!("[dfx] canister environment variables are set in dfx.json, not by the demo")
    }

    fn install(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        self.install_mode(id, wasm, arg, "install")
    }

    fn reinstall(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        self.install_mode(id, wasm, arg, "reinstall")
    }

    fn upgrade(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        self.install_mode(id, wasm, arg, "upgrade")
    }

    fn update_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        self.call(id, sender, method, arg, "--update")
    }

    fn query_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        self.call(id, sender, method, arg, "--query")
    }

    /// The replica's clock is real: nothing to advance.
    fn advance_time(&mut self, _d: Duration) {}

    /// The replica runs timers and messages by itself.
    fn tick(&mut self) {}

    fn stop_canister(&mut self, id: Principal) -> Result<(), Reject> {
        self.lifecycle("stop", id)
    }

    fn start_canister(&mut self, id: Principal) -> Result<(), Reject> {
        self.lifecycle("start", id)
    }

    /// This machine's clock, which a local replica follows.
    fn now_ns(&mut self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    }

    /// `dfx canister update-settings <id> --add-controller <p>`, as the current identity (which
    /// created the canister, so controls it).
    fn add_controller(&mut self, id: Principal, controller: Principal) -> Result<(), Reject> {
        let args = strings(&["canister", "update-settings", "--network", &self.network, &id.to_text(), "--add-controller", &controller.to_text()]);
        self.cli.run(&args).map(drop).map_err(reject_from_dfx)
    }

    /// `dfx canister info <id>` (read from the IC's state tree, any canister): its
    /// "Controllers:" line.
    fn controllers(&mut self, id: Principal) -> Result<Vec<Principal>, Reject> {
        let out = self.cli.run(&strings(&["canister", "info", "--network", &self.network, &id.to_text()])).map_err(reject_from_dfx)?;
        parse_controllers(&out).map_err(|e| local_error(format!("dfx canister info {id}: {e}")))
    }

    fn cycle_balance(&mut self, id: Principal) -> u128 {
        panic!("[dfx] cycle balances: use `dfx canister status {id}`")
    }

    fn inject_fault(&mut self, _canister: Principal, _method: &str, _fault: ic_executor::Fault) -> Result<(), Unsupported> {
        Err(Unsupported { backend: "dfx", what: "fault injection" })
    }

    fn clear_faults(&mut self) {}

    fn certified_data(&mut self, _id: Principal) -> Result<Vec<u8>, Unsupported> {
        Err(Unsupported { backend: "dfx", what: "reading certified data" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controllers_are_read_from_canister_info() {
        let info = "Controllers: 2vxsx-fae aaaaa-aa\nModule hash: 0x00\n";
        assert_eq!(parse_controllers(info).unwrap(), vec![Principal::anonymous(), Principal::management_canister()]);
        assert_eq!(parse_controllers("Controllers: \nModule hash: None").unwrap(), vec![]);
        assert!(parse_controllers("Module hash: None").is_err());
        assert!(parse_controllers("Controllers: not-a-principal").is_err());
    }

    #[test]
    fn dfx_errors_keep_their_codes() {
        let r = reject_from_dfx("Error: Failed update call.\nCaused by: The replica returned a rejection error: reject code CanisterReject, reject message nope, error code Some(\"IC0406\")".into());
        assert_eq!((r.code, r.error_code.as_str()), (RejectCode::CanisterReject, "IC0406"));
        let r = reject_from_dfx("Caused by: The replica returned a rejection error: reject code CanisterError, reject message Canister trapped, error code None".into());
        assert_eq!((r.code, r.error_code.as_str()), (RejectCode::CanisterError, ""));
        let r = reject_from_dfx("something else went wrong".into());
        assert_eq!((r.code, r.error_code.as_str()), (RejectCode::CanisterError, ""));
    }
}
