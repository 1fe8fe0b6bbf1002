//! `messaging` on its real wasm (out/messaging.wasm): a verified ministry and citizens talking
//! end-to-end encrypted (the encryption done here with x25519-dalek + HKDF + ChaCha20-Poly1305),
//! a group of twenty, pagination over thousands of messages, unread counts, retention with legal
//! hold, the rate limit, group roles, and an upgrade that keeps everything.

use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::messaging::*;
use std::time::Duration;
use suite_tests::scenarios::messaging::*;
use suite_tests::*;

const STRANGER: Principal = Principal::from_slice(&[0x6d, 0xff, 0x01]);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The whole stable memory of a canister (executor only).
fn stable_memory(env: &mut dyn Env, canister: Principal) -> Option<Vec<u8>> {
    let ex = env.executor()?;
    let pages = ex.stable_size_pages(canister);
    Some(ex.stable_read(canister, 0, (pages * 65_536) as usize))
}

fn get_user(env: &mut dyn Env, canister: Principal, user: Principal) -> UserView {
    let v: Option<UserView> = query1(env, canister, STRANGER, "get_user", (user,));
    v.unwrap_or_else(|| panic!("user {user} missing"))
}

fn audit(env: &mut dyn Env, canister: Principal) -> AuditPage {
    query1(env, canister, STRANGER, "audit_log", (PageRequest::default(),))
}

