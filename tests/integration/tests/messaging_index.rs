//! `messaging_index` on its real wasm: the shard wasm uploaded in chunks and checked, shards
//! created from it through the management canister (journaled, under the policy's subnet and
//! cap), shard status, routes — and every refusal leaving the index unchanged.

use candid::Principal;
use interfaces::messaging_index::*;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use suite_tests::hostile::stable_digest;
use suite_tests::*;

fn authority() -> Principal {
    Principal::from_slice(&[0xA1; 29])
}

fn stranger() -> Principal {
    Principal::from_slice(&[0x57; 29])
}

fn policy(allowed: Vec<Principal>) -> ShardPolicy {
    ShardPolicy {
        max_users_per_shard: 1_000,
        max_stored_bytes_per_shard: 1 << 30,
        max_shards_per_subnet: 2,
        // The creation fee (500B on a 13-node subnet) comes out of these.
        new_shard_cycles: candid::Nat::from(2_000_000_000_000u128),
        allowed_subnets: allowed,
        rollout_batch_size: 1,
        shard_min_cycles: candid::Nat::from(500_000_000_000u128),
        shard_top_up_cycles: candid::Nat::from(1_000_000_000_000u128),
    }
}

fn deploy_index(env: &mut dyn Env) -> Principal {
    let args = InitArgs { authorities: vec![authority()], subnet_registry: None, policy: Some(policy(vec![])), creation: None };
    deploy(env, &wasm("messaging_index"), (Some(args),))
}

fn call<T: candid::CandidType + serde::de::DeserializeOwned>(env: &mut dyn Env, index: Principal, who: Principal, method: &str, args: impl candid::utils::ArgumentEncoder) -> T {
    update1(env, index, who, method, args)
}

/// Uploads `module` in chunks of `chunk` bytes as the authority and commits it.
fn upload(env: &mut dyn Env, index: Principal, module: &[u8], announced_sha: [u8; 32], chunk: usize) -> Result<ShardWasm, IndexError> {
    let begun: Result<UploadProgress, IndexError> = call(env, index, authority(), "begin_shard_wasm_upload", (ByteBuf::from(announced_sha.to_vec()), module.len() as u64));
    begun?;
    for (i, part) in module.chunks(chunk).enumerate() {
        let p: Result<UploadProgress, IndexError> = call(env, index, authority(), "upload_shard_wasm_chunk", ((i * chunk) as u64, ByteBuf::from(part.to_vec())));
        assert_eq!(p.unwrap().received_bytes, (i * chunk + part.len()) as u64);
    }
    call(env, index, authority(), "commit_shard_wasm", ())
}

fn create_shard(env: &mut dyn Env, index: Principal) -> Result<ShardInfo, IndexError> {
    call(env, index, authority(), "create_shard", (None::<Principal>,))
}

fn unchanged(env: &mut dyn Env, index: Principal, what: &str, f: impl FnOnce(&mut dyn Env)) {
    let before = stable_digest(env, index);
    f(env);
    assert_eq!(stable_digest(env, index), before, "{what} changed the index");
}

