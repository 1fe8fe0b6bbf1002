//! Conversations: direct (one per pair) and groups (roles and who may do what, see `Role`),
//! retention policies, legal holds, and the inbox with unread counts.

use crate::retention;
use crate::state::{pair_key, Conversation, Member, State, User};
use crate::users::check_user_list;
use crate::validate;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::audit::PageRequest;
use interfaces::messaging::{
    ConversationKind, ConversationView, CreateGroupArgs, InboxEntry, InboxPage, LegalHold, MemberPage, MemberView,
    MessagingError, RetentionChange, RetentionPolicy, Role, TextField, LONG_NAME_MAX_CHARS, NAME_MAX_CHARS,
};

/// The lowest principal: start of a range over one conversation's (or one user's) keys.
pub fn min_principal() -> Principal {
    Principal::from_slice(&[])
}

impl<M: Memory> State<M> {
    /// A caller who deactivated reads nothing (they are in no conversation any more; this gives
    /// them the typed reason).
    pub fn not_deactivated(&self, caller: Principal) -> Result<(), MessagingError> {
        match self.user(&caller) {
            Some(u) if !u.active => Err(MessagingError::UserDeactivated { user: caller }),
            _ => Ok(()),
        }
    }

    /// The conversation and the caller's membership of it.
    pub fn membership(&self, conversation_id: u64, caller: Principal) -> Result<(Conversation, Member), MessagingError> {
        let conversation =
            self.conversation(conversation_id).ok_or(MessagingError::ConversationNotFound { conversation_id })?;
        let member = self.member(conversation_id, caller).ok_or(MessagingError::NotAMember { conversation_id })?;
        Ok((conversation, member))
    }

    /// Like `membership`, for a group, with the caller holding at least `required`.
    fn group_role(
        &self,
        conversation_id: u64,
        caller: Principal,
        required: Role,
    ) -> Result<(Conversation, Member), MessagingError> {
        let (conversation, member) = self.membership(conversation_id, caller)?;
        if !matches!(conversation.kind, ConversationKind::Group { .. }) {
            return Err(MessagingError::NotAGroup { conversation_id });
        }
        if member.role < required {
            return Err(MessagingError::InsufficientRole { role: member.role, required });
        }
        Ok((conversation, member))
    }

    /// `user` may join one more conversation.
    fn check_room_for_conversation(&self, user: Principal, record: &User) -> Result<(), MessagingError> {
        let max = self.config().limits.max_conversations_per_user;
        if record.conversation_count >= max {
            return Err(MessagingError::TooManyConversations { user, max });
        }
        Ok(())
    }

    /// Adds `user` to the conversation (all checks done by the caller).
    fn join(&mut self, conversation_id: u64, user: Principal, role: Role, now: u64, first_visible_seq: u64) {
        let mut record = self.user(&user).expect("checked registered");
        record.conversation_count += 1;
        self.put_user(user, record);
        self.put_member(conversation_id, user, Member { role, joined_at_ns: now, first_visible_seq, last_read_seq: first_visible_seq.saturating_sub(1) });
        self.user_conversations.insert((user, conversation_id), ());
    }

    /// Removes `user` from the conversation.
    fn part(&mut self, conversation_id: u64, user: Principal) {
        if let Some(mut record) = self.user(&user) {
            record.conversation_count = record.conversation_count.saturating_sub(1);
            self.put_user(user, record);
        }
        self.members.remove(&(conversation_id, user));
        self.user_conversations.remove(&(user, conversation_id));
    }

    fn new_conversation_id(&mut self) -> u64 {
        let id = self.counters().next_conversation_id.max(1);
        self.update_counters(|c| c.next_conversation_id = id + 1);
        id
    }

