//! `bench_baseline`: a test-only canister that does the bare work each hot update of the suite
//! cannot avoid, so the benchmarks (tests/bench) can print every update's ratio to its floor.
//!
//! Each measured endpoint has the name and the Candid argument type of the suite's endpoint,
//! decodes its argument with the suite's bounded decoder (`common::decode`, as the suite's
//! endpoints do), and inserts the bytes the suite canister stored for the same call (handed over
//! beforehand with `prepare`, unmeasured) under keys of the same types into `StableBTreeMap`s
//! on `MemoryManager` virtual memories, as the suite canisters store them. It replies `()`.
//! Nothing else: no validation, no counters, no indexes, no audit log, no encoding of the
//! record (the bytes arrive ready), so it is a floor, not a competitor.
//!
//! | endpoint | argument | inserts |
//! |---|---|---|
//! | `send_message` | `(nat64, Envelope)` | (conversation, seq) → message bytes |
//! | `register` | `RegisterArgs` | caller → user bytes; handle → caller; (caller, 1) → key bytes |
//! | `offer_license` | `(nat64, principal)` | next license id (entries + 1) → license bytes |
//! | `accept_license` | `nat64` | license id → license bytes (replaces) |
//! | `report_usage` | `UsageReportArg` | next burn id (entries + 1) → burn record bytes |
//! | `record_placement` | `(principal, principal)` | canister → placement bytes |
//!
//! `fill` loads a map with synthetic entries (same key type, values of a given size) so the
//! baseline's trees are as deep as the suite canister's at the scale measured.

use candid::Principal;
use ic_cdk::api::msg_caller;
use ic_cdk::{query, update};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableBTreeMap};
use interfaces::burn_ledger::UsageReportArg;
use interfaces::messaging::{Envelope, RegisterArgs};
use std::cell::{Cell, RefCell};

type Memory = VirtualMemory<DefaultMemoryImpl>;
type Map<K, V> = RefCell<StableBTreeMap<K, V, Memory>>;

fn mem(id: u8) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(MemoryId::new(id)))
}

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static MESSAGES: Map<(u64, u64), Vec<u8>> = RefCell::new(StableBTreeMap::init(mem(0)));
    static USERS: Map<Principal, Vec<u8>> = RefCell::new(StableBTreeMap::init(mem(1)));
    static HANDLES: Map<String, Principal> = RefCell::new(StableBTreeMap::init(mem(2)));
    static KEYS: Map<(Principal, u32), Vec<u8>> = RefCell::new(StableBTreeMap::init(mem(3)));
    static LICENSES: Map<u64, Vec<u8>> = RefCell::new(StableBTreeMap::init(mem(4)));
    static BURNS: Map<u64, Vec<u8>> = RefCell::new(StableBTreeMap::init(mem(5)));
    static PLACEMENTS: Map<Principal, Vec<u8>> = RefCell::new(StableBTreeMap::init(mem(6)));
    /// The stored bytes of the next measured call, in the order it inserts them.
    static PREPARED: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    /// Sequence numbers of new messages (above every filled key: appended to the conversation).
    static NEXT_ID: Cell<u64> = const { Cell::new(1 << 40) };
}

/// The next prepared value (moved out, not copied); traps if `prepare` gave too few.
fn take() -> Vec<u8> {
    PREPARED.with_borrow_mut(|p| if p.is_empty() { ic_cdk::trap("bench_baseline: nothing prepared") } else { p.remove(0) })
}

fn next_id() -> u64 {
    NEXT_ID.with(|n| {
        n.set(n.get() + 1);
        n.get()
    })
}

/// Unmeasured set-up: the bytes the next measured call stores.
#[update]
fn prepare(values: Vec<Vec<u8>>) {
    PREPARED.set(values);
}

#[update(decode_with = "common::decode::args")]
fn send_message(conversation_id: u64, envelope: Envelope) {
    drop(envelope);
    let value = take();
    MESSAGES.with_borrow_mut(|m| m.insert((conversation_id, next_id()), value));
}