fn index_creates_shards_from_its_uploaded_wasm(env: &mut dyn Env) {
    let index = deploy_index(env);
    let shard_wasm = wasm("messaging");
    let sha: [u8; 32] = Sha256::digest(&shard_wasm).into();

    // Nothing to create from yet; strangers cannot upload.
    assert_eq!(create_shard(env, index), Err(IndexError::NoShardWasm));
    unchanged(env, index, "a stranger's upload", |env| {
        let r: Result<UploadProgress, IndexError> = call(env, index, stranger(), "begin_shard_wasm_upload", (ByteBuf::from(sha.to_vec()), 10u64));
        assert_eq!(r, Err(IndexError::NotAuthorized));
    });

    // A module whose hash is not the announced one is discarded.
    let wrong = upload(env, index, &shard_wasm, [7; 32], 100_000);
    assert!(matches!(&wrong, Err(IndexError::InvalidUpload { reason }) if reason.contains("HashMismatch")), "{wrong:?}");
    assert_eq!(query1::<_, Option<ShardWasm>>(env, index, Principal::anonymous(), "shard_wasm", ()), None);

    // A chunk out of order is refused with the offset expected.
    let _: Result<UploadProgress, IndexError> = call(env, index, authority(), "begin_shard_wasm_upload", (ByteBuf::from(sha.to_vec()), shard_wasm.len() as u64));
    let skipped: Result<UploadProgress, IndexError> = call(env, index, authority(), "upload_shard_wasm_chunk", (5u64, ByteBuf::from(vec![0u8; 10])));
    assert!(matches!(&skipped, Err(IndexError::InvalidUpload { reason }) if reason.contains("expected_offset: 0")), "{skipped:?}");

    let uploaded = upload(env, index, &shard_wasm, sha, 100_000).expect("uploaded");
    assert_eq!((uploaded.sha256.as_slice(), uploaded.bytes, uploaded.uploaded_by), (&sha[..], shard_wasm.len() as u64, authority()));

    // The policy allows no subnet yet: refused, and the refusal names this index's subnet.
    let refused = create_shard(env, index);
    let Err(IndexError::SubnetNotAllowed { subnet, .. }) = refused else { panic!("{refused:?}") };
    let bad_policy: Result<Config, IndexError> = call(env, index, authority(), "set_policy", (ShardPolicy { rollout_batch_size: 0, ..policy(vec![subnet]) },));
    assert!(matches!(bad_policy, Err(IndexError::InvalidArgument { .. })));
    let set: Result<Config, IndexError> = call(env, index, authority(), "set_policy", (policy(vec![subnet]),));
    assert_eq!(set.unwrap().policy.allowed_subnets, vec![subnet]);

    // Two shards, then the subnet's cap.
    let first = create_shard(env, index).expect("first shard");
    let second = create_shard(env, index).expect("second shard");
    assert_eq!((first.id, second.id, first.subnet, first.origin), (0, 1, subnet, ShardOrigin::Created));
    assert_ne!(first.canister, second.canister);
    assert_eq!(create_shard(env, index), Err(IndexError::NoCapacity));
    for shard in [&first, &second] {
        // The shard runs the messaging wasm, with the index's authorities, under the index and the authorities.
        let config: interfaces::messaging::Config = query1(env, shard.canister, Principal::anonymous(), "config", ());
        assert_eq!(config.authorities, vec![authority()]);
        let mut controllers = env.controllers(shard.canister).unwrap();
        controllers.sort();
        let mut expected = vec![index, authority()];
        expected.sort();
        assert_eq!(controllers, expected);
    }
    let journal: Vec<CreationView> = query1(env, index, Principal::anonymous(), "creations", ());
    assert_eq!(journal.len(), 2);
    assert!(journal.iter().all(|c| matches!(c.state, CreationStateView::Installed { .. }) && !c.needs_attention), "{journal:?}");

    // Status: closed shards take no new buckets; strangers cannot change it.
    unchanged(env, index, "a stranger's status change", |env| {
        let r: Result<ShardInfo, IndexError> = call(env, index, stranger(), "set_shard_status", (0u32, ShardStatus::Closed));
        assert_eq!(r, Err(IndexError::NotAuthorized));
    });
    let closed: Result<ShardInfo, IndexError> = call(env, index, authority(), "set_shard_status", (0u32, ShardStatus::Closed));
    assert!(!closed.unwrap().takes_new_buckets);
    let shards: Vec<ShardInfo> = query1(env, index, Principal::anonymous(), "shards", ());
    assert_eq!(shards.iter().map(|s| s.takes_new_buckets).collect::<Vec<_>>(), [false, true]);

    // Routes: no bucket is assigned before registrations.
    let route: Route = query1(env, index, Principal::anonymous(), "shard_of", (stranger(),));
    let digest = Sha256::digest(stranger().as_slice());
    assert_eq!((route.bucket, route.shard), (u16::from_be_bytes([digest[30], digest[31]]), None));
    let table: RoutingPage = query1(env, index, Principal::anonymous(), "routing_table", (None::<u16>, None::<u32>));
    assert_eq!((table.runs.len(), table.assigned_buckets, table.next), (0, 0, None));

    // Every change is in the audit log, which still verifies.
    let page: interfaces::audit::AuditPage = query1(env, index, Principal::anonymous(), "audit_log", (interfaces::audit::PageRequest { start: None, limit: None },));
    let kinds: Vec<&str> = page.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["installed", "shard_wasm_uploaded", "policy_set", "shard_created", "shard_created", "shard_status_set"]);
    let check: interfaces::audit::ChainCheck = query1(env, index, Principal::anonymous(), "verify_audit_log", (0u64, page.total));
    assert_eq!(check, interfaces::audit::ChainCheck::Valid { checked: page.total });
}
scenario!(index_creates_shards_from_its_uploaded_wasm);

