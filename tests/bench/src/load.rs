//! Loading the suite to a scale through its public endpoints, in chunks: the deployment, the
//! registry's nodes and subnets, licenses and apps, messaging users, conversations and messages,
//! and usage reports. Each loader moves a counter of `Progress` towards its target and stops
//! between chunks when the deadline has passed.

use crate::bench::{Bench, Ids, Step};
use crate::ids;
use crate::scale::{Scale, HOT_SHARE, PROBE_DIRECTS, PROBE_GROUPS, USERS_PER_CONVERSATION};
use candid::Principal;
use interfaces::burn_ledger::{BurnError, ReportReceipt};
use interfaces::license_issuer as lic;
use interfaces::messaging::{CreateGroupArgs, Envelope, MessagingError, RegisterArgs, SendReceipt, UserView, WrappedKey};
use interfaces::subnet_registry::{
    CostSchedule, CreateSubnetArgs, DataCentre, DataCentreInput, Node, NodeInput, NodeProvider, NodeProviderInput, ProposalChange,
    ProposalState, RegistryError, SubnetStatus, SubnetType, TopologyPolicy,
};
use std::time::{Duration, Instant};
use suite_tests::scenarios::{burn_ledger as bl, license_issuer as li, subnet_registry as sr};

/// Operations per chunk: the deadline is checked between chunks.
const CHUNK: u64 = 500;
/// Programs the licenses are spread over (their quotas add up to the seat cap).
pub const PROGRAMS: u64 = 10;
const INSTITUTIONS: u64 = 5;
/// Apps a license may hold (the apps of a scale spread over its licenses).
const MAX_APPS_PER_LICENSE: u32 = 10;
/// Plaintext of a loaded message: a short text (ChaCha20-Poly1305 adds a 16-byte tag).
pub const PLAINTEXT_BYTES: usize = 100;
const TAG_BYTES: usize = 16;
/// A wrapped content key: 32 bytes plus the tag.
const WRAPPED_KEY_BYTES: usize = 48;

/// The baseline canister's wasm: `<dir>/bench_baseline.wasm` if there is one, else
/// `BENCH_BASELINE_WASM`, else the cargo output.
pub fn baseline_wasm_bytes(dir: &std::path::Path) -> Vec<u8> {
    let copy = dir.join(crate::BASELINE_WASM);
    if copy.exists() {
        return std::fs::read(&copy).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
    }
    let path = std::env::var_os("BENCH_BASELINE_WASM").map_or_else(
        || suite_tests::workspace_root().join("target/wasm32-unknown-unknown/release/bench_baseline.wasm"),
        std::path::PathBuf::from,
    );
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "baseline wasm {} not readable ({e}): run `cargo build --locked --release --target wasm32-unknown-unknown -p bench_baseline`",
            path.display()
        )
    })
}

/// Runs `f`, adds its wall time to the loader's total, and prints what it did.
fn timed(b: &mut Bench, loader: &str, f: impl FnOnce(&mut Bench) -> Step) -> Step {
    let t = Instant::now();
    let r = f(b);
    b.add_load_seconds(loader, t.elapsed().as_secs());
    r
}