/// The ministry and a citizen, and the group of twenty: every member decrypts what the
/// canister returns, the stored bytes hold ciphertext and never plaintext, outsiders are refused.
fn ministry_citizens_and_group_of_twenty(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |_| {});
    let mut world = pakistan_messaging(env, shard, 19);
    let citizen = &world.citizens[0];

    // The ministry shows as verified, to anyone.
    let ministry_view = get_user(env, shard, world.ministry.principal);
    let verified = ministry_view.verified.expect("ministry verified");
    assert_eq!((verified.institution_name.as_str(), verified.verified_by), (MINISTRY_NAME, authority()));
    assert_eq!(get_user(env, shard, citizen.principal).verified, None);

    // Direct: both sides decrypt all three messages.
    let page = read(env, shard, citizen.principal, world.direct, None, Direction::Forward, None).unwrap();
    assert_eq!(page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    for m in &page.messages {
        let expected = &world.sent[&(world.direct, m.seq)];
        assert_eq!(citizen.open(world.direct, m).as_deref(), Some(expected.as_bytes()));
        assert_eq!(world.ministry.open(world.direct, m).as_deref(), Some(expected.as_bytes()));
        assert_eq!(world.citizens[1].open(world.direct, m), None, "a non-recipient has no key");
    }
    // Group: 20 members, every one decrypts the announcement.
    let members = all_members(env, shard, world.ministry.principal, world.group).unwrap();
    assert_eq!(members.len(), 20);
    let announcement = message(env, shard, citizen.principal, world.group, 1);
    let text = &world.sent[&(world.group, 1)];
    for c in world.citizens.iter().chain([&world.ministry]) {
        assert_eq!(c.open(world.group, &announcement).as_deref(), Some(text.as_bytes()), "{}", c.handle);
    }
    // Tampering is detected: the same envelope under another sender does not decrypt.
    let mut forged = announcement.clone();
    forged.sender = citizen.principal;
    assert_eq!(citizen.open(world.group, &forged), None);

    // No plaintext in what the canister returns or stores; the ciphertext is there.
    let MessageContent::Envelope(stored) = &announcement.content else { panic!("announcement deleted") };
    match stable_memory(env, shard) {
        Some(memory) => {
            // A stored value may straddle two pages of a B-tree node, so one half of it is
            // found whole.
            let (head, tail) = stored.ciphertext.split_at(stored.ciphertext.len() / 2);
            assert!(contains(&memory, head) || contains(&memory, tail), "the scan finds stored ciphertext");
            for text in world.sent.values() {
                assert!(!contains(&memory, text.as_bytes()), "plaintext {text:?} found in stable memory");
                let prefix = &text.as_bytes()[..text.len().min(8)];
                assert!(!contains(&memory, prefix), "plaintext prefix of {text:?} in stable memory");
            }
        }
        None => skipped("stable-memory scan", "backend cannot read stable memory"),
    }
    assert!(!contains(&stored.ciphertext, text.as_bytes()));

    // Outsiders and bad input: typed errors.
    let stranger = Client::new(STRANGER, "stranger");
    stranger.register(env, shard, "Stranger").unwrap();
    assert_eq!(read(env, shard, STRANGER, world.direct, None, Direction::Forward, None), Err(MessagingError::NotAMember { conversation_id: world.direct }));
    assert_eq!(read(env, shard, Principal::anonymous(), world.group, None, Direction::Forward, None), Err(MessagingError::NotAMember { conversation_id: world.group }));
    let (envelope, _) = seal(world.group, STRANGER, 0, b"let me in", &[]);
    assert_eq!(send(env, shard, STRANGER, world.group, envelope.clone()), Err(MessagingError::NotAMember { conversation_id: world.group }));
    // Anonymous updates never reach the endpoint: inspect_message refuses the ingress.
    let r: Result<(Result<SendReceipt, MessagingError>,), Reject> = try_update(env, shard, Principal::anonymous(), "send_message", (world.group, envelope));
    assert!(r.is_err(), "anonymous send: {r:?}");
    let bad_key = RegisterArgs { handle: "shortkey".into(), display_name: "S".into(), public_key: vec![7; 31] };
    let r: Result<UserView, MessagingError> = update1(env, shard, citizen_principal(500), "register", (bad_key,));
    assert_eq!(r, Err(MessagingError::InvalidPublicKey { expected_len: 32, actual_len: 31 }));
    let r: Result<(Result<UserView, MessagingError>,), Reject> = try_update(env, shard, Principal::anonymous(), "register", (RegisterArgs { handle: "anon".into(), display_name: "A".into(), public_key: vec![7; 32] },));
    assert!(r.is_err(), "anonymous register: {r:?}");
    let r: Result<Verification, MessagingError> = update1(env, shard, citizen.principal, "verify_institution", (citizen.principal, "Fake Ministry".to_string()));
    assert_eq!(r, Err(MessagingError::NotAuthority));
    let mut empty = seal_with_key(world.group, citizen.principal, 0, b"x", [1; 32]);
    empty.ciphertext.clear();
    assert_eq!(send(env, shard, citizen.principal, world.group, empty), Err(MessagingError::EmptyEnvelope));
    let big = seal_with_key(world.group, citizen.principal, 0, &vec![b'a'; 70_000], [1; 32]);
    assert!(matches!(send(env, shard, citizen.principal, world.group, big), Err(MessagingError::EnvelopeTooLarge { max: 65_536, .. })));
    let keys = key_directory(env, shard, (1..=20).map(citizen_principal).chain([world.ministry.principal]).collect::<Vec<_>>());
    let limits = Limits::default();
    let too_many: Vec<PublicKeyRecord> = (0..limits.max_recipients + 1).map(|i| PublicKeyRecord { user: citizen_principal(1000 + i as u16), ..keys[0].clone() }).collect();
    let (crowded, _) = seal(world.group, citizen.principal, 0, b"hi", &too_many);
    assert_eq!(send(env, shard, citizen.principal, world.group, crowded), Err(MessagingError::TooManyRecipients { count: 65, max: 64 }));

    // Key rotation: the old message stays readable with the old key, new ones use the new epoch.
    let old_key = world.citizens[0].public_key();
    assert_eq!(world.citizens[0].rotate_key(env, shard), Ok(2));
    let citizen = &world.citizens[0];
    let first: Option<PublicKeyRecord> = query1(env, shard, STRANGER, "public_key_at", (citizen.principal, 1u32));
    assert_eq!(first.map(|k| k.public_key), Some(old_key));
    let direct_id = world.direct;
    let old_message = message(env, shard, citizen.principal, direct_id, 2);
    assert!(citizen.open(direct_id, &old_message).is_some(), "old message readable after rotation");
    let receipt = send_text(env, shard, citizen, direct_id, "after rotation").unwrap();
    let fresh = message(env, shard, citizen.principal, direct_id, receipt.seq);
    let MessageContent::Envelope(e) = &fresh.content else { panic!() };
    assert!(e.wrapped_keys.iter().any(|w| w.recipient == citizen.principal && w.recipient_key_epoch == 2));
    assert_eq!(citizen.open(direct_id, &fresh).as_deref(), Some(&b"after rotation"[..]));

    // Metrics: totals only.
    let m = metrics(env, shard);
    assert_eq!((m.users, m.verified_institutions, m.conversations, m.direct_conversations, m.groups), (21, 1, 2, 1, 1));
    assert_eq!((m.messages_sent, m.messages_stored), (6, 6));
    assert!(m.bytes_stored > 0);
    assert_eq!(m.daily_active_senders, 3);
    // The audit log records the verification and never a message.
    let log = audit(env, shard);
    assert!(log.entries.iter().any(|e| e.kind == "institution_verified"));
    assert!(log.entries.iter().all(|e| !contains(&e.payload, b"CNIC")));
}
scenario!(ministry_citizens_and_group_of_twenty);