/// An index without the cycles for a new shard (and its own reserve) refuses before it
/// journals or creates anything.
#[test]
fn too_few_cycles_refuse_a_shard_and_change_nothing() {
    let mut env = ExecutorEnv::new();
    let index = deploy_index(&mut env);
    let shard_wasm = wasm("messaging");
    upload(&mut env, index, &shard_wasm, Sha256::digest(&shard_wasm).into(), 500_000).expect("uploaded");
    let Err(IndexError::SubnetNotAllowed { subnet, .. }) = create_shard(&mut env, index) else { panic!("expected SubnetNotAllowed") };
    let _: Result<Config, IndexError> = call(&mut env, index, authority(), "set_policy", (policy(vec![subnet]),));
    env.ex.set_cycles(index, 2_200_000_000_000);
    unchanged(&mut env, index, "a refused creation", |env| {
        let refused = create_shard(env, index);
        assert!(matches!(&refused, Err(IndexError::InsufficientCycles { .. })), "{refused:?}");
    });
    let journal: Vec<CreationView> = query1(&mut env, index, Principal::anonymous(), "creations", ());
    assert!(journal.is_empty());
}

/// An index with `n` shards created from `shard_wasm`, its policy allowing this subnet.
fn index_with_shards(env: &mut dyn Env, shard_wasm: &[u8], n: u32) -> (Principal, Vec<ShardInfo>) {
    let index = deploy_index(env);
    upload(env, index, shard_wasm, Sha256::digest(shard_wasm).into(), 500_000).expect("uploaded");
    let Err(IndexError::SubnetNotAllowed { subnet, .. }) = create_shard(env, index) else { panic!("expected SubnetNotAllowed") };
    let _: Result<Config, IndexError> = call(env, index, authority(), "set_policy", (ShardPolicy { max_shards_per_subnet: n, ..policy(vec![subnet]) },));
    let shards = (0..n).map(|_| create_shard(env, index).expect("shard created")).collect();
    (index, shards)
}

/// Puts one user on each shard: directly on a shard of v0.2.0 (no index there), else as the
/// shard's index would (`register_from_index`), whatever bucket the user falls in.
fn a_user_on_each(env: &mut dyn Env, shards: &[ShardInfo]) -> Vec<Principal> {
    use interfaces::messaging::{MessagingError, UserView};
    shards
        .iter()
        .enumerate()
        .map(|(i, shard)| {
            let user = suite_tests::scenarios::license_issuer::principal(0x70, i as u16 + 1);
            let client = suite_tests::messenger::Client::new(user, &format!("citizen{i}"));
            let args = register_args(&client);
            let direct: Result<UserView, MessagingError> = update1(env, shard.canister, user, "register", (args.clone(),));
            match direct {
                Err(MessagingError::RegisterThroughIndex { index }) => {
                    let via: Result<UserView, MessagingError> = update1(env, shard.canister, index, "register_from_index", (user, args));
                    via.expect("registered by the index");
                }
                other => {
                    other.expect("registered");
                }
            }
            user
        })
        .collect()
}

fn user_survived(env: &mut dyn Env, shard: Principal, user: Principal) {
    let found: Option<interfaces::messaging::UserView> = query1(env, shard, Principal::anonymous(), "get_user", (user,));
    assert!(found.is_some_and(|u| u.user == user), "user {user} lost on shard {shard}");
}

/// Advances time and runs the timers until the rollout finishes (at most 200 ticks).
fn run_rollout(env: &mut dyn Env, index: Principal, until: impl Fn(&RolloutView) -> bool) -> RolloutView {
    for _ in 0..200 {
        env.advance_time(std::time::Duration::from_secs(5));
        env.tick();
        let view: Option<RolloutView> = query1(env, index, Principal::anonymous(), "rollout", ());
        if let Some(view) = view.filter(|v| until(v)) {
            return view;
        }
    }
    panic!("the rollout did not get there in 200 ticks");
}