/// The four canisters (wired as the rollout wires them) and the baseline; the ICP/XDR rate;
/// the license policy, institutions and programs; the probe user.
pub fn deploy(b: &mut Bench) {
    let suite = suite_tests::rollout::deploy_suite(b.env());
    let wasm = baseline_wasm_bytes(&b.wasm_dir.clone());
    let baseline = suite_tests::deploy(b.env(), &wasm, ());
    b.p.ids = Some(Ids { registry: suite.registry, issuer: suite.issuer, messaging: suite.messaging, ledger: suite.ledger, baseline });
    bl::set_rate(b.env(), suite.ledger, bl::XDR_PERMYRIAD_PER_ICP);

    let policy = li::create_policy(b.env(), suite.issuer, "Bench builder, 1 year", 365, MAX_APPS_PER_LICENSE);
    b.p.policy_id = policy.id;
    let sectors = [lic::Sector::Government, lic::Sector::Education, lic::Sector::Startup, lic::Sector::Education, lic::Sector::Government];
    let institutions: Vec<u64> = (0..INSTITUTIONS)
        .map(|i| li::create_institution(b.env(), suite.issuer, &format!("Institution {i}"), sectors[i as usize]).id)
        .collect();
    let quota = suite_tests::rollout::SEAT_CAP / PROGRAMS as u32;
    for p in 0..PROGRAMS {
        let inst = institutions[(p % INSTITUTIONS) as usize];
        let program = li::create_program(b.env(), suite.issuer, inst, &format!("Program {p}"), quota, policy.id, ids::manager(p));
        b.p.programs.push(program.id);
    }
    let probe = RegisterArgs { handle: ids::PROBE_HANDLE.into(), display_name: "Probe".into(), public_key: ids::x25519_public("probe-key") };
    let r: (Result<UserView, MessagingError>,) = b.update(suite.messaging, ids::probe(), "register", (probe,));
    r.0.unwrap_or_else(|e| panic!("registering the probe user: {e:?}"));
    b.p.probe_registered = true;
}

/// Loads every canister up to `target`.
pub fn load_to(b: &mut Bench, target: &Scale) -> Step {
    timed(b, "registry nodes and subnets", |b| subnets_to(b, target))?;
    timed(b, "licenses", |b| licenses_to(b, target.licenses))?;
    timed(b, "apps", |b| apps_to(b, target.apps))?;
    timed(b, "messaging users", |b| users_to(b, target.users))?;
    timed(b, "conversations", |b| conversations_to(b, target.conversations))?;
    timed(b, "messages", |b| messages_to(b, target.messages))?;
    timed(b, "usage reports", |b| reports_to(b, target.reports))
}

fn progress(b: &Bench, what: &str, done: u64, total: u64) {
    crate::say(&format!("  {what}: {done} / {total} ({:.0} s)", b.started.elapsed().as_secs_f64()));
}

// ---------------------------------------------------------------- registry

fn node(n: u64) -> Principal {
    Principal::from_slice(&[0xbe, 0x0d, (n >> 8) as u8, n as u8])
}

fn provider(n: u64) -> Principal {
    Principal::from_slice(&[0xbe, 0x9e, (n >> 8) as u8, n as u8])
}

pub fn subnet_id(s: u64) -> Principal {
    Principal::from_slice(&[0xbe, 0x5b, s as u8])
}