fn citizen_principal(n: u16) -> Principal {
    citizen(n)
}

/// Thousands of messages read back in pages in both directions without gaps; unread counts
/// follow read markers.
fn pagination_and_unread_counts(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |a| a.limits = Some(Limits { messages_per_minute: 10_000, ..Limits::default() }));
    let a = Client::new(citizen(1), "amina");
    let b = Client::new(citizen(2), "bilal");
    a.register(env, shard, "Amina").unwrap();
    b.register(env, shard, "Bilal").unwrap();
    let d = open_direct(env, shard, a.principal, b.principal).unwrap();
    let keys = key_directory(env, shard, vec![a.principal, b.principal]);
    const N: u64 = 2_500;
    for i in 1..=N {
        let (envelope, _) = seal(d, a.principal, 0, format!("message {i}").as_bytes(), &keys);
        assert_eq!(send(env, shard, a.principal, d, envelope).unwrap().seq, i);
    }
    assert_eq!(unread(env, shard, b.principal, d), N);
    assert_eq!(unread(env, shard, a.principal, d), 0, "the sender has read its own messages");

    // Forward, in pages of at most 200, from the start.
    let mut seen = vec![];
    let mut from = None;
    loop {
        let page = read(env, shard, b.principal, d, from, Direction::Forward, Some(200)).unwrap();
        assert!(!page.messages.is_empty() && page.messages.len() <= 200);
        seen.extend(page.messages.iter().map(|m| m.seq));
        match page.next_seq {
            Some(n) => from = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, (1..=N).collect::<Vec<_>>());
    // Backward from the newest, and from the middle.
    let newest = read(env, shard, b.principal, d, None, Direction::Backward, Some(3)).unwrap();
    assert_eq!(newest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![N, N - 1, N - 2]);
    assert_eq!(newest.next_seq, Some(N - 3));
    let mut backward = vec![];
    let mut from = Some(1_234);
    while let Some(f) = from {
        let page = read(env, shard, b.principal, d, Some(f), Direction::Backward, Some(500)).unwrap();
        backward.extend(page.messages.iter().map(|m| m.seq));
        from = page.next_seq;
    }
    assert_eq!(backward, (1..=1_234).rev().collect::<Vec<_>>());
    // Page contents decrypt to the right text.
    let m = message(env, shard, b.principal, d, 1_777);
    assert_eq!(b.open(d, &m).as_deref(), Some(&b"message 1777"[..]));

    // Read markers.
    assert_eq!(mark_read(env, shard, b.principal, d, 1_000), Ok(N - 1_000));
    assert_eq!(unread(env, shard, b.principal, d), N - 1_000);
    assert_eq!(mark_read(env, shard, b.principal, d, 10), Ok(N - 1_000), "markers never move back");
    assert_eq!(mark_read(env, shard, b.principal, d, N + 1), Err(MessagingError::SequenceOutOfRange { seq: N + 1, last_seq: N }));
    let (envelope, _) = seal(d, a.principal, 0, b"one more", &keys);
    send(env, shard, a.principal, d, envelope).unwrap();
    assert_eq!(unread(env, shard, b.principal, d), N + 1 - 1_000);
    assert_eq!(mark_read(env, shard, b.principal, d, N + 1), Ok(0));
    assert_eq!(unread(env, shard, b.principal, d), 0);
}
scenario!(pagination_and_unread_counts);