fn start_rollout(env: &mut dyn Env, index: Principal) -> Result<RolloutView, IndexError> {
    call(env, index, authority(), "start_rollout", ())
}

/// Shards made from the v0.2.0 messaging wasm are moved to the current one, one at a time,
/// keeping their users; the index is upgraded half-way and the rollout carries on.
fn a_rollout_upgrades_every_shard_and_survives_an_index_upgrade(env: &mut dyn Env) {
    let old = with_wasm_dir(release_dir("v0.2.0"), || wasm("messaging"));
    let (index, shards) = index_with_shards(env, &old, 3);
    let users = a_user_on_each(env, &shards);
    let new = wasm("messaging");
    // Rolling out the module the shards already run is harmless: each is upgraded in place.
    start_rollout(env, index).expect("started");
    let same = run_rollout(env, index, |v| v.finished);
    assert!(same.halted.is_none(), "{same:?}");
    upload(env, index, &new, Sha256::digest(&new).into(), 300_000).expect("new wasm uploaded");
    let started = start_rollout(env, index).expect("started");
    assert_eq!(start_rollout(env, index), Err(IndexError::RolloutInProgress));
    assert_eq!(started.target_sha256, Sha256::digest(&new).to_vec());
    // Half-way: one shard done, then the index is upgraded.
    let mid = run_rollout(env, index, |v| v.shards.iter().any(|s| s.stage == RolloutStage::Done));
    assert!(!mid.finished);
    assert!(mid.shards.iter().filter(|s| s.stage != RolloutStage::Done && s.stage != RolloutStage::Waiting).count() <= 1, "batch of one: {mid:?}");
    env.upgrade(index, &wasm("messaging_index"), candid::encode_one(None::<()>).unwrap()).expect("index upgraded mid-rollout");
    let done = run_rollout(env, index, |v| v.finished);
    assert!(done.halted.is_none(), "{done:?}");
    assert!(done.shards.iter().all(|s| s.stage == RolloutStage::Done), "{done:?}");
    for (shard, user) in shards.iter().zip(users) {
        user_survived(env, shard.canister, user);
    }
    let after: Vec<ShardInfo> = query1(env, index, Principal::anonymous(), "shards", ());
    assert!(after.iter().all(|s| s.status == ShardStatus::Open), "statuses restored: {after:?}");
}
scenario!(a_rollout_upgrades_every_shard_and_survives_an_index_upgrade);

/// A canister holds at most 10 snapshots: each rollout replaces the shard's snapshot from the
/// last one, so the twelfth rollout works like the first.
fn rollouts_replace_the_last_snapshot(env: &mut dyn Env) {
    let (index, shards) = index_with_shards(env, &wasm("messaging"), 1);
    let users = a_user_on_each(env, &shards);
    for round in 0..12 {
        start_rollout(env, index).expect("started");
        let done = run_rollout(env, index, |v| v.finished);
        assert!(done.halted.is_none(), "rollout {round}: {done:?}");
    }
    user_survived(env, shards[0].canister, users[0]);
}
scenario!(rollouts_replace_the_last_snapshot);

/// A module the shards refuse (the v0.1.0 messaging wasm: its post_upgrade refuses the newer
/// stored schema) fails on the first shard, which is restored from its snapshot and keeps its
/// user; the rollout halts before touching another shard.
fn a_failed_upgrade_is_restored_and_halts_the_rollout(env: &mut dyn Env) {
    let current = wasm("messaging");
    let (index, shards) = index_with_shards(env, &current, 3);
    let users = a_user_on_each(env, &shards);
    let refused = with_wasm_dir(release_dir("v0.1.0"), || wasm("messaging"));
    upload(env, index, &refused, Sha256::digest(&refused).into(), 300_000).expect("uploaded");
    start_rollout(env, index).expect("started");
    let halted = run_rollout(env, index, |v| v.finished);
    let first = &halted.shards[0];
    assert_eq!(first.stage, RolloutStage::RolledBack, "{halted:?}");
    assert!(first.error.as_deref().is_some_and(|e| e.contains("upgrade")), "{first:?}");
    assert!(halted.halted.as_deref().is_some_and(|h| h.starts_with("shard 0")), "{halted:?}");
    assert!(halted.shards[1..].iter().all(|s| s.stage == RolloutStage::Waiting), "{halted:?}");
    for (shard, user) in shards.iter().zip(users) {
        user_survived(env, shard.canister, user);
    }
    let after: Vec<ShardInfo> = query1(env, index, Principal::anonymous(), "shards", ());
    assert!(after.iter().all(|s| s.status == ShardStatus::Open), "{after:?}");
    // A new rollout may start once this one halted.
    assert!(start_rollout(env, index).is_ok());
}
scenario!(a_failed_upgrade_is_restored_and_halts_the_rollout);