/// Subnet `s`: its own data centres, providers and SEV nodes, created by a proposal of 2 of 3
/// authorities, provisioned and live.
fn subnets_to(b: &mut Bench, target: &Scale) -> Step {
    let registry = b.ids().registry;
    let per = target.nodes_per_subnet();
    let by = sr::authorities()[0];
    while (b.p.subnets.len() as u64) < target.subnets {
        let s = b.p.subnets.len() as u64;
        let members: Vec<Principal> = (s * per..(s + 1) * per).map(node).collect();
        for n in s * per..(s + 1) * per {
            let dc = DataCentreInput {
                id: format!("dc{n:03}"),
                region: format!("Asia,PK,City{n:03}"),
                country: "PK".into(),
                owner: format!("Owner {n:03}"),
                gps: None,
            };
            let r: (Result<DataCentre, RegistryError>,) = b.update(registry, by, "add_data_centre", (dc,));
            r.0.unwrap_or_else(|e| panic!("add_data_centre {n}: {e:?}"));
            let p = NodeProviderInput { id: provider(n), name: format!("Provider {n:03}"), country: "PK".into() };
            let r: (Result<NodeProvider, RegistryError>,) = b.update(registry, by, "add_node_provider", (p,));
            r.0.unwrap_or_else(|e| panic!("add_node_provider {n}: {e:?}"));
            let input = NodeInput { id: node(n), provider: provider(n), data_centre: format!("dc{n:03}"), sev_chip_id: Some(format!("sev-{n:04}")) };
            let r: (Result<Node, RegistryError>,) = b.update(registry, by, "add_node", (input,));
            r.0.unwrap_or_else(|e| panic!("add_node {n}: {e:?}"));
        }
        let create = CreateSubnetArgs {
            subnet_id: subnet_id(s),
            name: format!("Bench subnet {s}"),
            subnet_type: SubnetType::CloudEngine,
            jurisdiction: "PK".into(),
            members,
            policy: TopologyPolicy { min_nodes: per as u32, max_nodes: per as u32, ..TopologyPolicy::sovereign() },
            admins: vec![by],
            cost_schedule: CostSchedule::Normal,
        };
        let p = sr::pass(b.env(), registry, ProposalChange::CreateSubnet(create));
        assert_eq!(p.state, ProposalState::Executed, "creating subnet {s}: {:?}", p.execution_error);
        sr::set_status(b.env(), registry, subnet_id(s), SubnetStatus::Provisioning);
        sr::set_status(b.env(), registry, subnet_id(s), SubnetStatus::Live);
        b.p.subnets.push(subnet_id(s));
        progress(b, "subnets", s + 1, target.subnets);
        b.checkpoint()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- licensing

/// License `i`: offered by the manager of program `i % PROGRAMS` to holder `i`, accepted.
fn licenses_to(b: &mut Bench, target: u64) -> Step {
    let issuer = b.ids().issuer;
    while (b.p.licenses.len() as u64) < target {
        let end = (b.p.licenses.len() as u64 + CHUNK).min(target);
        for i in b.p.licenses.len() as u64..end {
            let program = b.p.programs[(i % PROGRAMS) as usize];
            let license = li::offer(b.env(), issuer, ids::manager(i % PROGRAMS), program, ids::holder(i))
                .unwrap_or_else(|e| panic!("offer_license {i}: {e:?}"));
            li::accept(b.env(), issuer, ids::holder(i), license.id).unwrap_or_else(|e| panic!("accept_license {i}: {e:?}"));
            b.p.licenses.push(license.id);
        }
        progress(b, "licenses", end, target);
        b.checkpoint()?;
    }
    Ok(())
}

/// App `j`: a new canister handed to the holder of license `j % licenses`, registered through
/// the issuer on subnet `j % subnets` (the issuer asks `canister_info` and records the placement
/// in the registry).
fn apps_to(b: &mut Bench, target: u64) -> Step {
    let issuer = b.ids().issuer;
    while (b.p.apps.len() as u64) < target {
        let end = (b.p.apps.len() as u64 + CHUNK).min(target);
        for j in b.p.apps.len() as u64..end {
            let l = j % b.p.licenses.len() as u64;
            let holder = ids::holder(l);
            let canister = b.env().create_canister();
            li::hand_to_holder(b.env(), canister, holder);
            let subnet_id = b.p.subnets[(j % b.p.subnets.len() as u64) as usize];
            let input = lic::AppInput { license_id: b.p.licenses[l as usize], name: format!("App {j}"), canister, subnet_id };
            li::register_app(b.env(), issuer, holder, input).unwrap_or_else(|e| panic!("register_app {j}: {e:?}"));
            b.p.apps.push(canister);
            b.p.app_licenses.push(b.p.licenses[l as usize]);
            b.p.app_reports.push((0, 0));
        }
        progress(b, "apps", end, target);
        b.checkpoint()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- messaging

pub fn register_args(i: u64) -> RegisterArgs {
    RegisterArgs { handle: ids::user_handle(i), display_name: format!("User {i}"), public_key: ids::user_key(i) }
}

fn users_to(b: &mut Bench, target: u64) -> Step {
    let messaging = b.ids().messaging;
    while b.p.users < target {
        let end = (b.p.users + CHUNK * 4).min(target);
        for i in b.p.users..end {
            let r: (Result<UserView, MessagingError>,) = b.update(messaging, ids::user(i), "register", (register_args(i),));
            r.0.unwrap_or_else(|e| panic!("register user {i}: {e:?}"));
        }
        b.p.users = end;
        progress(b, "users", end, target);
        b.checkpoint()?;
    }
    Ok(())
}

/// Who is in conversation `k` (see `scale.rs`): a direct between the first user of block `k`
/// and the second (or the probe, for the first `PROBE_DIRECTS` directs); a group owned by the
/// first user of the block with the other nine (and the probe, for the first `PROBE_GROUPS`).
pub struct Parties {
    pub direct: bool,
    /// The creator first.
    pub members: Vec<Principal>,
}

pub fn parties(k: u64) -> Parties {
    let first = k * USERS_PER_CONVERSATION;
    if k.is_multiple_of(2) {
        let other = if k / 2 < PROBE_DIRECTS { ids::probe() } else { ids::user(first + 1) };
        Parties { direct: true, members: vec![ids::user(first), other] }
    } else {
        let mut members: Vec<Principal> = (first..first + USERS_PER_CONVERSATION).map(ids::user).collect();
        if k / 2 < PROBE_GROUPS {
            members.push(ids::probe());
        }
        Parties { direct: false, members }
    }
}

/// Index of the hot group (one message in `HOT_SHARE` goes there; the probe is a member).
pub const HOT: u64 = 1;

fn conversations_to(b: &mut Bench, target: u64) -> Step {
    let messaging = b.ids().messaging;
    while (b.p.conversations.len() as u64) < target {
        let end = (b.p.conversations.len() as u64 + CHUNK).min(target);
        for k in b.p.conversations.len() as u64..end {
            let parties = parties(k);
            let id: (Result<u64, MessagingError>,) = if parties.direct {
                b.update(messaging, parties.members[0], "open_direct", (parties.members[1],))
            } else {
                let args = CreateGroupArgs { name: format!("Group {k}"), members: parties.members[1..].to_vec(), retention: None };
                b.update(messaging, parties.members[0], "create_group", (args,))
            };
            b.p.conversations.push(id.0.unwrap_or_else(|e| panic!("conversation {k}: {e:?}")));
        }
        progress(b, "conversations", end, target);
        b.checkpoint()?;
    }
    Ok(())
}

/// An envelope as a client makes it (sizes of real ChaCha20-Poly1305 and X25519 output, filler
/// bytes): a direct message carries its content key wrapped for both parties (epoch 1) under
/// an ephemeral key; a group message uses the group key (no wrapped keys).
pub fn envelope(label: &str, direct_parties: Option<&[Principal]>) -> Envelope {
    let ciphertext = ids::bytes(&format!("{label}/ct"), PLAINTEXT_BYTES + TAG_BYTES);
    let nonce = ids::bytes(&format!("{label}/nonce"), 12);
    match direct_parties {
        Some(parties) => Envelope {
            ciphertext,
            nonce,
            key_epoch: 0,
            ephemeral_public_key: ids::x25519_public(&format!("{label}/ephemeral")),
            wrapped_keys: parties
                .iter()
                .map(|&recipient| WrappedKey { recipient, recipient_key_epoch: 1, wrapped_key: ids::bytes(&format!("{label}/{recipient}"), WRAPPED_KEY_BYTES) })
                .collect(),
        },
        None => Envelope { ciphertext, nonce, key_epoch: 1, ephemeral_public_key: vec![], wrapped_keys: vec![] },
    }
}

/// Sender and conversation index of loaded message `i` among `conversations` conversations.
pub fn message_plan(i: u64, conversations: u64) -> (u64, Principal) {
    if i.is_multiple_of(HOT_SHARE) {
        let first = HOT * USERS_PER_CONVERSATION;
        return (HOT, ids::user(first + (i / HOT_SHARE) % USERS_PER_CONVERSATION));
    }
    let j = i - i / HOT_SHARE - 1;
    let (k, round) = (j % conversations, j / conversations);
    let parties = parties(k);
    let sender = parties.members[(round % if parties.direct { 2 } else { USERS_PER_CONVERSATION }) as usize];
    (k, sender)
}

/// Sends `envelope`, waiting out the per-user rate limit as a client would.
pub fn send_waiting(b: &mut Bench, sender: Principal, conversation: u64, envelope: Envelope) -> SendReceipt {
    let messaging = b.ids().messaging;
    loop {
        let r: (Result<SendReceipt, MessagingError>,) = b.update(messaging, sender, "send_message", (conversation, envelope.clone()));
        match r.0 {
            Ok(receipt) => return receipt,
            Err(MessagingError::RateLimited { retry_after_ns, .. }) => {
                b.p.rate_limited += 1;
                b.ex().advance_time(Duration::from_nanos(retry_after_ns.max(1)));
            }
            Err(e) => panic!("send_message into {conversation}: {e:?}"),
        }
    }
}

fn messages_to(b: &mut Bench, target: u64) -> Step {
    let conversations = b.p.conversations.len() as u64;
    // One envelope per conversation, reused: the canister stores what it is sent.
    let mut templates: Vec<Option<Envelope>> = vec![None; conversations as usize];
    while b.p.messages < target {
        let end = (b.p.messages + CHUNK * 4).min(target);
        for i in b.p.messages..end {
            let (k, sender) = message_plan(i, conversations);
            let envelope = templates[k as usize]
                .get_or_insert_with(|| {
                    let p = parties(k);
                    envelope(&format!("conversation-{k}"), p.direct.then_some(&p.members[..]))
                })
                .clone();
            send_waiting(b, sender, b.p.conversations[k as usize], envelope);
        }
        b.p.messages = end;
        progress(b, "messages", end, target);
        b.checkpoint()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- usage reports

/// Hours app 0's first report covers (its history before the load).
pub const BACKFILL_HOURS: u64 = 30 * 24;

/// Cycles app `j` reports for an hour (a light app: a few billion cycles).
pub fn app_hour_cycles(j: u64) -> u128 {
    2_000_000_000 + 1_000_000 * u128::from(j % 1000)
}

/// Sends app `j`'s next hourly report (sequence and period following its last one).
pub fn report_next(b: &mut Bench, j: u64) -> Result<ReportReceipt, BurnError> {
    let ledger = b.ids().ledger;
    let now = b.env.ex.time_ns();
    let (seq, last_end) = b.p.app_reports[j as usize];
    // App 0's first report covers the 30 days before the load, so the burn checkpoint's windows
    // (up to 31 days) hold a month of hourly buckets at every scale.
    let first = if j == 0 { BACKFILL_HOURS } else { 1 };
    let start = if seq == 0 { now - first * 3_600_000_000_000 } else { last_end };
    let report = bl::usage(seq + 1, start, now, app_hour_cycles(j) * u128::from(if seq == 0 { first } else { 1 }));
    let app = b.p.apps[j as usize];
    let r = bl::report_usage(b.env(), ledger, app, report);
    if r.is_ok() {
        b.p.app_reports[j as usize] = (seq + 1, now);
    }
    r
}

/// Each hour, every app reports the hour it consumed (sent as the app, as its own call).
fn reports_to(b: &mut Bench, target: u64) -> Step {
    let apps = b.p.apps.len() as u64;
    while b.p.reports < target {
        let end = (b.p.reports + CHUNK * 4).min(target);
        while b.p.reports < end {
            if b.p.report_cursor == 0 {
                b.ex().advance_time(Duration::from_secs(3600));
            }
            let j = b.p.report_cursor;
            report_next(b, j).unwrap_or_else(|e| panic!("report_usage of app {j}: {e:?}"));
            b.p.reports += 1;
            b.p.report_cursor = (j + 1) % apps;
        }
        progress(b, "usage reports", end, target);
        b.checkpoint()?;
    }
    Ok(())
}