/// Disappearing messages are swept by the timer once time advances; a legal hold stops the
/// sweep and deletion until it is cleared.
fn retention_sweep_and_legal_hold(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 3);
    let (c1, c2) = (&world.citizens[0], &world.citizens[1]);
    let free = world.direct;
    let held = open_direct(env, shard, c2.principal, world.ministry.principal).unwrap();
    for id in [free, held] {
        let r: Result<(), MessagingError> = update1(env, shard, world.ministry.principal, "set_retention", (id, RetentionPolicy::Disappearing { after_seconds: 60 }));
        r.unwrap();
    }
    send_text(env, shard, c2, held, "evidence").unwrap();
    let r: Result<(), MessagingError> = update1(env, shard, c2.principal, "set_legal_hold", (held, "FIA-2024-17".to_string()));
    assert_eq!(r, Err(MessagingError::NotAuthority));
    let r: Result<(), MessagingError> = update1(env, shard, authority(), "set_legal_hold", (held, "FIA-2024-17".to_string()));
    r.unwrap();
    let r: Result<(), MessagingError> = update1(env, shard, c2.principal, "delete_message", (held, 1u64));
    assert_eq!(r, Err(MessagingError::LegalHoldActive { conversation_id: held }));

    let is_live = |env: &mut dyn Env, who: Principal, id: u64, seq: u64| matches!(message(env, shard, who, id, seq).content, MessageContent::Envelope(_));
    // Not yet expired.
    env.advance_time(Duration::from_secs(30));
    env.tick();
    assert!(is_live(env, c1.principal, free, 1));
    // Expired: the free conversation is swept, the held one is not.
    env.advance_time(Duration::from_secs(90));
    env.tick();
    for seq in 1..=3 {
        let m = message(env, shard, c1.principal, free, seq);
        assert!(matches!(&m.content, MessageContent::Deleted(t) if t.reason == DeletionReason::Retention && t.deleted_by.is_none()), "seq {seq}: {:?}", m.content);
    }
    assert!(is_live(env, c2.principal, held, 1));
    assert_eq!(metrics(env, shard).messages_expired, 3);
    assert_eq!(metrics(env, shard).legal_holds_active, 1);
    // Clearing the hold lets the next run sweep it.
    let r: Result<(), MessagingError> = update1(env, shard, authority(), "clear_legal_hold", (held,));
    r.unwrap();
    env.advance_time(Duration::from_secs(61));
    env.tick();
    assert!(!is_live(env, c2.principal, held, 1));
    assert_eq!(metrics(env, shard).messages_expired, 4);
    // Numbering continues after the sweep.
    assert_eq!(send_text(env, shard, c1, free, "still here?").unwrap().seq, 4);
    // Holds (an authority's act) are audited, without content; members' policy changes are
    // not (they would show who talks to whom), members see them in the conversation instead.
    let kinds: Vec<String> = audit(env, shard).entries.into_iter().map(|e| e.kind).collect();
    for kind in ["legal_hold_set", "legal_hold_cleared"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
    }
    assert!(!kinds.iter().any(|k| k == "retention_set"), "{kinds:?}");
    let view: Result<ConversationView, MessagingError> = query1(env, shard, c1.principal, "conversation", (free,));
    assert_eq!(view.unwrap().retention_changed.map(|c| c.by), Some(world.ministry.principal));
}
scenario!(retention_sweep_and_legal_hold);

/// The per-user limit refuses the 61st message in a minute with the limit in the error, and
/// accepts again once the window has passed.
fn rate_limit_hit_and_recovered(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 1);
    let c = &world.citizens[0];
    // A fresh minute: the scenario had the citizen send a few messages already.
    env.advance_time(Duration::from_secs(61));
    let limit = Limits::default().messages_per_minute as u64;
    let keys = key_directory(env, shard, vec![c.principal, world.ministry.principal]);
    let mut last = 0;
    for _ in 0..limit {
        let (e, _) = seal(world.direct, c.principal, 0, b"ping", &keys);
        last = send(env, shard, c.principal, world.direct, e).unwrap().seq;
    }
    let (e, _) = seal(world.direct, c.principal, 0, b"one too many", &keys);
    let Err(MessagingError::RateLimited { messages_per_minute, retry_after_ns }) = send(env, shard, c.principal, world.direct, e.clone()) else {
        panic!("expected RateLimited")
    };
    assert_eq!(messages_per_minute, 60);
    assert!(retry_after_ns > 0 && retry_after_ns <= 60_000_000_000);
    // Others are not affected.
    assert!(send_text(env, shard, &world.ministry, world.direct, "the ministry can still write").is_ok());
    env.advance_time(Duration::from_nanos(retry_after_ns));
    let receipt = send(env, shard, c.principal, world.direct, e).unwrap();
    assert_eq!(receipt.seq, last + 2, "no gap left by the refused message");
}
scenario!(rate_limit_hit_and_recovered);

fn call(env: &mut dyn Env, shard: Principal, who: Principal, method: &str, args: (u64, Principal)) -> Result<(), MessagingError> {
    update1(env, shard, who, method, args)
}