fn index_metrics(env: &mut dyn Env, index: Principal) -> IndexMetrics {
    query1(env, index, Principal::anonymous(), "metrics", ())
}

fn next_reading(env: &mut dyn Env) {
    env.advance_time(std::time::Duration::from_secs(300));
    env.tick();
}

/// Every 5 minutes the index reads each shard (its `metrics`, the IC's `canister_status`): the
/// country-wide totals follow the shards, a stopped shard shows as Stopped until it runs again,
/// and a shard below the cycle floor is topped up from the index's balance (audited).
#[test]
fn the_index_reads_every_shard_and_tops_up_the_low_ones() {
    let mut env = ExecutorEnv::new();
    let (index, shards) = index_with_shards(&mut env, &wasm("messaging"), 2);
    a_user_on_each(&mut env, &shards);
    let unread = index_metrics(&mut env, index);
    assert_eq!((unread.shards, unread.shards_unread, unread.oldest_reading_ns), (2, 2, None));

    next_reading(&mut env);
    let read = index_metrics(&mut env, index);
    assert_eq!((read.shards, read.subnets, read.users, read.shards_unread), (2, 1, 2, 0), "{read:?}");
    assert!(read.oldest_reading_ns.is_some() && read.per_shard.iter().all(|s| s.last_reading.as_ref().is_some_and(|r| r.running)));

    // Drained below the floor (0.5T): topped up by 1T at the next reading.
    env.ex.set_cycles(shards[1].canister, 100_000_000_000);
    next_reading(&mut env);
    let balance = env.ex.cycle_balance(shards[1].canister);
    assert!(balance >= 1_000_000_000_000, "topped up to {balance}");
    let page: interfaces::audit::AuditPage = query1(&mut env, index, Principal::anonymous(), "audit_log", (interfaces::audit::PageRequest { start: None, limit: None },));
    assert_eq!(page.entries.iter().filter(|e| e.kind == "shard_topped_up").count(), 1);

    // A stopped shard is seen as stopped (no figures from it meanwhile), and open again once it runs.
    env.stop_canister(shards[0].canister).unwrap();
    next_reading(&mut env);
    let stopped = index_metrics(&mut env, index);
    assert_eq!(stopped.per_shard[0].status, ShardStatus::Stopped);
    assert!(!stopped.per_shard[0].takes_new_buckets);
    assert!(stopped.per_shard[0].last_error.as_deref().is_some_and(|e| e.contains("not running")), "{:?}", stopped.per_shard[0]);
    assert_eq!(stopped.shards_unread, 1);
    env.start_canister(shards[0].canister).unwrap();
    next_reading(&mut env);
    let back = index_metrics(&mut env, index);
    assert_eq!((back.per_shard[0].status, back.shards_unread), (ShardStatus::Open, 0));

    // An index too poor for a top-up says so, and leaves the shard's error saying why.
    env.ex.set_cycles(index, 600_000_000_000);
    env.ex.set_cycles(shards[1].canister, 100_000_000_000);
    next_reading(&mut env);
    let poor = index_metrics(&mut env, index);
    assert!(poor.warnings.iter().any(|w| w.contains("too few for another top-up")), "{:?}", poor.warnings);
    assert!(poor.per_shard[1].last_error.as_deref().is_some_and(|e| e.contains("below its cycle floor")), "{:?}", poor.per_shard[1]);
}

/// The CMC stand-in (tests/cmc_stand_in), built with
/// `cargo build --release --target wasm32-unknown-unknown -p cmc_stand_in`.
fn cmc_stand_in_wasm() -> Vec<u8> {
    let path = workspace_root().join("target/wasm32-unknown-unknown/release/cmc_stand_in.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{} ({e}): cargo build --release --target wasm32-unknown-unknown -p cmc_stand_in", path.display()))
}