    /// Opens the direct conversation between the caller and `peer`, or returns the existing one.
    pub fn open_direct(&mut self, caller: Principal, now: u64, peer: Principal) -> Result<u64, MessagingError> {
        let me = self.active_caller(caller)?;
        if peer == caller {
            return Err(MessagingError::CannotTargetSelf);
        }
        let other = self.active_user(peer)?;
        self.block_between(caller, peer)?;
        if let Some(id) = self.direct_pairs.get(&pair_key(caller, peer)) {
            return Ok(id);
        }
        self.check_room_for_conversation(caller, &me)?;
        self.check_room_for_conversation(peer, &other)?;
        let id = self.new_conversation_id();
        let (a, b) = pair_key(caller, peer);
        self.put_conversation(id, Conversation {
            kind: ConversationKind::Direct { users: (a, b) },
            created_by: caller,
            created_at_ns: now,
            last_seq: 0,
            member_count: 2,
            retention: RetentionPolicy::KeepForever,
            legal_hold: None,
            last_activity_ns: now,
            retention_floor_seq: 1,
            expired_through_ns: None,
            expired_keep_ns: 0,
            sweep_due_ns: None,
            retention_changed: None,
        });
        self.join(id, caller, Role::Member, now, 1);
        self.join(id, peer, Role::Member, now, 1);
        self.direct_pairs.insert((a, b), id);
        self.update_counters(|c| c.direct_conversations += 1);
        Ok(id)
    }

    /// Checks that every user in `users` can be added to a conversation by `adder`.
    fn check_new_members(&self, adder: Principal, users: &[Principal]) -> Result<(), MessagingError> {
        check_user_list(users)?;
        for &user in users {
            if user == adder {
                return Err(MessagingError::DuplicateUser { user });
            }
            let record = self.active_user(user)?;
            if self.has_blocked(user, adder) {
                return Err(MessagingError::Blocked { blocker: user });
            }
            self.check_room_for_conversation(user, &record)?;
        }
        Ok(())
    }

    /// Creates a group: the caller is its Owner, `members` join as Members.
    pub fn create_group(&mut self, caller: Principal, now: u64, args: CreateGroupArgs) -> Result<u64, MessagingError> {
        let me = self.active_caller(caller)?;
        validate::text(TextField::GroupName, &args.name, NAME_MAX_CHARS)?;
        let retention = args.retention.unwrap_or(RetentionPolicy::KeepForever);
        validate::retention(&retention)?;
        let max = self.config().limits.max_group_size;
        if args.members.len() as u64 + 1 > max as u64 {
            return Err(MessagingError::GroupFull { max });
        }
        self.check_new_members(caller, &args.members)?;
        self.check_room_for_conversation(caller, &me)?;
        let id = self.new_conversation_id();
        self.put_conversation(id, Conversation {
            kind: ConversationKind::Group { name: args.name },
            created_by: caller,
            created_at_ns: now,
            last_seq: 0,
            member_count: args.members.len() as u32 + 1,
            retention,
            legal_hold: None,
            last_activity_ns: now,
            retention_floor_seq: 1,
            expired_through_ns: None,
            expired_keep_ns: 0,
            sweep_due_ns: None,
            retention_changed: None,
        });
        self.join(id, caller, Role::Owner, now, 1);
        for &user in &args.members {
            self.join(id, user, Role::Member, now, 1);
        }
        self.update_counters(|c| c.groups += 1);
        Ok(id)
    }

    /// Owner or Admin adds users as Members; they see messages sent from now on.
    pub fn add_members(
        &mut self,
        caller: Principal,
        now: u64,
        conversation_id: u64,
        users: Vec<Principal>,
    ) -> Result<u32, MessagingError> {
        self.active_caller(caller)?;
        let (mut conversation, _) = self.group_role(conversation_id, caller, Role::Admin)?;
        let max = self.config().limits.max_group_size;
        if conversation.member_count as u64 + users.len() as u64 > max as u64 {
            return Err(MessagingError::GroupFull { max });
        }
        self.check_new_members(caller, &users)?;
        if let Some(&user) = users.iter().find(|u| self.members.contains_key(&(conversation_id, **u))) {
            return Err(MessagingError::AlreadyMember { user });
        }
        for &user in &users {
            self.join(conversation_id, user, Role::Member, now, conversation.last_seq + 1);
        }
        conversation.member_count += users.len() as u32;
        self.put_conversation(conversation_id, conversation.clone());
        Ok(conversation.member_count)
    }

    /// Owner removes Admins and Members; Admin removes Members; Owners are never removed.
    pub fn remove_member(&mut self, caller: Principal, conversation_id: u64, user: Principal) -> Result<(), MessagingError> {
        self.active_caller(caller)?;
        let (mut conversation, me) = self.group_role(conversation_id, caller, Role::Admin)?;
        if user == caller {
            return Err(MessagingError::CannotTargetSelf);
        }
        let target = self.member(conversation_id, user).ok_or(MessagingError::NotAMember { conversation_id })?;
        if target.role == Role::Owner {
            return Err(MessagingError::CannotRemoveOwner { user });
        }
        if target.role >= me.role {
            return Err(MessagingError::InsufficientRole { role: me.role, required: Role::Owner });
        }
        self.part(conversation_id, user);
        conversation.member_count -= 1;
        self.put_conversation(conversation_id, conversation);
        Ok(())
    }

