//! Hostile cases against `messaging` on its real wasm (executor only: they read stable memory
//! and count instructions). Each test is one defect of issue 12 and fails on the wasm before its
//! fix; every refused update is checked to leave stable memory (audit log included) unchanged.
//! Cases are tallied under "messaging".

use candid::utils::ArgumentEncoder;
use candid::{encode_args, encode_one, Reserved};
use interfaces::audit::{AuditPage, PageRequest};
use interfaces::messaging::*;
use std::time::Duration;
use suite_tests::hostile::{stable_digest, Hostile};
use suite_tests::scenarios::messaging::*;
use suite_tests::*;
use x25519_dalek::{PublicKey, StaticSecret};

const SEC: u64 = 1_000_000_000;
const TWO_MIB: usize = 2 * 1024 * 1024;

fn digest(env: &mut dyn Env, shard: Principal) -> [u8; 32] {
    stable_digest(env, shard).expect("executor backend")
}

/// An update's typed outcome (`Ok` payload ignored), or the reject's text.
fn outcome<A: ArgumentEncoder>(env: &mut dyn Env, shard: Principal, who: Principal, method: &str, args: A) -> Result<Result<(), MessagingError>, String> {
    try_update::<A, (Result<Reserved, MessagingError>,)>(env, shard, who, method, args).map(|(r,)| r.map(|_| ())).map_err(|r| r.to_string())
}

/// A query's typed outcome (`Ok` payload ignored), or the reject's text.
fn query_outcome<A: ArgumentEncoder>(env: &mut dyn Env, shard: Principal, who: Principal, method: &str, args: A) -> Result<Result<(), MessagingError>, String> {
    try_query::<A, (Result<Reserved, MessagingError>,)>(env, shard, who, method, args).map(|(r,)| r.map(|_| ())).map_err(|r| r.to_string())
}

/// A run of refused calls with nothing else in between: the digest of the whole stable memory
/// (audit log included) is taken before the first and compared after the last, so any refused
/// call that changed anything shows. (One digest of the shard's 136 MiB of stable memory takes
/// seconds in a debug build, hence one per run rather than two per call.)
struct Refusals {
    shard: Principal,
    before: [u8; 32],
    cases: usize,
}

impl Refusals {
    fn start(env: &mut dyn Env, shard: Principal) -> Self {
        Refusals { shard, before: digest(env, shard), cases: 0 }
    }

    /// An update that must be refused with `expected`.
    #[allow(clippy::too_many_arguments)]
    fn refused<A: ArgumentEncoder>(&mut self, h: &mut Hostile, env: &mut dyn Env, case: &str, who: Principal, method: &str, args: A, expected: MessagingError) {
        let got = outcome(env, self.shard, who, method, args);
        h.expect_eq(case, got, Ok(Err(expected)));
        self.cases += 1;
    }

    /// Raw ingress that inspect_message (or decoding) must reject.
    fn rejected(&mut self, h: &mut Hostile, env: &mut dyn Env, case: &str, who: Principal, method: &str, arg: Vec<u8>) {
        let got = env.update_raw(self.shard, who, method, arg);
        h.check(case, got.is_err(), got.map(|b| b.len()));
        self.cases += 1;
    }

    /// Any other refusal, checked by the caller.
    fn other(&mut self) {
        self.cases += 1;
    }

    fn finish(self, h: &mut Hostile, env: &mut dyn Env, what: &str) {
        h.expect_eq(&format!("{what}: {} refusals left stable memory unchanged", self.cases), digest(env, self.shard), self.before);
    }
}

fn ok<A: ArgumentEncoder>(env: &mut dyn Env, shard: Principal, who: Principal, method: &str, args: A) {
    let r = outcome(env, shard, who, method, args);
    assert_eq!(r, Ok(Ok(())), "{method} by {who}");
}

fn audit_entries(env: &mut dyn Env, shard: Principal) -> Vec<interfaces::audit::AuditEntry> {
    let mut out = vec![];
    loop {
        let page: AuditPage = query1(env, shard, Principal::anonymous(), "audit_log", (PageRequest { start: Some(out.len() as u64), limit: None },));
        let done = page.entries.is_empty() || out.len() as u64 + page.entries.len() as u64 >= page.total;
        out.extend(page.entries);
        if done {
            return out;
        }
    }
}

fn view(env: &mut dyn Env, shard: Principal, who: Principal, id: u64) -> ConversationView {
    let v: Result<ConversationView, MessagingError> = query1(env, shard, who, "conversation", (id,));
    v.unwrap_or_else(|e| panic!("conversation {id}: {e:?}"))
}

fn role_of(env: &mut dyn Env, shard: Principal, who: Principal, id: u64, user: Principal) -> Option<Role> {
    all_members(env, shard, who, id).unwrap().into_iter().find(|m| m.user == user).map(|m| m.role)
}

fn hex32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    v.try_into().unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Deactivation
// ---------------------------------------------------------------------------------------------