/// Who may do what in a group of twenty.
fn group_role_rules(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |a| a.limits = Some(Limits { max_group_size: 20, ..Limits::default() }));
    let world = pakistan_messaging(env, shard, 19);
    let g = world.group;
    let owner = world.ministry.principal;
    let (admin, member, other) = (world.citizens[0].principal, world.citizens[1].principal, world.citizens[2].principal);
    let newcomer = Client::new(citizen(100), "newcomer");
    newcomer.register(env, shard, "Newcomer").unwrap();

    let set_role = |env: &mut dyn Env, by: Principal, user: Principal, role: Role| -> Result<(), MessagingError> {
        update1(env, shard, by, "set_role", (g, user, role))
    };
    let add = |env: &mut dyn Env, by: Principal, users: Vec<Principal>| -> Result<u32, MessagingError> { update1(env, shard, by, "add_members", (g, users)) };

    assert_eq!(set_role(env, member, other, Role::Admin), Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Owner }));
    set_role(env, owner, admin, Role::Admin).unwrap();
    assert_eq!(set_role(env, admin, member, Role::Admin), Err(MessagingError::InsufficientRole { role: Role::Admin, required: Role::Owner }));
    // The group is full at twenty.
    assert_eq!(add(env, admin, vec![newcomer.principal]), Err(MessagingError::GroupFull { max: 20 }));
    // Members cannot remove; admins remove members but not admins or owners.
    assert_eq!(call(env, shard, member, "remove_member", (g, other)), Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Admin }));
    assert_eq!(call(env, shard, admin, "remove_member", (g, owner)), Err(MessagingError::CannotRemoveOwner { user: owner }));
    call(env, shard, admin, "remove_member", (g, other)).unwrap();
    assert_eq!(add(env, member, vec![newcomer.principal]), Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Admin }));
    assert_eq!(add(env, admin, vec![newcomer.principal]), Ok(20));
    // The newcomer reads only what is sent after joining.
    let page = read(env, shard, newcomer.principal, g, None, Direction::Forward, None).unwrap();
    assert!(page.messages.is_empty());
    let receipt = send_text(env, shard, &world.ministry, g, "Welcome!").unwrap();
    let welcome = message(env, shard, newcomer.principal, g, receipt.seq);
    assert_eq!(newcomer.open(g, &welcome).as_deref(), Some(&b"Welcome!"[..]));
    // A removed member can neither read nor send.
    assert_eq!(read(env, shard, other, g, None, Direction::Forward, None), Err(MessagingError::NotAMember { conversation_id: g }));
    // Deleting: members only their own; admins anyone's.
    let r: Result<(), MessagingError> = update1(env, shard, member, "delete_message", (g, receipt.seq));
    assert_eq!(r, Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Admin }));
    let r: Result<(), MessagingError> = update1(env, shard, admin, "delete_message", (g, receipt.seq));
    r.unwrap();
    // Editing someone else's message is refused; the sender's edit keeps history.
    let reply_seq: u64 = 2;
    let e = seal_with_key(g, member, 0, b"forged", [9; 32]);
    let r: Result<u32, MessagingError> = update1(env, shard, member, "edit_message", (g, reply_seq, e));
    assert_eq!(r, Err(MessagingError::NotMessageSender { sender: world.citizens[18].principal }));
    // The last owner cannot leave; after handing over, they can, and then cannot send.
    let leave = |env: &mut dyn Env, who: Principal| -> Result<(), MessagingError> { update1(env, shard, who, "leave_group", (g,)) };
    assert_eq!(leave(env, owner), Err(MessagingError::LastOwner));
    set_role(env, owner, admin, Role::Owner).unwrap();
    leave(env, owner).unwrap();
    assert_eq!(send_text(env, shard, &world.ministry, g, "still there?"), Err(MessagingError::NotAMember { conversation_id: g }));
    let (e, _) = seal(g, owner, 0, b"x", &[]);
    assert_eq!(send(env, shard, owner, g, e), Err(MessagingError::NotAMember { conversation_id: g }));
    let view: Result<ConversationView, MessagingError> = query1(env, shard, admin, "conversation", (g,));
    assert_eq!(view.unwrap().member_count, 19);
}
scenario!(group_role_rules);

/// Blocking stops a direct conversation in both directions.
fn blocking(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 2);
    let (c1, c2) = (&world.citizens[0], &world.citizens[1]);
    let r: Result<(), MessagingError> = update1(env, shard, c2.principal, "block_user", (c1.principal,));
    r.unwrap();
    assert_eq!(open_direct(env, shard, c1.principal, c2.principal), Err(MessagingError::Blocked { blocker: c2.principal }));
    let r: Result<(), MessagingError> = update1(env, shard, c2.principal, "unblock_user", (c1.principal,));
    r.unwrap();
    let d = open_direct(env, shard, c1.principal, c2.principal).unwrap();
    let r: Result<(), MessagingError> = update1(env, shard, c1.principal, "block_user", (c2.principal,));
    r.unwrap();
    assert_eq!(send_text(env, shard, c2, d, "hello?"), Err(MessagingError::Blocked { blocker: c1.principal }));
}
scenario!(blocking);

