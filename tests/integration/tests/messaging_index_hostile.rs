//! `messaging_index` through its `.did` as a hostile caller would use it: strangers and the
//! anonymous principal on every update, malformed and oversized arguments, calls out of order.
//! Every refusal must be a typed error (never a trap for an expected case) and leave the
//! index's stable memory byte for byte as it was.

use candid::utils::ArgumentEncoder;
use candid::Principal;
use interfaces::messaging_index::*;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use suite_tests::hostile::{stable_digest, Hostile};
use suite_tests::*;

fn authority() -> Principal {
    Principal::from_slice(&[0xA1; 29])
}

fn policy() -> ShardPolicy {
    ShardPolicy {
        max_users_per_shard: 1_000,
        max_stored_bytes_per_shard: 1 << 30,
        max_shards_per_subnet: 1,
        new_shard_cycles: candid::Nat::from(2_000_000_000_000u128),
        allowed_subnets: vec![],
        rollout_batch_size: 1,
        shard_min_cycles: candid::Nat::from(0u8),
        shard_top_up_cycles: candid::Nat::from(0u8),
    }
}

/// Calls `method` and checks that it returned `Err` matching `expected` and changed nothing.
#[allow(clippy::too_many_arguments)]
fn refused<A: ArgumentEncoder, T: candid::CandidType + serde::de::DeserializeOwned + std::fmt::Debug>(
    h: &mut Hostile,
    env: &mut dyn Env,
    index: Principal,
    case: &str,
    who: Principal,
    method: &str,
    args: A,
    expected: impl Fn(&IndexError) -> bool,
) {
    let before = stable_digest(env, index);
    let reply: Result<(Result<T, IndexError>,), Reject> = try_update(env, index, who, method, args);
    let held = matches!(&reply, Ok((Err(e),)) if expected(e));
    h.check(case, held, &reply);
    h.expect_eq(&format!("{case}: nothing changed"), stable_digest(env, index), before);
}

