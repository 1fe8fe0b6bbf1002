//! Property tests: random sequences of calls from random principals (anonymous, members,
//! strangers, deactivated and blocked users, an authority) run on the real domain code and on
//! a plain-Rust model of the rules; after every step the two must agree on what was accepted,
//! and the state must keep its invariants:
//! - sequence numbers per conversation are 1..=last_seq with no gaps;
//! - the member sets (with roles) are the model's; indexes and counts agree with them;
//! - a deactivated user is in no conversation and receives nothing;
//! - blocks are the model's and stop what they should;
//! - every group with members has an Owner;
//! - a refused call changes no byte of stable memory.

use crate::state::State;
use candid::Principal;
use ic_stable_structures::memory_manager::MemoryId;
use ic_stable_structures::VectorMemory;
use interfaces::messaging::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const MAX_GROUP: usize = 4;
const MAX_CONVERSATIONS: usize = 3;
/// Actor 0 is anonymous, 1..=6 may register (6 rarely does: a stranger), 7 is the authority.
const ACTORS: u8 = 8;
const AUTHORITY: u8 = 7;

fn principal(a: u8) -> Principal {
    match a {
        0 => Principal::anonymous(),
        AUTHORITY => Principal::from_slice(&[200; 29]),
        n => Principal::from_slice(&[n; 29]),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Register(u8),
    Deactivate(u8),
    CreateGroup(u8, Vec<u8>),
    AddMember(u8, usize, u8),
    RemoveMember(u8, usize, u8),
    Leave(u8, usize),
    SetRole(u8, usize, u8, Role),
    OpenDirect(u8, u8),
    Send(u8, usize, Vec<u8>),
    Block(u8, u8),
    Unblock(u8, u8),
    Read(u8, usize),
    MarkRead(u8, usize, u64),
    SetRetention(u8, usize),
}

fn actor() -> impl Strategy<Value = u8> {
    prop_oneof![1 => Just(0u8), 12 => 1u8..=5, 1 => Just(6u8), 1 => Just(AUTHORITY)]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Member), Just(Role::Admin), Just(Role::Owner)]
}