/// Upgrading with the same wasm keeps users, keys, verification, conversations, messages, read
/// markers, metrics and the audit chain; sequence numbers continue and the retention timer
/// runs again.
fn upgrade_keeps_everything(env: &mut dyn Env) {
    let shard = deploy_messaging(env, |_| {});
    let world = pakistan_messaging(env, shard, 19);
    let c = &world.citizens[0];
    mark_read(env, shard, c.principal, world.group, 1).unwrap();
    let before_metrics = metrics(env, shard);
    let before_inbox = inbox(env, shard, c.principal);
    let before_page = read(env, shard, c.principal, world.group, None, Direction::Forward, None).unwrap();
    let before_audit = audit(env, shard);
    let before_ministry = get_user(env, shard, world.ministry.principal);

    env.upgrade(shard, &wasm("messaging"), candid::encode_one(None::<InitArgs>).unwrap()).unwrap_or_else(|r| panic!("upgrade: {r}"));

    assert_eq!(metrics(env, shard), before_metrics);
    assert_eq!(inbox(env, shard, c.principal), before_inbox);
    assert_eq!(get_user(env, shard, world.ministry.principal), before_ministry);
    let after_page = read(env, shard, c.principal, world.group, None, Direction::Forward, None).unwrap();
    assert_eq!(after_page, before_page);
    assert_eq!(c.open(world.group, &after_page.messages[0]).as_deref(), Some(world.sent[&(world.group, 1)].as_bytes()));
    let after_audit = audit(env, shard);
    assert_eq!(after_audit.entries[..before_audit.entries.len()], before_audit.entries[..]);
    let check: ChainCheck = query1(env, shard, STRANGER, "verify_audit_log", (0u64, 1_000u64));
    assert_eq!(check, ChainCheck::Valid { checked: after_audit.total });
    // Sequence numbers continue; handles stay unique.
    assert_eq!(send_text(env, shard, c, world.group, "after the upgrade").unwrap().seq, before_page.last_seq + 1);
    assert_eq!(Client::new(citizen(900), "moitt.gov").register(env, shard, "Impostor"), Err(MessagingError::HandleTaken { handle: "moitt.gov".into() }));
    // The retention timer was re-armed by post_upgrade.
    let r: Result<(), MessagingError> = update1(env, shard, world.ministry.principal, "set_retention", (world.direct, RetentionPolicy::Disappearing { after_seconds: 5 }));
    r.unwrap();
    env.advance_time(Duration::from_secs(120));
    env.tick();
    assert!(matches!(message(env, shard, c.principal, world.direct, 1).content, MessageContent::Deleted(_)));
}
scenario!(upgrade_keeps_everything);

/// A shard of release v0.1.0 (tests/fixtures/release-v0.1.0) holding disappearing
/// messages upgrades to this one: the schema moves to the current one, expired messages read as expired at
/// once (the old sweep list is honoured before it is migrated), the first sweep migrates the
/// list and frees them, and numbering goes on.
fn upgrade_from_the_previous_release_keeps_retention_working(env: &mut dyn Env) {
    let shard = with_wasm_dir(release_dir("v0.1.0"), || deploy_messaging(env, |_| {}));
    let world = pakistan_messaging(env, shard, 2);
    let c = &world.citizens[0];
    let r: Result<(), MessagingError> = update1(env, shard, world.ministry.principal, "set_retention", (world.direct, RetentionPolicy::Disappearing { after_seconds: 60 }));
    r.unwrap();
    let last = send_text(env, shard, c, world.direct, "before the upgrade").unwrap().seq;
    env.advance_time(Duration::from_secs(30));
    env.upgrade(shard, &wasm("messaging"), candid::encode_one(None::<InitArgs>).unwrap()).unwrap_or_else(|r| panic!("upgrade: {r}"));
    let config: Config = query1(env, shard, STRANGER, "config", ());
    assert_eq!(config.schema_version, 3);
    assert!(audit(env, shard).entries.iter().any(|e| e.kind == "schema_migrated"));
    env.advance_time(Duration::from_secs(40)); // everything has expired; no timer has run
    for seq in 1..=last {
        assert!(matches!(message(env, shard, c.principal, world.direct, seq).content, MessageContent::Deleted(_)), "seq {seq} still readable");
    }
    assert_eq!(unread(env, shard, world.ministry.principal, world.direct), 0);
    let expired_before = metrics(env, shard).messages_expired;
    env.advance_time(Duration::from_secs(60));
    env.tick();
    assert_eq!(metrics(env, shard).messages_expired - expired_before, last, "the first sweep migrated the list and freed them");
    assert_eq!(send_text(env, shard, c, world.direct, "after the upgrade").unwrap().seq, last + 1);
}
scenario!(upgrade_from_the_previous_release_keeps_retention_working);