    /// The caller leaves a group. The last Owner must first make someone else Owner, unless they
    /// are the last member.
    pub fn leave(&mut self, caller: Principal, conversation_id: u64) -> Result<(), MessagingError> {
        crate::users::not_anonymous(caller)?;
        let (mut conversation, me) = self.group_role(conversation_id, caller, Role::Member)?;
        if me.role == Role::Owner && conversation.member_count > 1 && self.owner_count(conversation_id) == 1 {
            return Err(MessagingError::LastOwner);
        }
        self.part(conversation_id, caller);
        conversation.member_count -= 1;
        self.put_conversation(conversation_id, conversation);
        Ok(())
    }

    fn owner_count(&self, conversation_id: u64) -> usize {
        self.members
            .range((conversation_id, min_principal())..)
            .take_while(|e| e.key().0 == conversation_id)
            .filter(|e| e.value().0.role == Role::Owner)
            .count()
    }

    /// A deactivating user leaves the conversation. If they were a group's only Owner and others
    /// remain, the first Admin in principal order (or else the first Member) becomes Owner, so
    /// a group always keeps an Owner. One pass over the members, only in that case.
    pub fn depart(&mut self, conversation_id: u64, user: Principal) {
        let Some(mut conversation) = self.conversation(conversation_id) else { return };
        let Some(me) = self.member(conversation_id, user) else { return };
        self.members.remove(&(conversation_id, user));
        self.user_conversations.remove(&(user, conversation_id));
        conversation.member_count = conversation.member_count.saturating_sub(1);
        let is_group = matches!(conversation.kind, ConversationKind::Group { .. });
        if is_group && me.role == Role::Owner && conversation.member_count > 0 {
            let mut successor: Option<(Principal, Member)> = None;
            for e in self.members.range((conversation_id, min_principal())..).take_while(|e| e.key().0 == conversation_id) {
                let (who, m) = (e.key().1, e.value().0);
                match m.role {
                    Role::Owner => {
                        successor = None;
                        break;
                    }
                    Role::Admin if successor.as_ref().is_none_or(|(_, s)| s.role == Role::Member) => successor = Some((who, m)),
                    Role::Member if successor.is_none() => successor = Some((who, m)),
                    _ => {}
                }
            }
            if let Some((who, mut m)) = successor {
                m.role = Role::Owner;
                self.put_member(conversation_id, who, m);
            }
        }
        self.put_conversation(conversation_id, conversation);
    }

    /// Owner only: sets `user`'s role. A group always keeps at least one Owner.
    pub fn set_role(&mut self, caller: Principal, conversation_id: u64, user: Principal, role: Role) -> Result<(), MessagingError> {
        self.active_caller(caller)?;
        self.group_role(conversation_id, caller, Role::Owner)?;
        let mut target = self.member(conversation_id, user).ok_or(MessagingError::NotAMember { conversation_id })?;
        if target.role == Role::Owner && role != Role::Owner && self.owner_count(conversation_id) == 1 {
            return Err(MessagingError::LastOwner);
        }
        target.role = role;
        self.put_member(conversation_id, user, target);
        Ok(())
    }

    /// Owner or Admin renames a group.
    pub fn rename_group(&mut self, caller: Principal, conversation_id: u64, name: String) -> Result<(), MessagingError> {
        self.active_caller(caller)?;
        let (mut conversation, _) = self.group_role(conversation_id, caller, Role::Admin)?;
        validate::text(TextField::GroupName, &name, NAME_MAX_CHARS)?;
        conversation.kind = ConversationKind::Group { name };
        self.put_conversation(conversation_id, conversation);
        Ok(())
    }