/// A deactivated user leaves every conversation, is refused as a wrapped-key recipient, and
/// reads and marks nothing; a group she owned alone keeps an Owner.
#[test]
fn deactivated_user_is_out_of_every_conversation() {
    let mut h = Hostile::new("messaging", "deactivated_user_is_out_of_every_conversation");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 3);
    let ministry = world.ministry.principal;
    let (amina, bilal, sana) = (world.citizens[0].principal, world.citizens[1].principal, world.citizens[2].principal);
    let own = create_group(env, shard, amina, "Mohalla committee", vec![bilal, sana]).unwrap();
    ok(env, shard, amina, "set_role", (own, sana, Role::Admin));
    let keys = key_directory(env, shard, vec![amina, bilal, sana, ministry]);

    ok(env, shard, amina, "deactivate", ());

    let group_members: Vec<Principal> = all_members(env, shard, ministry, world.group).unwrap().iter().map(|m| m.user).collect();
    h.check("left the ministry's group", !group_members.contains(&amina), &group_members);
    h.expect_eq("left the direct conversation", role_of(env, shard, ministry, world.direct, amina), None);
    h.expect_eq("the direct conversation has one member left", view(env, shard, ministry, world.direct).member_count, 1);
    h.expect_eq("her group's Admin became its Owner", role_of(env, shard, sana, own, sana), Some(Role::Owner));
    h.expect_eq("her group's Member stayed Member", role_of(env, shard, sana, own, bilal), Some(Role::Member));
    h.expect_eq("her inbox is empty", inbox(env, shard, amina).entries.len(), 0);
    h.expect_eq("the key directory leaves her out", key_directory(env, shard, vec![amina, bilal]).iter().map(|k| k.user).collect::<Vec<_>>(), vec![bilal]);

    let gone = MessagingError::UserDeactivated { user: amina };
    let mut r = Refusals::start(env, shard);
    let (to_all, _) = seal(world.group, ministry, 0, b"to everyone, her too", &keys);
    r.refused(&mut h, env, "wrapped key for her in the group", ministry, "send_message", (world.group, to_all), gone.clone());
    let (to_her, _) = seal(own, sana, 0, b"to her", &keys[..1]);
    r.refused(&mut h, env, "wrapped key for her in her old group", sana, "send_message", (own, to_her), gone.clone());
    let (direct, _) = seal(world.direct, ministry, 0, b"hello?", &[]);
    r.refused(&mut h, env, "sending into her direct conversation", ministry, "send_message", (world.direct, direct), gone.clone());
    r.refused(&mut h, env, "re-adding her to the group", ministry, "add_members", (world.group, vec![amina]), gone.clone());
    r.refused(&mut h, env, "adding her to a new group", bilal, "create_group", (CreateGroupArgs { name: "again".into(), members: vec![amina], retention: None },), gone.clone());
    r.refused(&mut h, env, "opening a direct conversation with her", bilal, "open_direct", (amina,), gone.clone());
    r.refused(&mut h, env, "her peer changing the frozen direct conversation's retention", ministry, "set_retention", (world.direct, RetentionPolicy::KeepDays(1)), gone.clone());
    r.refused(&mut h, env, "her marking a message read", amina, "mark_read", (world.group, 1u64), gone.clone());
    r.refused(&mut h, env, "her sending", amina, "send_message", (world.group, seal_with_key(world.group, amina, 0, b"x", [1; 32])), gone.clone());
    r.refused(&mut h, env, "her leaving again", amina, "leave_group", (own,), MessagingError::NotAMember { conversation_id: own });

    let read = |dir| ReadRequest { conversation_id: world.group, from_seq: None, direction: dir, limit: None };
    h.expect_eq("her reading the group", query_outcome(env, shard, amina, "read_messages", (read(Direction::Forward),)), Ok(Err(gone.clone())));
    h.expect_eq("her reading backwards", query_outcome(env, shard, amina, "read_messages", (read(Direction::Backward),)), Ok(Err(gone.clone())));
    h.expect_eq("her reading an edit history", query_outcome(env, shard, amina, "message_history", (world.direct, 1u64, None::<u32>)), Ok(Err(gone.clone())));
    h.expect_eq("her reading the conversation", query_outcome(env, shard, amina, "conversation", (world.direct,)), Ok(Err(gone.clone())));
    h.expect_eq("her listing members", query_outcome(env, shard, amina, "members", (own, None::<Principal>, None::<u32>)), Ok(Err(gone)));
    r.finish(&mut h, env, "deactivation");
    // The others carry on: the group still works without her.
    h.check("the group still works", send_text(env, shard, &world.ministry, world.group, "carry on").is_ok(), "send refused");
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 2. Blocks and retention
// ---------------------------------------------------------------------------------------------