/// Every message of a conversation, oldest first.
fn whole_conversation(env: &mut dyn Env, shard: Principal, who: Principal, conversation_id: u64) -> Vec<MessageView> {
    let mut out = vec![];
    let mut from = None;
    loop {
        let page = read(env, shard, who, conversation_id, from, Direction::Forward, Some(7)).unwrap();
        out.extend(page.messages);
        match page.next_seq {
            Some(n) => from = Some(n),
            None => return out,
        }
    }
}

fn envelope_of(m: &MessageView) -> &Envelope {
    match &m.content {
        MessageContent::Envelope(e) => e,
        other => panic!("message {} has no envelope: {other:?}", m.seq),
    }
}

/// A v0.2.0 shard (schema 2: every record CBOR) holding messages, an edited and a deleted one,
/// upgrades to this release (schema 3: compact records). The old records are not rewritten:
/// they read back exactly as before, next to new messages stored in the compact form; an old
/// message edited after the upgrade keeps its history; users, inbox, read markers and metrics
/// carry over. The two forms are told apart in the raw stable memory: an old message's CBOR
/// (the field name in front of its ciphertext) is there, a new message's ciphertext is stored
/// without it.
fn upgrade_from_v0_2_0_reads_old_messages_next_to_new_ones(env: &mut dyn Env) {
    let shard = with_wasm_dir(release_dir("v0.2.0"), || deploy_messaging(env, |a| a.limits = Some(Limits { messages_per_minute: 10_000, ..Limits::default() })));
    let world = pakistan_messaging(env, shard, 4);
    let (c, m) = (&world.citizens[0], &world.ministry);
    for i in 0..20 {
        send_text(env, shard, if i % 2 == 0 { c } else { m }, world.direct, &format!("old direct {i}")).unwrap();
        send_text(env, shard, &world.citizens[i % 4], world.group, &format!("old group {i}")).unwrap();
    }
    let keys = key_directory(env, shard, vec![c.principal, m.principal]);
    let (edit, _) = seal(world.direct, c.principal, 0, b"old direct 0, edited before the upgrade", &keys);
    let r: Result<u32, MessagingError> = update1(env, shard, c.principal, "edit_message", (world.direct, 4u64, edit));
    assert_eq!(r, Ok(1));
    let r: Result<(), MessagingError> = update1(env, shard, c.principal, "delete_message", (world.direct, 6u64));
    r.unwrap();
    mark_read(env, shard, world.citizens[1].principal, world.group, 5).unwrap();
    let old_direct = whole_conversation(env, shard, m.principal, world.direct);
    let old_group = whole_conversation(env, shard, m.principal, world.group);
    let before = (metrics(env, shard), inbox(env, shard, world.citizens[1].principal), get_user(env, shard, m.principal));

    env.upgrade(shard, &wasm("messaging"), candid::encode_one(None::<InitArgs>).unwrap()).unwrap_or_else(|r| panic!("upgrade: {r}"));
    let config: Config = query1(env, shard, STRANGER, "config", ());
    assert_eq!(config.schema_version, 3);
    assert_eq!((metrics(env, shard), inbox(env, shard, world.citizens[1].principal), get_user(env, shard, m.principal)), before);
    assert_eq!(whole_conversation(env, shard, m.principal, world.direct), old_direct);
    assert_eq!(whole_conversation(env, shard, m.principal, world.group), old_group);

    // New messages in both conversations, by old users, after the old ones.
    let mut new_texts = vec![];
    for i in 0..10 {
        let text = format!("new message {i}");
        let (conversation, from) = if i % 2 == 0 { (world.direct, if i % 4 == 0 { m } else { c }) } else { (world.group, &world.citizens[i % 4]) };
        let seq = send_text(env, shard, from, conversation, &text).unwrap().seq;
        new_texts.push((conversation, seq, text));
    }
    let direct = whole_conversation(env, shard, m.principal, world.direct);
    let group = whole_conversation(env, shard, m.principal, world.group);
    assert_eq!(direct[..old_direct.len()], old_direct[..]);
    assert_eq!(group[..old_group.len()], old_group[..]);
    for (conversation, seq, text) in &new_texts {
        let all = if *conversation == world.direct { &direct } else { &group };
        let message = all.iter().find(|x| x.seq == *seq).unwrap();
        assert_eq!(m.open(*conversation, message).as_deref(), Some(text.as_bytes()), "{conversation}/{seq}");
    }
    for (&(conversation, seq), text) in &world.sent {
        let all = if conversation == world.direct { &direct } else { &group };
        assert_eq!(m.open(conversation, all.iter().find(|x| x.seq == seq).unwrap()).as_deref(), Some(text.as_bytes()));
    }
    assert_eq!(metrics(env, shard).messages_sent, before.0.messages_sent + 10);

    // The raw forms: an untouched old message is still CBOR, the new ones are compact.
    let memory = stable_memory(env, shard).expect("executor");
    // (A value may straddle two pages of a B-tree node: presence is checked on short pieces.)
    let cbor_ciphertext = |e: &Envelope| [b"ciphertext".as_slice(), &[0x58, e.ciphertext.len() as u8], &e.ciphertext[..8]].concat();
    let untouched = old_group.last().unwrap();
    assert!(contains(&memory, &cbor_ciphertext(envelope_of(untouched))), "the old record's CBOR is gone");
    for (conversation, seq, _) in &new_texts {
        let all = if *conversation == world.direct { &direct } else { &group };
        let e = envelope_of(all.iter().find(|x| x.seq == *seq).unwrap());
        let (head, tail) = e.ciphertext.split_at(e.ciphertext.len() / 2);
        assert!(contains(&memory, head) || contains(&memory, tail), "new message stored");
        assert!(!contains(&memory, &cbor_ciphertext(e)), "a new message was stored as CBOR");
    }

    // An old message edited after the upgrade: rewritten compact, its history (old and new
    // versions) intact; an old tombstone stays one.
    let (edit, _) = seal(world.direct, c.principal, 0, b"edited after the upgrade", &keys);
    let r: Result<u32, MessagingError> = update1(env, shard, c.principal, "edit_message", (world.direct, 4u64, edit));
    assert_eq!(r, Ok(2));
    let history: Result<HistoryPage, MessagingError> = query1(env, shard, m.principal, "message_history", (world.direct, 4u64, None::<u32>));
    let history = history.unwrap().versions;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].envelope, *envelope_of(&old_direct[3]));
    let edited = message(env, shard, m.principal, world.direct, 4);
    assert_eq!((edited.edit_count, m.open(world.direct, &edited).as_deref()), (2, Some(b"edited after the upgrade".as_slice())));
    assert!(matches!(message(env, shard, m.principal, world.direct, 6).content, MessageContent::Deleted(Tombstone { reason: DeletionReason::Sender, .. })));
    // The ministry last sent (and so read) the group's first message.
    assert_eq!(unread(env, shard, m.principal, world.group), group.last().unwrap().seq - 1);
}
scenario!(upgrade_from_v0_2_0_reads_old_messages_next_to_new_ones);