    /// Sets the retention policy: a group's Owner or Admin, or either side of a direct
    /// conversation while it is writable (no block either way, both sides active: a blocked
    /// user must not be able to wipe the blocker's history). What had expired stays expired.
    /// Recorded in the conversation for its members, not in the public audit log (it would say
    /// who talks to whom).
    pub fn set_retention(
        &mut self,
        caller: Principal,
        now: u64,
        conversation_id: u64,
        policy: RetentionPolicy,
    ) -> Result<(), MessagingError> {
        let (mut conversation, me) = self.writable(caller, conversation_id)?;
        if matches!(conversation.kind, ConversationKind::Group { .. }) && me.role < Role::Admin {
            return Err(MessagingError::InsufficientRole { role: me.role, required: Role::Admin });
        }
        validate::retention(&policy)?;
        retention::mark_expired(&mut conversation, now);
        conversation.retention = policy;
        conversation.retention_changed = Some(RetentionChange { by: caller, at_ns: now });
        self.reschedule(conversation_id, &mut conversation);
        self.put_conversation(conversation_id, conversation);
        Ok(())
    }

    /// Authority only: places the conversation under legal hold (or replaces the case reference).
    pub fn set_legal_hold(
        &mut self,
        caller: Principal,
        now: u64,
        conversation_id: u64,
        case_reference: String,
    ) -> Result<(), MessagingError> {
        if !self.is_authority(&caller) {
            return Err(MessagingError::NotAuthority);
        }
        validate::text(TextField::CaseReference, &case_reference, LONG_NAME_MAX_CHARS)?;
        let mut conversation =
            self.conversation(conversation_id).ok_or(MessagingError::ConversationNotFound { conversation_id })?;
        let newly = conversation.legal_hold.is_none();
        retention::mark_expired(&mut conversation, now); // what had expired stays expired
        conversation.legal_hold = Some(LegalHold { case_reference: case_reference.clone(), set_by: caller, set_at_ns: now });
        self.reschedule(conversation_id, &mut conversation);
        self.put_conversation(conversation_id, conversation);
        if newly {
            self.update_counters(|c| c.legal_holds_active += 1);
        }
        self.core.audit(now, caller, "legal_hold_set", &(conversation_id, case_reference));
        Ok(())
    }

    /// Authority only: lifts a legal hold; retention resumes at the next sweep.
    pub fn clear_legal_hold(&mut self, caller: Principal, now: u64, conversation_id: u64) -> Result<(), MessagingError> {
        if !self.is_authority(&caller) {
            return Err(MessagingError::NotAuthority);
        }
        let mut conversation =
            self.conversation(conversation_id).ok_or(MessagingError::ConversationNotFound { conversation_id })?;
        let hold = conversation.legal_hold.take().ok_or(MessagingError::NoLegalHold { conversation_id })?;
        self.reschedule(conversation_id, &mut conversation);
        self.put_conversation(conversation_id, conversation);
        self.update_counters(|c| c.legal_holds_active = c.legal_holds_active.saturating_sub(1));
        self.core.audit(now, caller, "legal_hold_cleared", &(conversation_id, hold.case_reference));
        Ok(())
    }

    pub fn conversation_view(&self, id: u64, c: Conversation) -> ConversationView {
        ConversationView {
            id,
            kind: c.kind,
            created_by: c.created_by,
            created_at_ns: c.created_at_ns,
            last_seq: c.last_seq,
            member_count: c.member_count,
            retention: c.retention,
            legal_hold: c.legal_hold,
            last_activity_ns: c.last_activity_ns,
            retention_changed: c.retention_changed,
        }
    }

    /// A conversation, for its members (and authorities, who need it for legal holds).
    pub fn get_conversation(&self, caller: Principal, conversation_id: u64) -> Result<ConversationView, MessagingError> {
        let conversation =
            self.conversation(conversation_id).ok_or(MessagingError::ConversationNotFound { conversation_id })?;
        if !self.is_authority(&caller) {
            self.not_deactivated(caller)?;
            if !self.members.contains_key(&(conversation_id, caller)) {
                return Err(MessagingError::NotAMember { conversation_id });
            }
        }
        Ok(self.conversation_view(conversation_id, conversation))
    }