#[update(decode_with = "common::decode::one")]
fn register(args: RegisterArgs) {
    let caller = msg_caller();
    let (user, key) = (take(), take());
    USERS.with_borrow_mut(|m| m.insert(caller, user));
    HANDLES.with_borrow_mut(|m| m.insert(args.handle, caller));
    KEYS.with_borrow_mut(|m| m.insert((caller, 1), key));
}

#[update(decode_with = "common::decode::args")]
fn offer_license(program_id: u64, holder: Principal) {
    let _ = (program_id, holder);
    let value = take();
    LICENSES.with_borrow_mut(|m| m.insert(m.len() + 1, value));
}

#[update(decode_with = "common::decode::one")]
fn accept_license(license_id: u64) {
    let value = take();
    LICENSES.with_borrow_mut(|m| m.insert(license_id, value));
}

#[update(decode_with = "common::decode::one")]
fn report_usage(report: UsageReportArg) {
    drop(report);
    let value = take();
    BURNS.with_borrow_mut(|m| m.insert(m.len() + 1, value));
}

#[update(decode_with = "common::decode::args")]
fn record_placement(canister: Principal, subnet_id: Principal) {
    let _ = subnet_id;
    let value = take();
    PLACEMENTS.with_borrow_mut(|m| m.insert(canister, value));
}

/// splitmix64: spreads filled keys over the key space as real principals (hashes) spread.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 29-byte self-authenticating-like principal for entry `i`.
fn user(i: u64) -> Principal {
    let mut b = [0u8; 29];
    for (n, chunk) in b[..28].chunks_mut(8).enumerate() {
        let bytes = mix(i * 4 + n as u64).to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    b[28] = 0x02;
    Principal::from_slice(&b)
}

/// A canister id for entry `i` (10 bytes ending in 0x01, as the registry requires).
fn canister(i: u64) -> Principal {
    let mut b = [0u8; 10];
    b[..8].copy_from_slice(&mix(i).to_be_bytes());
    b[8] = 0x01;
    b[9] = 0x01;
    Principal::from_slice(&b)
}

/// Unmeasured set-up: inserts entries `from..to` of `map` with `value_len`-byte values.
/// Messages get keys (1 + i % spread, 1 + i / spread), i.e. `spread` conversations filled
/// round-robin; users, handles and keys use the same pseudo-random principals; licenses and
/// burns use ids from 1; placements pseudo-random canister ids. Returns the map's length.
#[update]
fn fill(map: String, from: u64, to: u64, value_len: u32, spread: u64) -> u64 {
    let value = vec![0xA5u8; value_len as usize];
    let spread = spread.max(1);
    match map.as_str() {
        "messages" => MESSAGES.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert((1 + i % spread, 1 + i / spread), value.clone());
            });
            m.len()
        }),
        "users" => USERS.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert(user(i), value.clone());
            });
            m.len()
        }),
        "handles" => HANDLES.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert(format!("user{i}"), user(i));
            });
            m.len()
        }),
        "keys" => KEYS.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert((user(i), 1), value.clone());
            });
            m.len()
        }),
        "licenses" => LICENSES.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert(i + 1, value.clone());
            });
            m.len()
        }),
        "burns" => BURNS.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert(i + 1, value.clone());
            });
            m.len()
        }),
        "placements" => PLACEMENTS.with_borrow_mut(|m| {
            (from..to).for_each(|i| {
                m.insert(canister(i), value.clone());
            });
            m.len()
        }),
        other => ic_cdk::trap(format!("bench_baseline: no map {other}")),
    }
}

/// Entries per map, for the benchmark's checks.
#[query]
fn lengths() -> Vec<(String, u64)> {
    vec![
        ("messages".into(), MESSAGES.with_borrow(|m| m.len())),
        ("users".into(), USERS.with_borrow(|m| m.len())),
        ("handles".into(), HANDLES.with_borrow(|m| m.len())),
        ("keys".into(), KEYS.with_borrow(|m| m.len())),
        ("licenses".into(), LICENSES.with_borrow(|m| m.len())),
        ("burns".into(), BURNS.with_borrow(|m| m.len())),
        ("placements".into(), PLACEMENTS.with_borrow(|m| m.len())),
    ]
}