/// Executor only: instructions of one `send_message` (a ~100-byte text in a direct conversation,
/// wrapped for both sides) late in a conversation, the figure the README's capacity model uses.
#[test]
fn send_message_cost_for_the_capacity_model() {
    let mut env = ExecutorEnv::new();
    let env: &mut dyn Env = &mut env;
    let shard = deploy_messaging(env, |a| a.limits = Some(Limits { messages_per_minute: 10_000, ..Limits::default() }));
    let world = pakistan_messaging(env, shard, 1);
    let c = &world.citizens[0];
    let keys = key_directory(env, shard, vec![c.principal, world.ministry.principal]);
    let text = "Assalam-o-Alaikum, please confirm the appointment for my passport renewal on Monday at 10am.";
    let mut instructions = vec![];
    for _ in 0..500 {
        let (envelope, _) = seal(world.direct, c.principal, 0, text.as_bytes(), &keys);
        let arg = candid::encode_args((world.direct, envelope)).unwrap();
        let ex = env.executor().expect("executor");
        let outcome = ex.update_with_stats(shard, c.principal, "send_message", arg);
        assert!(outcome.result.is_ok());
        instructions.push(outcome.instructions);
    }
    let last = *instructions.last().unwrap();
    let bytes = metrics(env, shard).bytes_stored / metrics(env, shard).messages_stored;
    eprintln!("send_message: {last} instructions (500th message); {bytes} envelope bytes per message");
    assert!(last < 20_000_000, "send_message costs {last} instructions");
}