#[derive(candid::CandidType)]
struct CmcInit {
    default_subnets: Vec<Principal>,
    authorized: Vec<(Principal, Vec<Principal>)>,
}

/// On mainnet shards are created through the CMC with a subnet selection. A rented sovereign
/// subnet admits only the principals its renter authorised: the CMC refuses the index on a
/// subnet it is not authorised for (cycles refunded, the journal says Refused), creates on the
/// one it is, and the index never asks for a subnet its policy does not allow.
fn shards_through_the_cmc_only_where_the_index_is_authorised(env: &mut dyn Env) {
    let (pakistan, rented_by_others, public) = (Principal::from_slice(&[0x11; 29]), Principal::from_slice(&[0x22; 29]), Principal::from_slice(&[0x33; 29]));
    let cmc = env.create_canister();
    let index = env.create_canister();
    let init = CmcInit { default_subnets: vec![public], authorized: vec![(index, vec![pakistan]), (stranger(), vec![rented_by_others])] };
    env.install(cmc, &cmc_stand_in_wasm(), candid::encode_one(init).unwrap()).unwrap();
    let args = InitArgs {
        authorities: vec![authority()],
        subnet_registry: None,
        policy: Some(ShardPolicy { max_shards_per_subnet: 1, ..policy(vec![pakistan, rented_by_others]) }),
        creation: Some(CreationPath::Cmc(cmc)),
    };
    env.install(index, &wasm("messaging_index"), candid::encode_one(Some(args)).unwrap()).unwrap();
    let shard_wasm = wasm("messaging");
    upload(env, index, &shard_wasm, Sha256::digest(&shard_wasm).into(), 500_000).expect("uploaded");

    let not_in_policy: Result<ShardInfo, IndexError> = call(env, index, authority(), "create_shard", (Some(public),));
    assert!(matches!(not_in_policy, Err(IndexError::SubnetNotAllowed { subnet, .. }) if subnet == public), "{not_in_policy:?}");

    let balance = env.cycle_balance(index);
    let refused: Result<ShardInfo, IndexError> = call(env, index, authority(), "create_shard", (Some(rented_by_others),));
    assert!(matches!(&refused, Err(IndexError::CallFailed { canister, reason, .. }) if *canister == cmc && reason.contains("not authorized")), "{refused:?}");
    let spent = balance - env.cycle_balance(index);
    assert!(spent < 100_000_000_000, "the 2T cycles came back: spent {spent}");

    let created: ShardInfo = call::<Result<ShardInfo, IndexError>>(env, index, authority(), "create_shard", (None::<Principal>,)).expect("created on the authorised subnet");
    assert_eq!(created.subnet, pakistan);
    let placed: Option<Principal> = query1(env, cmc, Principal::anonymous(), "subnet_of", (created.canister,));
    assert_eq!(placed, Some(pakistan));
    let config: interfaces::messaging::Config = query1(env, created.canister, Principal::anonymous(), "config", ());
    assert_eq!(config.authorities, vec![authority()]);

    let journal: Vec<CreationView> = query1(env, index, Principal::anonymous(), "creations", ());
    assert!(matches!(&journal[0].state, CreationStateView::Refused { error } if error.contains("not authorized")), "{journal:?}");
    assert!(matches!(journal[1].state, CreationStateView::Installed { shard: 0, .. }), "{journal:?}");
    // Pakistan is at its cap of one; the other allowed subnet refuses the index: no capacity left here.
    let full: Result<ShardInfo, IndexError> = call(env, index, authority(), "create_shard", (Some(pakistan),));
    assert_eq!(full, Err(IndexError::NoCapacity));
}
scenario!(shards_through_the_cmc_only_where_the_index_is_authorised);

// ---- registration through the index ----

fn citizen(i: u16) -> suite_tests::messenger::Client {
    suite_tests::messenger::Client::new(suite_tests::scenarios::license_issuer::principal(0x71, i), &format!("citizen{i}"))
}

fn register_args(client: &suite_tests::messenger::Client) -> interfaces::messaging::RegisterArgs {
    interfaces::messaging::RegisterArgs { handle: client.handle.clone(), display_name: "Citizen".into(), public_key: client.public_key() }
}