    /// Members of a conversation in principal order, for its members only.
    pub fn list_members(
        &self,
        caller: Principal,
        conversation_id: u64,
        start: Option<Principal>,
        limit: Option<u32>,
    ) -> Result<MemberPage, MessagingError> {
        self.not_deactivated(caller)?;
        self.membership(conversation_id, caller)?;
        let (_, limit) = PageRequest { start: None, limit }.bounds();
        if limit == 0 {
            return Ok(MemberPage { members: vec![], next_start: None });
        }
        let from = (conversation_id, start.unwrap_or_else(min_principal));
        let mut members: Vec<MemberView> = self
            .members
            .range(from..)
            .take_while(|e| e.key().0 == conversation_id)
            .take(limit + 1)
            .map(|e| {
                let ((_, user), m) = (*e.key(), e.value().0);
                MemberView { user, role: m.role, joined_at_ns: m.joined_at_ns, last_read_seq: m.last_read_seq }
            })
            .collect();
        let next_start = if members.len() > limit { members.pop().map(|m| m.user) } else { None };
        Ok(MemberPage { members, next_start })
    }

    /// The caller's conversations in id order from `start`, with unread counts (expired
    /// messages are not unread). At most `limit` entries; fewer when `has_budget` says no
    /// (a query's instructions are bounded), but always at least one when any is left.
    pub fn inbox(&self, caller: Principal, now: u64, page: &PageRequest, mut has_budget: impl FnMut() -> bool) -> InboxPage {
        let (start, limit) = page.bounds();
        let mut entries: Vec<InboxEntry> = vec![];
        let mut next_start = None;
        if limit == 0 {
            return InboxPage { entries, next_start };
        }
        for id in self.user_conversations.keys_range((caller, start)..).take_while(|k| k.0 == caller).map(|k| k.1) {
            if entries.len() == limit || (!entries.is_empty() && !has_budget()) {
                next_start = Some(id);
                break;
            }
            let conversation = self.conversation(id).expect("indexed conversation exists");
            let member = self.member(id, caller).expect("indexed membership exists");
            let expired_through = self.first_live_seq(id, &conversation, now) - 1;
            entries.push(InboxEntry {
                unread: conversation.last_seq.saturating_sub(member.last_read_seq.max(expired_through)),
                role: member.role,
                last_read_seq: member.last_read_seq,
                conversation: self.conversation_view(id, conversation),
            });
        }
        InboxPage { entries, next_start }
    }
}

#[cfg(test)]
pub mod tests {
    use crate::state::test_support::*;
    use crate::state::State;
    use candid::Principal;
    use ic_stable_structures::VectorMemory;
    use interfaces::audit::PageRequest;
    use interfaces::messaging::*;

    /// Registers users p(1)..=p(n) with handles user1.. and keys [i; 32].
    pub fn with_users(mut s: State<VectorMemory>, n: u8) -> State<VectorMemory> {
        for i in 1..=n {
            let args = RegisterArgs { handle: format!("user{i}"), display_name: format!("User {i}"), public_key: vec![i; 32] };
            s.register(p(i), 1, args).unwrap();
        }
        s
    }

    pub fn group(s: &mut State<VectorMemory>, owner: u8, members: &[u8]) -> u64 {
        let args = CreateGroupArgs {
            name: "Team".into(),
            members: members.iter().map(|&i| p(i)).collect(),
            retention: None,
        };
        s.create_group(p(owner), 5, args).unwrap()
    }

    #[test]
    fn direct_conversations_are_one_per_pair() {
        let mut s = with_users(fresh(), 3);
        let id = s.open_direct(p(1), 5, p(2)).unwrap();
        assert_eq!(s.open_direct(p(2), 6, p(1)), Ok(id));
        assert_eq!(s.open_direct(p(1), 6, p(1)), Err(MessagingError::CannotTargetSelf));
        assert_eq!(s.open_direct(p(1), 6, p(9)), Err(MessagingError::UserNotFound { user: p(9) }));
        assert_eq!(s.open_direct(Principal::anonymous(), 6, p(1)), Err(MessagingError::AnonymousCaller));
        assert_eq!(s.open_direct(p(9), 6, p(1)), Err(MessagingError::NotRegistered));
        assert_eq!(s.counters().direct_conversations, 1);
        let view = s.get_conversation(p(1), id).unwrap();
        assert_eq!(view.member_count, 2);
        assert_eq!(s.get_conversation(p(3), id), Err(MessagingError::NotAMember { conversation_id: id }));
        assert!(s.get_conversation(p(AUTHORITY), id).is_ok(), "authorities see conversation metadata");
        assert_eq!(s.leave(p(1), id), Err(MessagingError::NotAGroup { conversation_id: id }));
    }