#[test]
fn hostile_calls_are_refused_and_change_nothing() {
    let mut h = Hostile::new("messaging_index", "hostile_calls_are_refused_and_change_nothing");
    let mut env = ExecutorEnv::new();
    let args = InitArgs { authorities: vec![authority()], subnet_registry: None, policy: Some(policy()), creation: None };
    let index = deploy(&mut env, &wasm("messaging_index"), (Some(args),));
    let env = &mut env;
    let shard_wasm = wasm("messaging");
    let sha: Vec<u8> = Sha256::digest(&shard_wasm).to_vec();
    let len = shard_wasm.len() as u64;
    let not_authorized = |e: &IndexError| *e == IndexError::NotAuthorized;
    let invalid_upload = |e: &IndexError| matches!(e, IndexError::InvalidUpload { .. });

    for (who, name) in [(Principal::anonymous(), "anonymous"), (Principal::from_slice(&[0x57; 29]), "stranger")] {
        refused::<_, UploadProgress>(&mut h, env, index, &format!("{name} begins an upload"), who, "begin_shard_wasm_upload", (ByteBuf::from(sha.clone()), len), not_authorized);
        refused::<_, UploadProgress>(&mut h, env, index, &format!("{name} sends a chunk"), who, "upload_shard_wasm_chunk", (0u64, ByteBuf::from(vec![0u8; 10])), not_authorized);
        refused::<_, ShardWasm>(&mut h, env, index, &format!("{name} commits"), who, "commit_shard_wasm", (), not_authorized);
        refused::<_, ShardInfo>(&mut h, env, index, &format!("{name} creates a shard"), who, "create_shard", (None::<Principal>,), not_authorized);
        refused::<_, RolloutView>(&mut h, env, index, &format!("{name} starts a rollout"), who, "start_rollout", (), not_authorized);
        refused::<_, Config>(&mut h, env, index, &format!("{name} sets the policy"), who, "set_policy", (policy(),), not_authorized);
        refused::<_, ShardInfo>(&mut h, env, index, &format!("{name} closes a shard"), who, "set_shard_status", (0u32, ShardStatus::Closed), not_authorized);
    }

    let a = authority();
    refused::<_, ShardWasm>(&mut h, env, index, "commit without an upload", a, "commit_shard_wasm", (), |e| *e == IndexError::NoUploadInProgress);
    refused::<_, UploadProgress>(&mut h, env, index, "chunk without an upload", a, "upload_shard_wasm_chunk", (0u64, ByteBuf::from(vec![1u8])), |e| *e == IndexError::NoUploadInProgress);
    refused::<_, ShardInfo>(&mut h, env, index, "shard without a wasm", a, "create_shard", (None::<Principal>,), |e| *e == IndexError::NoShardWasm);
    refused::<_, RolloutView>(&mut h, env, index, "rollout without a wasm", a, "start_rollout", (), |e| *e == IndexError::NoShardWasm);
    refused::<_, UploadProgress>(&mut h, env, index, "a 31-byte hash", a, "begin_shard_wasm_upload", (ByteBuf::from(vec![0u8; 31]), len), |e| matches!(e, IndexError::InvalidArgument { .. }));
    refused::<_, UploadProgress>(&mut h, env, index, "a 33-byte hash", a, "begin_shard_wasm_upload", (ByteBuf::from(vec![0u8; 33]), len), |e| matches!(e, IndexError::InvalidArgument { .. }));
    refused::<_, UploadProgress>(&mut h, env, index, "an empty module", a, "begin_shard_wasm_upload", (ByteBuf::from(sha.clone()), 0u64), invalid_upload);
    refused::<_, UploadProgress>(&mut h, env, index, "a module over the limit", a, "begin_shard_wasm_upload", (ByteBuf::from(sha.clone()), 2_000_001u64), invalid_upload);
    refused::<_, UploadProgress>(&mut h, env, index, "a module of u64::MAX bytes", a, "begin_shard_wasm_upload", (ByteBuf::from(sha.clone()), u64::MAX), invalid_upload);
    for (case, status) in [("status Upgrading by hand", ShardStatus::Upgrading), ("status of a missing shard", ShardStatus::Closed)] {
        refused::<_, ShardInfo>(&mut h, env, index, case, a, "set_shard_status", (7u32, status), |e| matches!(e, IndexError::InvalidArgument { .. }));
    }
    type Edit = fn(&mut ShardPolicy);
    let bad_policies: [(&str, Edit); 6] = [
        ("no users per shard", |p| p.max_users_per_shard = 0),
        ("no bytes per shard", |p| p.max_stored_bytes_per_shard = 0),
        ("no shards per subnet", |p| p.max_shards_per_subnet = 0),
        ("a batch of 0", |p| p.rollout_batch_size = 0),
        ("cycles beyond u128", |p| p.new_shard_cycles = candid::Nat::from(u128::MAX) + candid::Nat::from(1u8)),
        ("a subnet twice", |p| p.allowed_subnets = vec![Principal::from_slice(&[3; 29]); 2]),
    ];
    for (case, edit) in bad_policies {
        let mut p = policy();
        edit(&mut p);
        refused::<_, Config>(&mut h, env, index, case, a, "set_policy", (p,), |e| matches!(e, IndexError::InvalidArgument { .. }));
    }

    // An upload in progress: chunks out of order, too large, past the end.
    let begun: Result<UploadProgress, IndexError> = update1(env, index, a, "begin_shard_wasm_upload", (ByteBuf::from(sha.clone()), len));
    assert!(begun.is_ok());
    refused::<_, UploadProgress>(&mut h, env, index, "a chunk at the wrong offset", a, "upload_shard_wasm_chunk", (1u64, ByteBuf::from(vec![0u8; 10])), invalid_upload);
    refused::<_, UploadProgress>(&mut h, env, index, "an empty chunk", a, "upload_shard_wasm_chunk", (0u64, ByteBuf::from(vec![])), invalid_upload);
    refused::<_, UploadProgress>(&mut h, env, index, "a chunk over 1 MiB", a, "upload_shard_wasm_chunk", (0u64, ByteBuf::from(vec![0u8; 1024 * 1024 + 1])), invalid_upload);
    refused::<_, UploadProgress>(&mut h, env, index, "a chunk past the announced end", a, "upload_shard_wasm_chunk", (0u64, ByteBuf::from(vec![0u8; len as usize + 1])), invalid_upload);
    refused::<_, ShardWasm>(&mut h, env, index, "commit of an incomplete module", a, "commit_shard_wasm", (), invalid_upload);

    // Registration: refused before anything is reserved or created.
    let args = |handle: &str| interfaces::messaging::RegisterArgs { handle: handle.into(), display_name: "A".into(), public_key: vec![9; 32] };
    let someone = Principal::from_slice(&[0x58; 29]);
    refused::<_, Registered>(&mut h, env, index, "anonymous registers", Principal::anonymous(), "register", (args("amina"),), |e| *e == IndexError::AnonymousCaller);
    for bad in ["ab", "Amina", "1amina", "amina.", "ami na", &"a".repeat(33), &"a".repeat(100_000)] {
        refused::<_, Registered>(&mut h, env, index, &format!("handle {:?}", &bad[..bad.len().min(12)]), someone, "register", (args(bad),), |e| matches!(e, IndexError::InvalidHandle { .. }));
    }
    // A shard wasm but no subnet allowed: no shard can be made, nothing is reserved.
    refused::<_, Registered>(&mut h, env, index, "registration without capacity", someone, "register", (args("amina"),), |e| *e == IndexError::NoCapacity);

    // Queries answer anyone, whatever the argument.
    let route: Route = query1(env, index, Principal::anonymous(), "shard_of", (Principal::anonymous(),));
    h.expect_eq("route of the anonymous principal", route.shard, None);
    let none: Option<Route> = query1(env, index, Principal::anonymous(), "find_by_handle", ("x".repeat(100_000),));
    h.expect_eq("a 100 KB handle finds nobody", none, None);
    let page: RoutingPage = query1(env, index, Principal::anonymous(), "routing_table", (Some(u16::MAX), Some(u32::MAX)));
    h.expect_eq("a page from the last bucket with a huge limit", page.runs.len(), 0);
    h.finish();
}