fn register(env: &mut dyn Env, index: Principal, who: Principal, args: interfaces::messaging::RegisterArgs) -> Result<Registered, IndexError> {
    call(env, index, who, "register", (args,))
}

/// An index whose shards take two users each, at most three on its subnet, with the shard wasm
/// uploaded and no shard yet.
fn index_with_low_thresholds(env: &mut dyn Env) -> Principal {
    let index = deploy_index(env);
    let shard_wasm = wasm("messaging");
    upload(env, index, &shard_wasm, Sha256::digest(&shard_wasm).into(), 500_000).expect("uploaded");
    let Err(IndexError::SubnetNotAllowed { subnet, .. }) = create_shard(env, index) else { panic!("expected SubnetNotAllowed") };
    let low = ShardPolicy { max_users_per_shard: 2, max_shards_per_subnet: 3, ..policy(vec![subnet]) };
    let _: Result<Config, IndexError> = call(env, index, authority(), "set_policy", (low,));
    index
}

/// Citizens register through the index: shards are created as the open ones fill (three, at
/// two users each), each citizen lands on the shard the routing table names for their bucket,
/// handles are unique across shards, and the shards themselves accept registrations only from
/// the index.
fn registrations_fill_shards_and_the_index_creates_more(env: &mut dyn Env) {
    let index = index_with_low_thresholds(env);
    let mut registered = Vec::new();
    for i in 1..=6 {
        let c = citizen(i);
        let r = register(env, index, c.principal, register_args(&c)).unwrap_or_else(|e| panic!("citizen {i}: {e:?}"));
        assert_eq!(r.user.handle, c.handle);
        registered.push((c, r));
    }
    let shards: Vec<ShardInfo> = query1(env, index, Principal::anonymous(), "shards", ());
    assert_eq!(shards.len(), 3, "{shards:?}");
    assert!(shards.iter().all(|s| s.users == 2 && !s.takes_new_buckets), "{shards:?}");
    for (c, r) in &registered {
        let route: Route = query1(env, index, Principal::anonymous(), "shard_of", (c.principal,));
        assert_eq!((route.shard, route.canister), (Some(r.shard), Some(r.canister)));
        let on_shard: Option<interfaces::messaging::UserView> = query1(env, r.canister, Principal::anonymous(), "get_user", (c.principal,));
        assert_eq!(on_shard.map(|u| u.handle), Some(c.handle.clone()));
        let found: Option<Route> = query1(env, index, Principal::anonymous(), "find_by_handle", (c.handle.clone(),));
        assert_eq!(found.and_then(|f| f.canister), Some(r.canister));
    }
    // Every shard full and the subnet at its cap: a citizen in a new bucket must wait.
    let late = citizen(50);
    assert_eq!(register(env, index, late.principal, register_args(&late)), Err(IndexError::NoCapacity));

    // Handles are unique across shards; one registration per principal.
    let (first, first_r) = &registered[0];
    let copycat = citizen(60);
    let taken = register(env, index, copycat.principal, interfaces::messaging::RegisterArgs { handle: first.handle.clone(), ..register_args(&copycat) });
    assert_eq!(taken, Err(IndexError::HandleTaken { handle: first.handle.clone() }));
    let again = register(env, index, first.principal, register_args(first));
    assert_eq!(again, Err(IndexError::AlreadyRegistered { handle: first.handle.clone(), shard: first_r.shard, canister: first_r.canister }));
    assert_eq!(register(env, index, Principal::anonymous(), register_args(&copycat)), Err(IndexError::AnonymousCaller));
    let bad = register(env, index, copycat.principal, interfaces::messaging::RegisterArgs { handle: "Bad Handle".into(), ..register_args(&copycat) });
    assert!(matches!(bad, Err(IndexError::InvalidHandle { .. })), "{bad:?}");

    // The shards take registrations only from their index.
    let direct: Result<interfaces::messaging::UserView, interfaces::messaging::MessagingError> =
        update1(env, first_r.canister, copycat.principal, "register", (register_args(&copycat),));
    assert_eq!(direct, Err(interfaces::messaging::MessagingError::RegisterThroughIndex { index }));
    let forged: Result<interfaces::messaging::UserView, interfaces::messaging::MessagingError> =
        update1(env, first_r.canister, copycat.principal, "register_from_index", (copycat.principal, register_args(&copycat)));
    assert_eq!(forged, Err(interfaces::messaging::MessagingError::NotIndex));
}
scenario!(registrations_fill_shards_and_the_index_creates_more);