    #[test]
    fn blocked_users_cannot_open_direct_or_add_to_groups() {
        let mut s = with_users(fresh(), 3);
        s.block(p(1), 5, p(2)).unwrap();
        assert_eq!(s.open_direct(p(2), 6, p(1)), Err(MessagingError::Blocked { blocker: p(1) }));
        assert_eq!(s.open_direct(p(1), 6, p(2)), Err(MessagingError::Blocked { blocker: p(1) }));
        let args = CreateGroupArgs { name: "g".into(), members: vec![p(1)], retention: None };
        assert_eq!(s.create_group(p(2), 6, args), Err(MessagingError::Blocked { blocker: p(1) }));
        assert_eq!(s.counters().next_conversation_id, 1, "nothing created");
    }

    #[test]
    fn deactivated_users_cannot_be_reached() {
        let mut s = with_users(fresh(), 2);
        s.deactivate(p(2)).unwrap();
        assert_eq!(s.open_direct(p(1), 6, p(2)), Err(MessagingError::UserDeactivated { user: p(2) }));
    }

    #[test]
    fn group_size_and_conversation_limits_carry_the_limit() {
        let limits = Limits { max_group_size: 3, max_conversations_per_user: 2, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 5);
        let args = |m: Vec<Principal>| CreateGroupArgs { name: "g".into(), members: m, retention: None };
        assert_eq!(s.create_group(p(1), 5, args(vec![p(2), p(3), p(4)])), Err(MessagingError::GroupFull { max: 3 }));
        let g = s.create_group(p(1), 5, args(vec![p(2), p(3)])).unwrap();
        assert_eq!(s.add_members(p(1), 6, g, vec![p(4)]), Err(MessagingError::GroupFull { max: 3 }));
        s.open_direct(p(1), 6, p(4)).unwrap();
        assert_eq!(s.open_direct(p(1), 6, p(5)), Err(MessagingError::TooManyConversations { user: p(1), max: 2 }));
        assert_eq!(s.open_direct(p(5), 6, p(1)), Err(MessagingError::TooManyConversations { user: p(1), max: 2 }));
        assert_eq!(s.user(&p(5)).unwrap().conversation_count, 0);
    }