fn op() -> impl Strategy<Value = Op> {
    let conv = 0usize..6; // an index into the conversations created so far (or past them)
    prop_oneof![
        4 => actor().prop_map(Op::Register),
        1 => actor().prop_map(Op::Deactivate),
        3 => (actor(), proptest::collection::vec(actor(), 0..4)).prop_map(|(a, m)| Op::CreateGroup(a, m)),
        3 => (actor(), conv.clone(), actor()).prop_map(|(a, c, b)| Op::AddMember(a, c, b)),
        2 => (actor(), conv.clone(), actor()).prop_map(|(a, c, b)| Op::RemoveMember(a, c, b)),
        1 => (actor(), conv.clone()).prop_map(|(a, c)| Op::Leave(a, c)),
        2 => (actor(), conv.clone(), actor(), role()).prop_map(|(a, c, b, r)| Op::SetRole(a, c, b, r)),
        3 => (actor(), actor()).prop_map(|(a, b)| Op::OpenDirect(a, b)),
        6 => (actor(), conv.clone(), proptest::collection::btree_set(actor(), 0..3)).prop_map(|(a, c, r)| Op::Send(a, c, r.into_iter().collect())),
        2 => (actor(), actor()).prop_map(|(a, b)| Op::Block(a, b)),
        1 => (actor(), actor()).prop_map(|(a, b)| Op::Unblock(a, b)),
        3 => (actor(), conv.clone()).prop_map(|(a, c)| Op::Read(a, c)),
        2 => (actor(), conv.clone(), 0u64..6).prop_map(|(a, c, s)| Op::MarkRead(a, c, s)),
        1 => (actor(), conv).prop_map(|(a, c)| Op::SetRetention(a, c)),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct MConv {
    direct: Option<(u8, u8)>,
    /// Member → (role, first visible seq, last read seq).
    members: BTreeMap<u8, (Role, u64, u64)>,
    last_seq: u64,
}

#[derive(Default, Debug)]
struct Model {
    /// Registered users → active.
    users: BTreeMap<u8, bool>,
    blocks: BTreeSet<(u8, u8)>,
    /// Conversations in creation order (their ids are 1, 2, ...).
    convs: Vec<MConv>,
}

impl Model {
    fn active(&self, a: u8) -> bool {
        self.users.get(&a) == Some(&true)
    }
    fn deactivated(&self, a: u8) -> bool {
        self.users.get(&a) == Some(&false)
    }
    fn count(&self, a: u8) -> usize {
        self.convs.iter().filter(|c| c.members.contains_key(&a)).count()
    }
    fn blocked_either(&self, a: u8, b: u8) -> bool {
        self.blocks.contains(&(a, b)) || self.blocks.contains(&(b, a))
    }
    fn conv(&self, i: usize) -> Option<&MConv> {
        self.convs.get(i)
    }
    fn role(&self, i: usize, a: u8) -> Option<Role> {
        self.conv(i)?.members.get(&a).map(|m| m.0)
    }
    fn owners(&self, i: usize) -> usize {
        self.convs[i].members.values().filter(|m| m.0 == Role::Owner).count()
    }
    fn is_group(&self, i: usize) -> bool {
        self.conv(i).is_some_and(|c| c.direct.is_none())
    }
    /// May `a` write into conversation `i` (send, set retention)?
    fn writable(&self, a: u8, i: usize) -> bool {
        let Some(c) = self.conv(i) else { return false };
        self.active(a)
            && c.members.contains_key(&a)
            && c.direct.is_none_or(|(x, y)| !self.blocked_either(x, y) && self.active(if x == a { y } else { x }))
    }
    /// `b` may join a conversation `a` adds them to.
    fn joinable(&self, a: u8, b: u8) -> bool {
        b != a && self.active(b) && !self.blocks.contains(&(b, a)) && self.count(b) < MAX_CONVERSATIONS
    }

    /// Applies `op` if the rules allow it; returns whether they did.
    fn apply(&mut self, op: &Op) -> bool {
        match *op {
            Op::Register(a) => {
                let ok = a != 0 && !self.users.contains_key(&a);
                if ok {
                    self.users.insert(a, true);
                }
                ok
            }
            Op::Deactivate(a) => {
                let ok = self.active(a);
                if ok {
                    self.users.insert(a, false);
                    for c in &mut self.convs {
                        let Some((role, ..)) = c.members.remove(&a) else { continue };
                        let owner_left = c.members.values().any(|m| m.0 == Role::Owner);
                        if c.direct.is_none() && role == Role::Owner && !owner_left {
                            let heir = c.members.iter().find(|m| m.1 .0 == Role::Admin).or_else(|| c.members.iter().next()).map(|m| *m.0);
                            if let Some(h) = heir {
                                c.members.get_mut(&h).unwrap().0 = Role::Owner;
                            }
                        }
                    }
                }
                ok
            }
            Op::CreateGroup(a, ref members) => {
                let unique = members.iter().collect::<BTreeSet<_>>().len() == members.len();
                let ok = self.active(a)
                    && members.len() < MAX_GROUP
                    && unique
                    && members.iter().all(|&b| self.joinable(a, b))
                    && self.count(a) < MAX_CONVERSATIONS;
                if ok {
                    let mut m = BTreeMap::from([(a, (Role::Owner, 1, 0))]);
                    m.extend(members.iter().map(|&b| (b, (Role::Member, 1, 0))));
                    self.convs.push(MConv { direct: None, members: m, last_seq: 0 });
                }
                ok
            }
            Op::AddMember(a, i, b) => {
                let ok = self.active(a)
                    && self.is_group(i)
                    && self.role(i, a) >= Some(Role::Admin)
                    && self.convs[i].members.len() < MAX_GROUP
                    && self.joinable(a, b)
                    && !self.convs[i].members.contains_key(&b);
                if ok {
                    let c = &mut self.convs[i];
                    c.members.insert(b, (Role::Member, c.last_seq + 1, c.last_seq));
                }
                ok
            }
            Op::RemoveMember(a, i, b) => {
                let (ra, rb) = (self.role(i, a), self.role(i, b));
                let ok = self.active(a)
                    && self.is_group(i)
                    && ra >= Some(Role::Admin)
                    && b != a
                    && rb.is_some_and(|rb| rb != Role::Owner && Some(rb) < ra);
                if ok {
                    self.convs[i].members.remove(&b);
                }
                ok
            }
            Op::Leave(a, i) => {
                let ok = a != 0
                    && self.is_group(i)
                    && self.role(i, a).is_some_and(|r| !(r == Role::Owner && self.convs[i].members.len() > 1 && self.owners(i) == 1));
                if ok {
                    self.convs[i].members.remove(&a);
                }
                ok
            }
            Op::SetRole(a, i, b, role) => {
                let ok = self.active(a)
                    && self.is_group(i)
                    && self.role(i, a) == Some(Role::Owner)
                    && self.role(i, b).is_some_and(|rb| !(rb == Role::Owner && role != Role::Owner && self.owners(i) == 1));
                if ok {
                    self.convs[i].members.get_mut(&b).unwrap().0 = role;
                }
                ok
            }
            Op::OpenDirect(a, b) => {
                let exists = self.convs.iter().any(|c| c.direct == Some((a.min(b), a.max(b))));
                let ok = self.active(a)
                    && b != a
                    && self.active(b)
                    && !self.blocked_either(a, b)
                    && (exists || (self.count(a) < MAX_CONVERSATIONS && self.count(b) < MAX_CONVERSATIONS));
                if ok && !exists {
                    let m = BTreeMap::from([(a, (Role::Member, 1, 0)), (b, (Role::Member, 1, 0))]);
                    self.convs.push(MConv { direct: Some((a.min(b), a.max(b))), members: m, last_seq: 0 });
                }
                ok
            }
            Op::Send(a, i, ref recipients) => {
                let ok = self.writable(a, i)
                    && recipients.iter().all(|r| !self.deactivated(*r) && self.convs[i].members.contains_key(r));
                if ok {
                    let c = &mut self.convs[i];
                    c.last_seq += 1;
                    c.members.get_mut(&a).unwrap().2 = c.last_seq;
                }
                ok
            }
            Op::Block(a, b) => {
                let ok = self.active(a) && b != a && self.users.contains_key(&b);
                if ok {
                    self.blocks.insert((a, b));
                }
                ok
            }
            Op::Unblock(a, b) => {
                let ok = self.active(a);
                if ok {
                    self.blocks.remove(&(a, b));
                }
                ok
            }
            Op::Read(a, i) => !self.deactivated(a) && self.role(i, a).is_some(),
            Op::MarkRead(a, i, seq) => {
                let ok = self.active(a) && self.role(i, a).is_some() && seq <= self.convs[i].last_seq;
                if ok {
                    let m = self.convs[i].members.get_mut(&a).unwrap();
                    m.2 = m.2.max(seq);
                }
                ok
            }
            Op::SetRetention(a, i) => self.writable(a, i) && (!self.is_group(i) || self.role(i, a) >= Some(Role::Admin)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running both
// ---------------------------------------------------------------------------------------------

struct Real {
    memories: Vec<VectorMemory>,
    state: State<VectorMemory>,
}

impl Real {
    fn new() -> Self {
        let memories: Vec<VectorMemory> = (0..=SWEEP_DUE_MEM_INDEX).map(|_| VectorMemory::default()).collect();
        let mems = memories.clone();
        let mut state = State::init(move |id| {
            let i = (0..=SWEEP_DUE_MEM_INDEX).find(|&i| MemoryId::new(i) == id).expect("known memory id");
            mems[i as usize].clone()
        });
        let limits = Limits {
            max_group_size: MAX_GROUP as u32,
            max_conversations_per_user: MAX_CONVERSATIONS as u32,
            messages_per_minute: 10_000,
            ..Limits::default()
        };
        let args = InitArgs { authorities: vec![principal(AUTHORITY)], burn_ledger: None, limits: Some(limits), usage_report_interval_seconds: None, index: None };
        state.core.install(args, crate::config::build_config, 0, principal(AUTHORITY), "installed").unwrap();
        Real { memories, state }
    }

    fn snapshot(&self) -> Vec<Vec<u8>> {
        self.memories.iter().map(|m| m.borrow().clone()).collect()
    }

    /// Runs `op` at time `now`; `ids` maps model indexes to conversation ids.
    fn apply(&mut self, op: &Op, now: u64, ids: &[u64]) -> Result<(), MessagingError> {
        let id = |i: usize| ids.get(i).copied().unwrap_or(1_000 + i as u64);
        let s = &mut self.state;
        let p = principal;
        match *op {
            Op::Register(a) => {
                let args = RegisterArgs { handle: format!("user{a}"), display_name: format!("User {a}"), public_key: vec![a + 1; 32] };
                s.register(p(a), now, args).map(|_| ())
            }
            Op::Deactivate(a) => s.deactivate(p(a)),
            Op::CreateGroup(a, ref m) => {
                let args = CreateGroupArgs { name: "g".into(), members: m.iter().map(|&b| p(b)).collect(), retention: None };
                s.create_group(p(a), now, args).map(|_| ())
            }
            Op::AddMember(a, i, b) => s.add_members(p(a), now, id(i), vec![p(b)]).map(|_| ()),
            Op::RemoveMember(a, i, b) => s.remove_member(p(a), id(i), p(b)),
            Op::Leave(a, i) => s.leave(p(a), id(i)),
            Op::SetRole(a, i, b, r) => s.set_role(p(a), id(i), p(b), r),
            Op::OpenDirect(a, b) => s.open_direct(p(a), now, p(b)).map(|_| ()),
            Op::Send(a, i, ref recipients) => {
                let envelope = Envelope {
                    ciphertext: vec![7; 32],
                    nonce: vec![0; 12],
                    key_epoch: 0,
                    ephemeral_public_key: if recipients.is_empty() { vec![] } else { vec![9; 32] },
                    wrapped_keys: recipients.iter().map(|&r| WrappedKey { recipient: p(r), recipient_key_epoch: 1, wrapped_key: vec![1; 48] }).collect(),
                };
                s.send_message(p(a), now, id(i), envelope).map(|_| ())
            }
            Op::Block(a, b) => s.block(p(a), now, p(b)),
            Op::Unblock(a, b) => s.unblock(p(a), p(b)),
            Op::Read(a, i) => {
                let req = ReadRequest { conversation_id: id(i), from_seq: None, direction: Direction::Forward, limit: None };
                s.read_messages(p(a), now, &req).map(|_| ())
            }
            Op::MarkRead(a, i, seq) => s.mark_read(p(a), now, id(i), seq).map(|_| ()),
            Op::SetRetention(a, i) => s.set_retention(p(a), now, id(i), RetentionPolicy::KeepDays(30)),
        }
    }
}

/// The highest memory id the state uses (`state::SWEEP_DUE_MEM`).
const SWEEP_DUE_MEM_INDEX: u8 = 17;

/// The invariants, checked against the model.
fn check(real: &Real, model: &Model, ids: &[u64]) -> Result<(), TestCaseError> {
    let s = &real.state;
    for (i, mc) in model.convs.iter().enumerate() {
        let id = ids[i];
        let c = s.conversation(id).ok_or_else(|| TestCaseError::fail(format!("conversation {id} missing")))?;
        prop_assert_eq!(c.last_seq, mc.last_seq, "last_seq of {}", id);
        let seqs: Vec<u64> = s.messages.keys_range((id, 0)..=(id, u64::MAX)).map(|k| k.1).collect();
        prop_assert_eq!(seqs, (1..=mc.last_seq).collect::<Vec<_>>(), "sequence numbers of {} have gaps", id);
        let members: BTreeMap<u8, (Role, u64, u64)> = (0..ACTORS)
            .filter_map(|a| s.member(id, principal(a)).map(|m| (a, (m.role, m.first_visible_seq, m.last_read_seq))))
            .collect();
        prop_assert_eq!(&members, &mc.members, "members of {}", id);
        prop_assert_eq!(c.member_count as usize, members.len());
        if mc.direct.is_none() && !members.is_empty() {
            prop_assert!(members.values().any(|m| m.0 == Role::Owner), "group {} has no Owner", id);
        }
        for a in members.keys() {
            prop_assert!(model.active(*a), "deactivated or unregistered {} is a member of {}", a, id);
            prop_assert!(s.user_conversations.contains_key(&(principal(*a), id)), "inbox index misses {}/{}", a, id);
        }
    }
    prop_assert_eq!(s.members.len() as usize, model.convs.iter().map(|c| c.members.len()).sum::<usize>());
    prop_assert_eq!(s.user_conversations.len(), s.members.len());
    for a in 0..ACTORS {
        match s.user(&principal(a)) {
            Some(u) => {
                prop_assert_eq!(Some(&u.active), model.users.get(&a));
                prop_assert_eq!(u.conversation_count as usize, model.count(a), "conversation count of {}", a);
            }
            None => prop_assert!(!model.users.contains_key(&a)),
        }
    }
    let blocks: BTreeSet<(u8, u8)> =
        (0..ACTORS).flat_map(|a| (0..ACTORS).map(move |b| (a, b))).filter(|(a, b)| s.has_blocked(principal(*a), principal(*b))).collect();
    prop_assert_eq!(&blocks, &model.blocks);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_domain_follows_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut real = Real::new();
        let mut model = Model::default();
        let mut ids: Vec<u64> = vec![];
        for (step, op) in ops.iter().enumerate() {
            let now = (step as u64 + 1) * 1_000_000_000;
            let before = real.snapshot();
            let convs_before = model.convs.len();
            let expected = model.apply(op);
            let got = real.apply(op, now, &ids);
            prop_assert_eq!(got.is_ok(), expected, "step {}: {:?} gave {:?}", step, op, got);
            if got.is_err() {
                prop_assert!(real.snapshot() == before, "step {}: refused {:?} changed stable memory", step, op);
            }
            if model.convs.len() > convs_before {
                ids.push(real.state.counters().next_conversation_id - 1);
            }
            check(&real, &model, &ids)?;
        }
    }
}