/// A home shard's refusal releases the handle (nothing is kept on either side), and so does a
/// shard that is stopped when asked; once it runs again the same registration goes through.
fn refusals_and_stopped_shards_leave_nothing_reserved(env: &mut dyn Env) {
    let index = index_with_low_thresholds(env);
    let amina = citizen(1);
    let weak_key = interfaces::messaging::RegisterArgs { public_key: vec![0; 32], ..register_args(&amina) };
    let refused = register(env, index, amina.principal, weak_key);
    assert!(matches!(refused, Err(IndexError::ShardRefused { error: interfaces::messaging::MessagingError::WeakPublicKey, .. })), "{refused:?}");
    // The handle is free again: another citizen may take it, and Amina may register under another.
    let bilal = citizen(2);
    let took = register(env, index, bilal.principal, interfaces::messaging::RegisterArgs { handle: amina.handle.clone(), ..register_args(&bilal) });
    assert!(took.is_ok(), "{took:?}");

    let shards: Vec<ShardInfo> = query1(env, index, Principal::anonymous(), "shards", ());
    env.stop_canister(shards[0].canister).unwrap();
    let chaudhry = citizen(3);
    let stopped = register(env, index, chaudhry.principal, register_args(&chaudhry));
    assert!(matches!(&stopped, Err(IndexError::CallFailed { method, .. }) if method == "register_from_index"), "{stopped:?}");
    let route: Route = query1(env, index, Principal::anonymous(), "shard_of", (chaudhry.principal,));
    let found: Option<Route> = query1(env, index, Principal::anonymous(), "find_by_handle", (chaudhry.handle.clone(),));
    assert_eq!(found, None, "no handle kept without a user");
    env.start_canister(shards[0].canister).unwrap();
    let retried = register(env, index, chaudhry.principal, register_args(&chaudhry)).expect("registered once the shard runs");
    assert_eq!(Some(retried.shard), route.shard);
}
scenario!(refusals_and_stopped_shards_leave_nothing_reserved);

/// Registrations in flight at the same time, on different shards: of the citizens claiming one
/// handle at once, exactly one gets it; the others are refused with `HandleTaken` (or `Busy`
/// while a shard is being created for them) and keep nothing. The executor interleaves the
/// messages: each is submitted before any is run.
#[test]
fn concurrent_registrations_of_one_handle_give_it_to_exactly_one() {
    let mut env = ExecutorEnv::new();
    let index = index_with_low_thresholds(&mut env);
    // Two shards exist first, so the claimants' buckets land on different shards.
    for i in 1..=3 {
        let c = citizen(i);
        register(&mut env, index, c.principal, register_args(&c)).expect("registered");
    }
    let claimants: Vec<_> = (10..16).map(citizen).collect();
    let messages: Vec<_> = claimants
        .iter()
        .map(|c| {
            let args = interfaces::messaging::RegisterArgs { handle: "ministry".into(), ..register_args(c) };
            env.ex.submit_update(index, c.principal, "register", candid::encode_one(args).unwrap())
        })
        .collect();
    env.ex.run_until_idle();
    let results: Vec<Result<Registered, IndexError>> =
        messages.iter().map(|m| candid::decode_one(&env.ex.ingress_result(*m).expect("answered").expect("replied")).unwrap()).collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(IndexError::HandleTaken { .. }) | Err(IndexError::Busy))), "{results:?}");
    let found: Option<Route> = query1(&mut env, index, Principal::anonymous(), "find_by_handle", ("ministry".to_string(),));
    assert_eq!(found.and_then(|f| f.canister), Some(winners[0].canister));
    // The losers hold nothing: each can register under a handle of their own.
    for (c, r) in claimants.iter().zip(&results) {
        if r.is_err() {
            let own = register(&mut env, index, c.principal, register_args(c));
            assert!(own.is_ok() || own == Err(IndexError::NoCapacity), "{own:?}");
        }
    }
}