    #[test]
    fn group_role_rules() {
        let mut s = with_users(fresh(), 6);
        let g = group(&mut s, 1, &[2, 3, 4]);
        // Members may not add or remove; admins may add and remove members only.
        assert_eq!(
            s.add_members(p(2), 6, g, vec![p(5)]),
            Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Admin })
        );
        assert_eq!(
            s.set_role(p(2), g, p(3), Role::Admin),
            Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Owner })
        );
        s.set_role(p(1), g, p(2), Role::Admin).unwrap();
        s.set_role(p(1), g, p(3), Role::Admin).unwrap();
        assert_eq!(s.add_members(p(2), 6, g, vec![p(5)]), Ok(5));
        assert_eq!(s.add_members(p(2), 6, g, vec![p(5)]), Err(MessagingError::AlreadyMember { user: p(5) }));
        assert_eq!(
            s.remove_member(p(2), g, p(3)),
            Err(MessagingError::InsufficientRole { role: Role::Admin, required: Role::Owner })
        );
        assert_eq!(s.remove_member(p(2), g, p(1)), Err(MessagingError::CannotRemoveOwner { user: p(1) }));
        s.remove_member(p(2), g, p(5)).unwrap();
        s.remove_member(p(1), g, p(3)).unwrap();
        assert_eq!(s.get_conversation(p(1), g).unwrap().member_count, 3);
        // The last owner can neither leave nor be demoted while others remain.
        assert_eq!(s.leave(p(1), g), Err(MessagingError::LastOwner));
        assert_eq!(s.set_role(p(1), g, p(1), Role::Member), Err(MessagingError::LastOwner));
        s.set_role(p(1), g, p(2), Role::Owner).unwrap();
        s.leave(p(1), g).unwrap();
        assert_eq!(s.leave(p(1), g), Err(MessagingError::NotAMember { conversation_id: g }));
        assert_eq!(s.user(&p(1)).unwrap().conversation_count, 0);
        assert_eq!(s.remove_member(p(2), g, p(4)), Ok(()));
        // Renaming: admins and owners.
        assert_eq!(s.rename_group(p(2), g, "New".into()), Ok(()));
        let kind = s.get_conversation(p(2), g).unwrap().kind;
        assert_eq!(kind, ConversationKind::Group { name: "New".into() });
    }

    #[test]
    fn members_page_and_inbox() {
        let mut s = with_users(fresh(), 4);
        let g = group(&mut s, 1, &[2, 3, 4]);
        let d = s.open_direct(p(1), 6, p(2)).unwrap();
        let page = s.list_members(p(1), g, None, Some(3)).unwrap();
        assert_eq!(page.members.len(), 3);
        let rest = s.list_members(p(1), g, page.next_start, Some(3)).unwrap();
        assert_eq!((rest.members.len(), rest.next_start), (1, None));
        assert_eq!(s.list_members(p(9), g, None, None), Err(MessagingError::NotAMember { conversation_id: g }));
        let inbox = s.inbox(p(1), 0, &PageRequest { start: None, limit: Some(1) }, || true);
        assert_eq!(inbox.entries.len(), 1);
        assert_eq!(inbox.entries[0].conversation.id, g);
        assert_eq!(inbox.entries[0].role, Role::Owner);
        let next = s.inbox(p(1), 0, &PageRequest { start: inbox.next_start, limit: Some(1) }, || true);
        assert_eq!(next.entries[0].conversation.id, d);
        assert_eq!(next.next_start, None);
        assert_eq!(s.inbox(p(3), 0, &PageRequest::default(), || true).entries.len(), 1);
    }

    #[test]
    fn retention_and_legal_hold_permissions_and_audit() {
        let mut s = with_users(fresh(), 3);
        let g = group(&mut s, 1, &[2]);
        let d = s.open_direct(p(2), 6, p(3)).unwrap();
        let audit = s.core.audit_len();
        let policy = RetentionPolicy::KeepDays(7);
        assert_eq!(
            s.set_retention(p(2), 7, g, policy),
            Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Admin })
        );
        assert_eq!(
            s.set_retention(p(1), 7, g, RetentionPolicy::KeepDays(0)),
            Err(MessagingError::RetentionOutOfRange { min: 1, max: 36_500, actual: 0 })
        );
        s.set_retention(p(1), 7, g, policy).unwrap();
        s.set_retention(p(3), 7, d, RetentionPolicy::Disappearing { after_seconds: 60 }).unwrap();
        s.set_retention(p(3), 8, d, RetentionPolicy::KeepForever).unwrap();
        // Members see who changed it; the public audit log says nothing about it.
        let changed = s.get_conversation(p(2), d).unwrap().retention_changed;
        assert_eq!(changed, Some(RetentionChange { by: p(3), at_ns: 8 }));
        assert_eq!(s.core.audit_len(), audit);
        // A blocked user cannot touch the blocker's direct conversation (nor can the blocker).
        s.block(p(3), 9, p(2)).unwrap();
        for who in [2, 3] {
            assert_eq!(s.set_retention(p(who), 9, d, policy), Err(MessagingError::Blocked { blocker: p(3) }));
        }
        assert_eq!(s.get_conversation(p(2), d).unwrap().retention, RetentionPolicy::KeepForever);

        assert_eq!(s.set_legal_hold(p(1), 8, g, "CASE-1".into()), Err(MessagingError::NotAuthority));
        assert_eq!(s.clear_legal_hold(p(AUTHORITY), 8, g), Err(MessagingError::NoLegalHold { conversation_id: g }));
        s.set_legal_hold(p(AUTHORITY), 8, g, "CASE-1".into()).unwrap();
        assert_eq!(s.counters().legal_holds_active, 1);
        assert_eq!(s.get_conversation(p(1), g).unwrap().legal_hold.unwrap().case_reference, "CASE-1");
        assert_eq!(s.clear_legal_hold(p(1), 9, g), Err(MessagingError::NotAuthority));
        s.clear_legal_hold(p(AUTHORITY), 9, g).unwrap();
        assert_eq!(s.counters().legal_holds_active, 0);
        assert_eq!(s.core.audit_len(), audit + 2, "legal holds are an authority's act, audited");
    }

    #[test]
    fn deactivation_leaves_every_conversation_and_hands_over_ownership() {
        let mut s = with_users(fresh(), 5);
        let sole = group(&mut s, 1, &[3, 4, 5]);
        s.set_role(p(1), sole, p(5), Role::Admin).unwrap();
        let shared = group(&mut s, 1, &[2, 3]);
        s.set_role(p(1), shared, p(2), Role::Owner).unwrap();
        let alone = group(&mut s, 1, &[]);
        let d = s.open_direct(p(1), 6, p(2)).unwrap();
        s.deactivate(p(1)).unwrap();
        for id in [sole, shared, alone, d] {
            assert!(s.member(id, p(1)).is_none());
            assert!(!s.user_conversations.contains_key(&(p(1), id)));
        }
        assert_eq!(s.user(&p(1)).unwrap().conversation_count, 0);
        // The Admin (not the first Member) of the group p(1) owned alone is its Owner now.
        assert_eq!(s.member(sole, p(5)).unwrap().role, Role::Owner);
        assert_eq!(s.member(sole, p(3)).unwrap().role, Role::Member);
        assert_eq!(s.get_conversation(p(3), sole).unwrap().member_count, 3);
        // Where another Owner remains, nobody is promoted.
        assert_eq!(s.member(shared, p(3)).unwrap().role, Role::Member);
        assert_eq!(s.get_conversation(p(2), alone), Err(MessagingError::NotAMember { conversation_id: alone }));
        assert_eq!(s.conversation(alone).unwrap().member_count, 0);
        // The peer keeps the history but cannot write to, retain or reopen the conversation.
        assert_eq!(s.get_conversation(p(2), d).unwrap().member_count, 1);
        assert_eq!(s.set_retention(p(2), 7, d, RetentionPolicy::KeepDays(1)), Err(MessagingError::UserDeactivated { user: p(1) }));
        assert_eq!(s.open_direct(p(2), 7, p(1)), Err(MessagingError::UserDeactivated { user: p(1) }));
        assert_eq!(s.add_members(p(5), 7, sole, vec![p(1)]), Err(MessagingError::UserDeactivated { user: p(1) }));
        // Her own view: typed refusals, an empty inbox.
        assert_eq!(s.get_conversation(p(1), sole), Err(MessagingError::UserDeactivated { user: p(1) }));
        assert_eq!(s.list_members(p(1), sole, None, None), Err(MessagingError::UserDeactivated { user: p(1) }));
        assert!(s.inbox(p(1), 7, &PageRequest::default(), || true).entries.is_empty());
    }

    #[test]
    fn a_deactivated_sole_owner_hands_over_to_the_first_member_without_admins() {
        let mut s = with_users(fresh(), 4);
        let g = group(&mut s, 2, &[4, 3]);
        s.deactivate(p(2)).unwrap();
        assert_eq!(s.member(g, p(3)).unwrap().role, Role::Owner, "first in principal order");
        assert_eq!(s.member(g, p(4)).unwrap().role, Role::Member);
    }

    #[test]
    fn a_zero_limit_gives_an_empty_page_and_no_cursor() {
        let mut s = with_users(fresh(), 3);
        let g = group(&mut s, 1, &[2, 3]);
        s.open_direct(p(1), 6, p(2)).unwrap();
        let zero = PageRequest { start: None, limit: Some(0) };
        let inbox = s.inbox(p(1), 7, &zero, || true);
        assert_eq!((inbox.entries.len(), inbox.next_start), (0, None));
        let members = s.list_members(p(1), g, None, Some(0)).unwrap();
        assert_eq!((members.members.len(), members.next_start), (0, None));
        s.block(p(1), 7, p(3)).unwrap();
        assert!(s.blocked_users(p(1), &zero).is_empty());
        assert!(s.blocked_users(p(1), &PageRequest { start: Some(u64::MAX), limit: None }).is_empty());
        // Walking with limit 1 visits every entry once, each cursor past the last.
        let mut seen = vec![];
        let mut start = None;
        loop {
            let page = s.inbox(p(1), 7, &PageRequest { start, limit: Some(1) }, || true);
            assert!(page.entries.len() <= 1);
            seen.extend(page.entries.iter().map(|e| e.conversation.id));
            match page.next_start {
                Some(n) => {
                    assert!(n > *seen.last().unwrap());
                    start = Some(n);
                }
                None => break,
            }
        }
        assert_eq!(seen, vec![1, 2]);
        // An exhausted budget still gives one entry and a cursor that advances.
        let page = s.inbox(p(1), 7, &PageRequest::default(), || false);
        assert_eq!((page.entries.len(), page.next_start), (1, Some(2)));
    }
}