/// A blocked user cannot change (and so wipe) the blocker's direct conversation's retention.
#[test]
fn blocked_user_cannot_wipe_the_blockers_conversation() {
    let mut h = Hostile::new("messaging", "blocked_user_cannot_wipe_the_blockers_conversation");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let (ministry, citizen) = (world.ministry.principal, world.citizens[0].principal);
    ok(env, shard, ministry, "block_user", (citizen,));
    let blocked = MessagingError::Blocked { blocker: ministry };
    let mut r = Refusals::start(env, shard);
    for policy in [RetentionPolicy::Disappearing { after_seconds: 5 }, RetentionPolicy::KeepDays(1), RetentionPolicy::KeepForever] {
        r.refused(&mut h, env, &format!("blocked user sets {policy:?}"), citizen, "set_retention", (world.direct, policy), blocked.clone());
    }
    r.refused(&mut h, env, "the blocker too, while the block stands", ministry, "set_retention", (world.direct, RetentionPolicy::Disappearing { after_seconds: 5 }), blocked);
    r.finish(&mut h, env, "retention under a block");
    env.advance_time(Duration::from_secs(120));
    env.tick();
    let first = message(env, shard, ministry, world.direct, 1);
    h.check("the history is intact", matches!(first.content, MessageContent::Envelope(_)), &first.content);
    h.expect_eq("retention unchanged", view(env, shard, ministry, world.direct).retention, RetentionPolicy::KeepForever);
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 3. The public audit log and the social graph
// ---------------------------------------------------------------------------------------------

/// Whatever members do (open, create, add, remove, leave, block, set retention, send, edit,
/// delete, rename, rotate, deactivate), the public audit log names none of them: only the
/// installation, institution verifications and authorities' legal holds are logged.
#[test]
fn public_audit_log_reveals_no_social_graph() {
    let mut h = Hostile::new("messaging", "public_audit_log_reveals_no_social_graph");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let mut world = pakistan_messaging(env, shard, 4);
    let ministry = world.ministry.principal;
    let c: Vec<Principal> = world.citizens.iter().map(|c| c.principal).collect();
    let d = open_direct(env, shard, c[1], c[2]).unwrap();
    ok(env, shard, c[1], "set_retention", (d, RetentionPolicy::Disappearing { after_seconds: 3600 }));
    ok(env, shard, ministry, "set_retention", (world.group, RetentionPolicy::KeepDays(30)));
    ok(env, shard, ministry, "set_retention", (world.direct, RetentionPolicy::KeepDays(7)));
    let g = create_group(env, shard, c[2], "Cricket club", vec![c[3]]).unwrap();
    ok(env, shard, c[2], "add_members", (g, vec![c[1]]));
    ok(env, shard, c[2], "remove_member", (g, c[1]));
    ok(env, shard, c[2], "rename_group", (g, "Cricket club 2".to_string()));
    ok(env, shard, c[3], "leave_group", (g,));
    ok(env, shard, c[1], "block_user", (c[3],));
    ok(env, shard, c[1], "unblock_user", (c[3],));
    let receipt = send_text(env, shard, &world.citizens[1], d, "salaam").unwrap();
    ok(env, shard, c[1], "edit_message", (d, receipt.seq, seal_with_key(d, c[1], 0, b"edited", [2; 32])));
    ok(env, shard, c[1], "delete_message", (d, receipt.seq));
    ok(env, shard, c[2], "mark_read", (d, receipt.seq));
    world.citizens[2].rotate_key(env, shard).unwrap();
    ok(env, shard, c[0], "deactivate", ());
    ok(env, shard, authority(), "set_legal_hold", (d, "FIA-2025-3".to_string()));
    ok(env, shard, authority(), "clear_legal_hold", (d,));

    let allowed = ["installed", "reconfigured", "schema_migrated", "institution_verified", "verification_revoked", "legal_hold_set", "legal_hold_cleared"];
    for e in audit_entries(env, shard) {
        h.check(&format!("entry {} kind {} is an authority's or the installer's", e.index, e.kind), allowed.contains(&e.kind.as_str()), &e.kind);
        let contains = |needle: &[u8]| e.payload.windows(needle.len()).any(|w| w == needle);
        let names = |p: &Principal| e.actor == *p || contains(p.as_slice()) || contains(p.to_text().as_bytes());
        let named: Vec<&Principal> = c.iter().filter(|p| names(p)).collect();
        h.check(&format!("entry {} ({}) names no citizen", e.index, e.kind), named.is_empty(), &named);
    }
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 4. Expiry at read time
// ---------------------------------------------------------------------------------------------

/// Expired messages are gone for readers (tombstones, not unread, no history, not editable)
/// before the sweep runs, stay gone when the policy is relaxed, and read the same after it.
#[test]
fn expired_messages_are_gone_before_the_sweep_runs() {
    let mut h = Hostile::new("messaging", "expired_messages_are_gone_before_the_sweep_runs");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let (ministry, citizen) = (&world.ministry, &world.citizens[0]);
    ok(env, shard, ministry.principal, "set_retention", (world.direct, RetentionPolicy::Disappearing { after_seconds: 5 }));
    ok(env, shard, citizen.principal, "mark_read", (world.direct, 3u64));
    let mut sent = vec![];
    for text in ["one", "two", "three"] {
        sent.push(send_text(env, shard, ministry, world.direct, text).unwrap().seq);
    }
    ok(env, shard, ministry.principal, "edit_message", (world.direct, sent[0], seal_with_key(world.direct, ministry.principal, 0, b"one!", [3; 32])));
    h.expect_eq("unread before expiry", unread(env, shard, citizen.principal, world.direct), 3);

    env.advance_time(Duration::from_secs(6)); // expired; no timer has run (no tick)
    let expired = |m: &MessageView| matches!(&m.content, MessageContent::Deleted(t) if t.reason == DeletionReason::Retention && t.deleted_by.is_none());
    let mut views = vec![];
    for &seq in &sent {
        let m = message(env, shard, citizen.principal, world.direct, seq);
        h.check(&format!("message {seq} reads as expired before the sweep"), expired(&m), &m.content);
        views.push(m);
    }
    for seq in 1..=3 {
        let m = message(env, shard, citizen.principal, world.direct, seq);
        h.check(&format!("older message {seq} expired too (the policy applies to earlier ones)"), expired(&m), &m.content);
    }
    h.expect_eq("expired messages are not unread", unread(env, shard, citizen.principal, world.direct), 0);
    let history: Result<HistoryPage, MessagingError> = query1(env, shard, citizen.principal, "message_history", (world.direct, sent[0], None::<u32>));
    h.expect_eq("an expired message has no history", history.map(|p| p.versions.len()), Ok(0));
    let deleted = MessagingError::MessageDeleted { conversation_id: world.direct, seq: sent[1] };
    let mut r = Refusals::start(env, shard);
    r.refused(&mut h, env, "editing an expired message", ministry.principal, "edit_message", (world.direct, sent[1], seal_with_key(world.direct, ministry.principal, 0, b"back", [3; 32])), deleted.clone());
    r.refused(&mut h, env, "deleting an expired message", ministry.principal, "delete_message", (world.direct, sent[1]), deleted);
    r.finish(&mut h, env, "expired messages");
    let remaining: Result<u64, MessagingError> = update1(env, shard, citizen.principal, "mark_read", (world.direct, 3u64));
    h.expect_eq("mark_read counts no expired message", remaining, Ok(0));

    // Relaxing the policy does not bring them back.
    ok(env, shard, citizen.principal, "set_retention", (world.direct, RetentionPolicy::KeepForever));
    for (i, &seq) in sent.iter().enumerate() {
        let m = message(env, shard, citizen.principal, world.direct, seq);
        h.expect_eq(&format!("message {seq} stays expired after KeepForever"), &m, &views[i]);
    }
    // The sweep frees them and they read exactly the same afterwards.
    let before = metrics(env, shard).messages_expired;
    env.advance_time(Duration::from_secs(61));
    env.tick();
    h.expect_eq("the sweep removed all six", metrics(env, shard).messages_expired - before, 6);
    for (i, &seq) in sent.iter().enumerate() {
        let m = message(env, shard, citizen.principal, world.direct, seq);
        h.expect_eq(&format!("message {seq} reads the same after the sweep"), &m, &views[i]);
    }
    h.check("new messages are kept", send_text(env, shard, ministry, world.direct, "kept").is_ok(), "send");
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 5. The sweep keeps up
// ---------------------------------------------------------------------------------------------

/// More than 1,000 expiring messages a minute (3,000 in one minute from three senders) are all
/// removed by the first timer round after they expire; prints the instructions per swept
/// message and the resulting capacity of one budgeted run.
#[test]
fn the_sweep_keeps_up_with_a_flood() {
    let mut h = Hostile::new("messaging", "the_sweep_keeps_up_with_a_flood");
    let mut exec = ExecutorEnv::new();
    let shard = deploy_messaging(&mut exec, |a| a.limits = Some(Limits { messages_per_minute: 10_000, ..Limits::default() }));
    let world = pakistan_messaging(&mut exec, shard, 3);
    let senders: Vec<Principal> = world.citizens.iter().map(|c| c.principal).collect();
    ok(&mut exec, shard, world.ministry.principal, "set_retention", (world.group, RetentionPolicy::Disappearing { after_seconds: 30 }));
    exec.advance_time(Duration::from_secs(61)); // a fresh rate window
    const FLOOD: u64 = 3_000;
    let text = vec![b'x'; 100];
    for i in 0..FLOOD {
        let who = senders[(i % 3) as usize];
        let envelope = seal_with_key(world.group, who, 1, &text, [7; 32]);
        let r: Result<SendReceipt, MessagingError> = update1(&mut exec, shard, who, "send_message", (world.group, envelope));
        assert!(r.is_ok(), "send {i}: {r:?}");
        if i % 100 == 99 {
            exec.advance_time(Duration::from_millis(1_900)); // 3,000 within 57 seconds
        }
    }
    let stored = metrics(&mut exec, shard).messages_stored;
    let expired_before = metrics(&mut exec, shard).messages_expired;
    exec.advance_time(Duration::from_secs(61));
    let seen = exec.ex.executions().len();
    let mut ticks = 0;
    while ticks < 3 && metrics(&mut exec, shard).messages_expired - expired_before < FLOOD + 2 {
        exec.tick();
        ticks += 1;
    }
    let removed = metrics(&mut exec, shard).messages_expired - expired_before;
    h.expect_eq("every expired message removed within three timer rounds", removed, FLOOD + 2);
    h.expect_eq("nothing left stored", metrics(&mut exec, shard).messages_stored, stored - FLOOD - 2);
    let sweep_instructions: u64 =
        exec.ex.executions()[seen..].iter().filter(|r| r.canister == shard && r.method != "metrics").map(|r| r.instructions).sum();
    let per_message = sweep_instructions / removed.max(1);
    let per_run = 4_000_000_000 / per_message.max(1);
    eprintln!(
        "retention sweep: {removed} messages in {ticks} timer round(s), {sweep_instructions} instructions, {per_message} per message; \
         one 4e9-instruction run removes about {per_run} messages"
    );
    h.check("sweeping a message costs less than sending one (about 1.6M instructions)", per_message < 1_600_000, per_message);
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 6. X25519 keys
// ---------------------------------------------------------------------------------------------

/// Every key that is not a canonical X25519 u-coordinate of large order: the five small-order
/// points, their aliases at and above p = 2^255 - 19, and the top bit set.
fn weak_keys() -> Vec<(&'static str, [u8; 32])> {
    let mut top_bit = [9u8; 32];
    top_bit[31] |= 0x80;
    vec![
        ("u = 0 (order 4)", hex32("0000000000000000000000000000000000000000000000000000000000000000")),
        ("u = 1 (order 1 with infinity)", hex32("0100000000000000000000000000000000000000000000000000000000000000")),
        ("u = p - 1 (order 2)", hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
        ("order 8, first", hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")),
        ("order 8, second", hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")),
        ("u = p (aliases 0)", hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
        ("u = p + 1 (aliases 1)", hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
        ("u = p + 18 = 2^255 - 1", hex32("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
        ("u = 0 with the top bit set", hex32("0000000000000000000000000000000000000000000000000000000000000080")),
        ("u = 1 with the top bit set", hex32("0100000000000000000000000000000000000000000000000000000000000080")),
        ("order 8 with the top bit set", hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880")),
        ("order 8 (second) with the top bit set", hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7")),
        ("u = p - 1 with the top bit set", hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")),
        ("a large-order key with the top bit set", top_bit),
    ]
}

#[test]
fn weak_and_non_canonical_x25519_keys_are_refused() {
    let mut h = Hostile::new("messaging", "weak_and_non_canonical_x25519_keys_are_refused");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let citizen = world.citizens[0].principal;
    let newcomer = actors::actor("weak-key-newcomer");
    let secret = StaticSecret::from([0x42; 32]);
    let mut r = Refusals::start(env, shard);
    for (name, key) in weak_keys() {
        // The list is right: X25519 with these keys is non-contributory, or they are aliases
        // (non-canonical encodings) that implementations silently reduce.
        let canonical = key[31] & 0x80 == 0 && !(key[31] == 0x7f && key[1..31].iter().all(|&b| b == 0xff) && key[0] >= 0xed);
        let contributory = secret.diffie_hellman(&PublicKey::from(key)).was_contributory();
        h.check(&format!("{name}: small order or non-canonical"), !canonical || !contributory, hex::encode(key));
        let args = RegisterArgs { handle: "weakkey".into(), display_name: "Weak".into(), public_key: key.to_vec() };
        r.refused(&mut h, env, &format!("register with {name}"), newcomer, "register", (args,), MessagingError::WeakPublicKey);
        r.refused(&mut h, env, &format!("rotate to {name}"), citizen, "rotate_key", (key.to_vec(),), MessagingError::WeakPublicKey);
        let mut e = seal_with_key(world.direct, citizen, 0, b"x", [5; 32]);
        e.ephemeral_public_key = key.to_vec();
        e.wrapped_keys = vec![WrappedKey { recipient: citizen, recipient_key_epoch: 1, wrapped_key: vec![1; 48] }];
        r.refused(&mut h, env, &format!("ephemeral key {name}"), citizen, "send_message", (world.direct, e), MessagingError::WeakEphemeralKey);
    }
    r.finish(&mut h, env, "weak keys");
    let good = PublicKey::from(&secret).to_bytes().to_vec();
    let args = RegisterArgs { handle: "goodkey".into(), display_name: "Good".into(), public_key: good };
    h.check("a real key is accepted", outcome(env, shard, newcomer, "register", (args,)) == Ok(Ok(())), "refused");
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 7. Names, daily senders, paging, reply sizes
// ---------------------------------------------------------------------------------------------

#[test]
fn invisible_and_bidi_names_are_refused() {
    let mut h = Hostile::new("messaging", "invisible_and_bidi_names_are_refused");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let (ministry, citizen) = (world.ministry.principal, world.citizens[0].principal);
    let newcomer = actors::actor("bidi-newcomer");
    let invisible = ["\u{200B}", "\u{200C}\u{200D}", " \u{2060} ", "\u{FEFF}", "\u{3164}\u{3164}", "\u{115F}", "\u{2800}", "\u{00AD}", "\u{E0041}\u{E0042}", "\u{FE0F}", "\u{180E}", "\u{00A0}\u{2003}"];
    let bidi = [
        ("Ministry\u{202E}gnp.exe", 8, 0x202E),
        ("\u{202A}Admin", 0, 0x202A),
        ("ab\u{202B}", 2, 0x202B),
        ("x\u{202C}", 1, 0x202C),
        ("\u{202D}y", 0, 0x202D),
        ("\u{2066}z", 0, 0x2066),
        ("\u{2067}z", 0, 0x2067),
        ("\u{2068}z", 0, 0x2068),
        ("z\u{2069}", 1, 0x2069),
        ("\u{200E}Amina", 0, 0x200E),
        ("Amina\u{200F}", 5, 0x200F),
        ("\u{061C}علی", 0, 0x061C),
    ];
    let mut r = Refusals::start(env, shard);
    for (i, name) in invisible.iter().enumerate() {
        let args = RegisterArgs { handle: format!("ghost{i}"), display_name: name.to_string(), public_key: vec![9; 32] };
        r.refused(&mut h, env, &format!("register as invisible {name:?}"), newcomer, "register", (args,), MessagingError::InvisibleText { field: TextField::DisplayName });
        r.refused(&mut h, env, &format!("rename self to invisible {name:?}"), citizen, "update_profile", (name.to_string(),), MessagingError::InvisibleText { field: TextField::DisplayName });
        r.refused(&mut h, env, &format!("group named {name:?}"), citizen, "create_group", (CreateGroupArgs { name: name.to_string(), members: vec![], retention: None },), MessagingError::InvisibleText { field: TextField::GroupName });
        r.refused(&mut h, env, &format!("group renamed {name:?}"), ministry, "rename_group", (world.group, name.to_string()), MessagingError::InvisibleText { field: TextField::GroupName });
    }
    for (name, position, code_point) in bidi {
        let err = |field| MessagingError::BidiControl { field, position, code_point };
        let args = RegisterArgs { handle: "bidi".into(), display_name: name.to_string(), public_key: vec![9; 32] };
        r.refused(&mut h, env, &format!("register as {name:?}"), newcomer, "register", (args,), err(TextField::DisplayName));
        r.refused(&mut h, env, &format!("rename self to {name:?}"), citizen, "update_profile", (name.to_string(),), err(TextField::DisplayName));
        r.refused(&mut h, env, &format!("group named {name:?}"), citizen, "create_group", (CreateGroupArgs { name: name.to_string(), members: vec![], retention: None },), err(TextField::GroupName));
        r.refused(&mut h, env, &format!("group renamed {name:?}"), ministry, "rename_group", (world.group, name.to_string()), err(TextField::GroupName));
        r.refused(&mut h, env, &format!("institution named {name:?}"), authority(), "verify_institution", (citizen, name.to_string()), err(TextField::InstitutionName));
        r.refused(&mut h, env, &format!("case reference {name:?}"), authority(), "set_legal_hold", (world.group, name.to_string()), err(TextField::CaseReference));
    }
    r.finish(&mut h, env, "names");
    // Ordinary names with joiners inside still pass.
    h.check("an Urdu name with ZWNJ is fine", outcome(env, shard, citizen, "update_profile", ("می\u{200C}خواہم".to_string(),)) == Ok(Ok(())), "refused");
    h.finish();
}

/// Edits are not sends: a user who only edits today is not a daily active sender.
#[test]
fn daily_active_senders_count_sends_only() {
    let mut h = Hostile::new("messaging", "daily_active_senders_count_sends_only");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let citizen = &world.citizens[0];
    let now = env.now_ns();
    let next_day = (now / (86_400 * SEC) + 1) * 86_400 * SEC;
    env.advance_time(Duration::from_nanos(next_day - now + SEC));
    h.expect_eq("a new day starts with no senders", metrics(env, shard).daily_active_senders, 0);
    for i in 0..3 {
        ok(env, shard, citizen.principal, "edit_message", (world.direct, 1u64, seal_with_key(world.direct, citizen.principal, 0, format!("edit {i}").as_bytes(), [4; 32])));
    }
    h.expect_eq("three edits make no daily sender", metrics(env, shard).daily_active_senders, 0);
    send_text(env, shard, citizen, world.direct, "a real message").unwrap();
    h.expect_eq("one send makes one", metrics(env, shard).daily_active_senders, 1);
    h.finish();
}

/// `limit = 0` gives an empty page and no cursor in every pager; small limits are honoured and
/// every cursor moves forward.
#[test]
fn paging_honours_every_limit() {
    let mut h = Hostile::new("messaging", "paging_honours_every_limit");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 4);
    let (ministry, citizen) = (world.ministry.principal, world.citizens[0].principal);
    for other in &world.citizens[1..] {
        open_direct(env, shard, citizen, other.principal).unwrap();
        ok(env, shard, citizen, "block_user", (other.principal,));
    }
    let zero = PageRequest { start: None, limit: Some(0) };
    let page: InboxPage = query1(env, shard, citizen, "inbox", (zero.clone(),));
    h.expect_eq("inbox, limit 0", (page.entries.len(), page.next_start), (0, None));
    let page: Result<MemberPage, MessagingError> = query1(env, shard, ministry, "members", (world.group, None::<Principal>, Some(0u32)));
    h.expect_eq("members, limit 0", page.map(|p| (p.members.len(), p.next_start)), Ok((0, None)));
    let blocked: Vec<Principal> = query1(env, shard, citizen, "blocked_users", (zero,));
    h.expect_eq("blocked users, limit 0", blocked.len(), 0);
    for direction in [Direction::Forward, Direction::Backward] {
        let page = read(env, shard, citizen, world.direct, None, direction, Some(0));
        h.expect_eq(&format!("read_messages {direction:?}, limit 0"), page.map(|p| (p.messages.len(), p.next_seq)), Ok((0, None)));
    }
    for limit in 1..=3u32 {
        // inbox
        let (mut start, mut seen, mut pages) = (None, vec![], 0);
        loop {
            let page: InboxPage = query1(env, shard, citizen, "inbox", (PageRequest { start, limit: Some(limit) },));
            h.check(&format!("inbox page {pages} at most {limit}"), page.entries.len() <= limit as usize, page.entries.len());
            seen.extend(page.entries.iter().map(|e| e.conversation.id));
            pages += 1;
            match page.next_start {
                Some(n) if pages < 20 => {
                    h.check(&format!("inbox cursor advances (limit {limit})"), seen.last().is_some_and(|l| n > *l), (n, seen.last().copied()));
                    start = Some(n);
                }
                _ => break,
            }
        }
        h.expect_eq(&format!("inbox walk with limit {limit} sees all 5 once"), seen.len(), 5);
        // members
        let (mut start, mut seen, mut pages) = (None, vec![], 0);
        loop {
            let page: MemberPage = query1::<_, Result<MemberPage, MessagingError>>(env, shard, ministry, "members", (world.group, start, Some(limit))).unwrap();
            h.check(&format!("members page {pages} at most {limit}"), page.members.len() <= limit as usize, page.members.len());
            seen.extend(page.members.iter().map(|m| m.user));
            pages += 1;
            match page.next_start {
                Some(n) if pages < 20 => start = Some(n),
                _ => break,
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        h.expect_eq(&format!("members walk with limit {limit} sees all 5 once"), (seen.len(), unique.len()), (5, 5));
        // blocked users
        let page: Vec<Principal> = query1(env, shard, citizen, "blocked_users", (PageRequest { start: None, limit: Some(limit) },));
        h.expect_eq(&format!("blocked users at most {limit}"), page.len(), limit as usize);
        // messages
        let page = read(env, shard, citizen, world.direct, Some(1), Direction::Forward, Some(limit)).unwrap();
        h.expect_eq(&format!("messages at most {limit}"), page.messages.len(), limit as usize);
    }
    let far: Vec<Principal> = query1(env, shard, citizen, "blocked_users", (PageRequest { start: Some(u64::MAX), limit: None },));
    h.expect_eq("blocked users far past the end", far.len(), 0);
    h.finish();
}

/// The largest replies, at the worst case: pages of maximum-size envelopes (the 1 MiB limit
/// the configuration allows), a message's full edit history of them, and an inbox of 500
/// conversations with the longest names and case references. Each stays under 2 MiB and the
/// pages together return everything.
#[test]
fn replies_stay_under_two_mib_at_the_worst_case() {
    let mut h = Hostile::new("messaging", "replies_stay_under_two_mib_at_the_worst_case");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let limits = Limits { max_envelope_bytes: 1024 * 1024, messages_per_minute: 10_000, max_conversations_per_user: 1_000, ..Limits::default() };
    let shard = deploy_messaging(env, |a| a.limits = Some(limits.clone()));
    let world = pakistan_messaging(env, shard, 2);
    let (a, b) = (world.citizens[0].principal, world.citizens[1].principal);
    let d = open_direct(env, shard, a, b).unwrap();
    let keys = key_directory(env, shard, vec![a, b]);
    // Envelopes at the size limit, wrapped for both: one fills a page on its own; and envelopes
    // just under half the page budget, so two fit and a third would not.
    let at_limit = |env: &mut dyn Env, size: usize| {
        let (mut e, _) = seal(d, a, 0, b"", &keys);
        let overhead = e.nonce.len() + e.ephemeral_public_key.len() + 4 + e.wrapped_keys.iter().map(|w| w.wrapped_key.len() + 33).sum::<usize>();
        e.ciphertext = vec![0xab; size - overhead];
        send(env, shard, a, d, e).unwrap().seq
    };
    for _ in 0..3 {
        at_limit(env, limits.max_envelope_bytes as usize);
    }
    for _ in 0..5 {
        at_limit(env, 749_000);
    }
    for _ in 0..250 {
        at_limit(env, 7_000);
    }
    let mut largest_read = 0;
    for direction in [Direction::Forward, Direction::Backward] {
        let (mut from, mut seen, mut largest) = (None, 0u64, 0usize);
        loop {
            let arg = encode_one(ReadRequest { conversation_id: d, from_seq: from, direction, limit: Some(MAX_MESSAGE_PAGE) }).unwrap();
            let raw = env.query_raw(shard, b, "read_messages", arg).expect("read_messages answers");
            largest = largest.max(raw.len());
            let page: Result<MessagePage, MessagingError> = candid::decode_one(&raw).unwrap();
            let page = page.unwrap();
            seen += page.messages.len() as u64;
            match page.next_seq {
                Some(n) => from = Some(n),
                None => break,
            }
        }
        h.check(&format!("read_messages {direction:?}: largest page under 2 MiB"), largest < TWO_MIB, largest);
        largest_read = largest_read.max(largest);
        h.expect_eq(&format!("read_messages {direction:?}: every message once"), seen, 258);
    }
    // The full edit history of a maximum-size message.
    let seq = at_limit(env, limits.max_envelope_bytes as usize);
    for i in 0..MAX_EDITS_PER_MESSAGE {
        let (mut e, _) = seal(d, a, 0, b"", &keys);
        e.ciphertext = vec![i as u8; 1_040_000];
        let r: Result<u32, MessagingError> = update1(env, shard, a, "edit_message", (d, seq, e));
        assert!(r.is_ok(), "edit {i}: {r:?}");
    }
    let (mut start, mut versions, mut largest) = (None, 0u32, 0usize);
    loop {
        let raw = env.query_raw(shard, b, "message_history", encode_args((d, seq, start)).unwrap()).expect("message_history answers");
        largest = largest.max(raw.len());
        let page: Result<HistoryPage, MessagingError> = candid::decode_one(&raw).unwrap();
        let page = page.unwrap();
        versions += page.versions.len() as u32;
        match page.next_version {
            Some(n) => start = Some(n),
            None => break,
        }
    }
    h.check("message_history: largest page under 2 MiB", largest < TWO_MIB, largest);
    h.expect_eq("message_history: every version once", versions, MAX_EDITS_PER_MESSAGE);
    // An inbox page of 500 conversations with 64-character group names of 4-byte characters
    // and 128-character case references under legal hold.
    let long_name: String = "𝕬".repeat(NAME_MAX_CHARS as usize);
    let long_case: String = "𝕮".repeat(LONG_NAME_MAX_CHARS as usize);
    for _ in 0..498 {
        let g = create_group(env, shard, a, &long_name, vec![]).unwrap();
        ok(env, shard, authority(), "set_legal_hold", (g, long_case.clone()));
    }
    let raw = env.query_raw(shard, a, "inbox", encode_one(PageRequest { start: None, limit: Some(500) }).unwrap()).unwrap();
    let page: InboxPage = candid::decode_one(&raw).unwrap();
    h.expect_eq("inbox: 500 entries", page.entries.len(), 500);
    h.check("inbox: the page is under 2 MiB", raw.len() < TWO_MIB, raw.len());
    eprintln!("largest replies: read_messages {largest_read} B, message_history {largest} B, inbox of 500 worst-case entries {} B", raw.len());
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// 9. Early rejection and bounded decoding
// ---------------------------------------------------------------------------------------------

/// The fixture's `call_raw` error.
#[derive(candid::CandidType, serde::Deserialize, Debug)]
struct RelayError {
    code: u32,
    message: String,
}

/// Calls `method` with `arg` from the canister `relay` (no inspect_message on that path).
fn relayed(env: &mut dyn Env, relay: Principal, shard: Principal, method: &str, arg: Vec<u8>) -> Result<Result<(), MessagingError>, String> {
    let r: Result<Vec<u8>, RelayError> = update1(env, relay, actors::actor("relay-driver"), "call_raw", (shard, method, arg));
    let bytes = r.map_err(|e| format!("{e:?}"))?;
    let reply: Result<Reserved, MessagingError> = candid::decode_one(&bytes).map_err(|e| e.to_string())?;
    Ok(reply.map(|_| ()))
}

/// Ingress that can only fail is refused by inspect_message (anonymous callers of updates,
/// unregistered callers, arguments larger than any legal call), and the endpoints still check
/// everything for callers that bypass it (another canister).
#[test]
fn inspect_message_refuses_early_and_endpoints_still_check() {
    let mut h = Hostile::new("messaging", "inspect_message_refuses_early_and_endpoints_still_check");
    let mut exec = ExecutorEnv::new();
    let env: &mut dyn Env = &mut exec;
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let (citizen, anon, stranger) = (world.citizens[0].principal, Principal::anonymous(), actors::actor("unregistered"));
    let small = seal_with_key(world.direct, citizen, 0, b"hi", [1; 32]);
    let mut r = Refusals::start(env, shard);
    for method in ["deactivate", "block_user", "open_direct", "send_message", "mark_read", "set_retention", "register", "verify_institution", "set_legal_hold"] {
        let arg = match method {
            "deactivate" => encode_args(()).unwrap(),
            "block_user" | "open_direct" => encode_one(citizen).unwrap(),
            "send_message" => encode_args((world.direct, small.clone())).unwrap(),
            "mark_read" => encode_args((world.direct, 1u64)).unwrap(),
            "set_retention" => encode_args((world.direct, RetentionPolicy::KeepForever)).unwrap(),
            "register" => encode_one(RegisterArgs { handle: "anon".into(), display_name: "A".into(), public_key: vec![9; 32] }).unwrap(),
            "verify_institution" => encode_args((citizen, "X".to_string())).unwrap(),
            _ => encode_args((world.direct, "X".to_string())).unwrap(),
        };
        r.rejected(&mut h, env, &format!("anonymous {method}"), anon, method, arg.clone());
        if !matches!(method, "register" | "verify_institution" | "set_legal_hold") {
            r.rejected(&mut h, env, &format!("unregistered {method}"), stranger, method, arg);
        }
    }
    // Larger than any legal call.
    let mut huge = seal_with_key(world.direct, citizen, 0, b"hi", [1; 32]);
    huge.ciphertext = vec![0; 64 * 1024 + 16 * 64 + 4096];
    r.rejected(&mut h, env, "an envelope beyond the largest legal call", citizen, "send_message", encode_args((world.direct, huge.clone())).unwrap());
    r.rejected(&mut h, env, "a 20 KiB profile update", citizen, "update_profile", encode_one("x".repeat(20 * 1024)).unwrap());
    // Garbage that is not Candid, and a flood of nulls in an unexpected field: refused by the
    // bounded decoder, nothing changes.
    r.rejected(&mut h, env, "bytes that are not Candid", citizen, "send_message", vec![0xff; 64]);
    r.rejected(&mut h, env, "wrong argument types", citizen, "mark_read", encode_args(("a", "b")).unwrap());

    r.finish(&mut h, env, "ingress");
    // Another canister bypasses inspect_message: the endpoints' own checks answer.
    let relay = deploy(env, &fixture_wasm(), ());
    let mut r = Refusals::start(env, shard);
    h.expect_eq("unregistered canister sends", relayed(env, relay, shard, "send_message", encode_args((world.direct, small.clone())).unwrap()), Ok(Err(MessagingError::NotRegistered)));
    h.expect_eq("oversized envelope from an unregistered canister", relayed(env, relay, shard, "send_message", encode_args((world.direct, huge)).unwrap()), Ok(Err(MessagingError::NotRegistered)));
    h.expect_eq("non-authority canister sets a legal hold", relayed(env, relay, shard, "set_legal_hold", encode_args((world.direct, "X".to_string())).unwrap()), Ok(Err(MessagingError::NotAuthority)));
    // A valid argument followed by a million nulls to skip: past the skipping quota.
    let flood = encode_args((citizen, vec![(); 1_000_000])).unwrap();
    let got = relayed(env, relay, shard, "open_direct", flood);
    h.check("a million nulls after the argument are refused by the decoder", got.is_err(), &got);
    for _ in 0..4 {
        r.other();
    }
    r.finish(&mut h, env, "relayed");
    // The relay registers; its oversized envelope gets the typed size error.
    let args = RegisterArgs { handle: "relaybot".into(), display_name: "Relay".into(), public_key: vec![9; 32] };
    h.expect_eq("a canister may register", relayed(env, relay, shard, "register", encode_one(args).unwrap()), Ok(Ok(())));
    let g = create_group(env, shard, citizen, "with the relay", vec![relay]).unwrap();
    let mut big = seal_with_key(g, relay, 0, b"hi", [1; 32]);
    big.ciphertext = vec![0; 70_000];
    let mut r = Refusals::start(env, shard);
    let got = relayed(env, relay, shard, "send_message", encode_args((g, big)).unwrap());
    h.check("oversized envelope from a member canister: EnvelopeTooLarge", matches!(got, Ok(Err(MessagingError::EnvelopeTooLarge { max: 65_536, .. }))), &got);
    r.other();
    r.finish(&mut h, env, "oversized envelope");
    h.finish();
}

