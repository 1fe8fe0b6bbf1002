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
        new_shard_cycles: candid::Nat::from(1_000_000_000_000u128),
        allowed_subnets: allowed,
        rollout_batch_size: 1,
    }
}

fn deploy_index(env: &mut dyn Env) -> Principal {
    let args = InitArgs { authorities: vec![authority()], subnet_registry: None, policy: Some(policy(vec![])) };
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
    call(env, index, authority(), "create_shard", ())
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
    env.ex.set_cycles(index, 1_200_000_000_000);
    unchanged(&mut env, index, "a refused creation", |env| {
        let refused = create_shard(env, index);
        assert!(matches!(&refused, Err(IndexError::InsufficientCycles { .. })), "{refused:?}");
    });
    let journal: Vec<CreationView> = query1(&mut env, index, Principal::anonymous(), "creations", ());
    assert!(journal.is_empty());
}
