//! Messages: send, edit (new envelope, history kept), delete (tombstone), paginated reads in
//! both directions, read markers, and the per-user rate limit.

use crate::codec::Compact;
use crate::retention;
use crate::state::{Conversation, Counters, Member, SenderActivity, State, StoredContent, StoredMessage, StoredVersion, User};
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::messaging::{
    ConversationKind, DeletionReason, Direction, Envelope, EnvelopeVersion, HistoryPage, Limits, MessageContent,
    MessagePage, MessageView, MessagingError, ReadRequest, Role, SendReceipt, Tombstone, MAX_EDITS_PER_MESSAGE,
    MAX_MESSAGE_PAGE, MAX_MESSAGE_PAGE_BYTES,
};

/// Users whose records a call already read (active members of the conversation).
type Parties = Vec<(Principal, User)>;

pub const MINUTE_NS: u64 = 60 * 1_000_000_000;
pub const DAY_NS: u64 = 24 * 3600 * 1_000_000_000;

impl<M: Memory> State<M> {
    /// The caller may write into the conversation: active, a member, no block in a direct
    /// conversation, and the other side of a direct conversation still active.
    pub(crate) fn writable(&self, caller: Principal, conversation_id: u64) -> Result<(Conversation, Member), MessagingError> {
        self.writable_with_parties(caller, conversation_id).map(|(c, m, _)| (c, m))
    }

    /// `writable`, also returning the user records it read: the caller's and, in a direct
    /// conversation, the other side's. Both are active members of the conversation.
    fn writable_with_parties(
        &self,
        caller: Principal,
        conversation_id: u64,
    ) -> Result<(Conversation, Member, Parties), MessagingError> {
        let me = self.active_caller(caller)?;
        let (conversation, member) = self.membership(conversation_id, caller)?;
        let mut parties = vec![(caller, me)];
        if let ConversationKind::Direct { users: (a, b) } = conversation.kind {
            self.block_between(a, b)?;
            let other = if a == caller { b } else { a };
            // Only deactivation takes a user out of a direct conversation: an active other
            // side is still a member.
            parties.push((other, self.active_user(other)?));
        }
        Ok((conversation, member, parties))
    }

    /// Every wrapped key names an active member and a key epoch that member has had. `parties`
    /// are active members whose records were already read (not read again).
    fn check_recipients(&self, conversation_id: u64, envelope: &Envelope, parties: &Parties) -> Result<(), MessagingError> {
        for w in &envelope.wrapped_keys {
            let known = parties.iter().find(|(p, _)| *p == w.recipient).map(|(_, u)| u);
            let read;
            let record = match known {
                Some(u) => Some(u),
                None => {
                    read = self.user(&w.recipient);
                    read.as_ref()
                }
            };
            if record.is_some_and(|u| !u.active) {
                return Err(MessagingError::UserDeactivated { user: w.recipient });
            }
            if known.is_none() && !self.members.contains_key(&(conversation_id, w.recipient)) {
                return Err(MessagingError::RecipientNotMember { user: w.recipient });
            }
            let current = record.map_or(0, |u| u.key_epoch);
            if w.recipient_key_epoch == 0 || w.recipient_key_epoch > current {
                return Err(MessagingError::UnknownRecipientKeyEpoch {
                    recipient: w.recipient,
                    epoch: w.recipient_key_epoch,
                    current,
                });
            }
        }
        Ok(())
    }

    /// The caller's activity after one more message, or `RateLimited` (nothing stored yet).
    fn rate_check(&self, caller: Principal, now: u64, limits: &Limits) -> Result<SenderActivity, MessagingError> {
        let mut activity = self.sender_activity.get(&caller).map(|c| c.0).unwrap_or_default();
        if now >= activity.window_start_ns.saturating_add(MINUTE_NS) {
            activity.window_start_ns = now;
            activity.sent_in_window = 0;
        }
        if activity.sent_in_window >= limits.messages_per_minute {
            return Err(MessagingError::RateLimited {
                messages_per_minute: limits.messages_per_minute,
                retry_after_ns: activity.window_start_ns + MINUTE_NS - now,
            });
        }
        activity.sent_in_window += 1;
        Ok(activity)
    }

    /// Stores the sender's new activity and, in the same write, the counters: a new message
    /// (not an edit) counts the sender as a daily active sender, once a day; `update` adds
    /// the call's own changes.
    fn record_activity(&mut self, caller: Principal, now: u64, mut activity: SenderActivity, is_send: bool, update: impl FnOnce(&mut Counters)) {
        let today = now / DAY_NS;
        let first_today = is_send && activity.last_send_day != Some(today);
        if is_send {
            activity.last_send_day = Some(today);
        }
        self.sender_activity.insert(caller, Compact(activity));
        self.update_counters(|c| {
            if c.day != today {
                c.day = today;
                c.daily_active_senders = 0;
            }
            if first_today {
                c.daily_active_senders += 1;
            }
            update(c);
        });
    }

    /// Appends the envelope as the conversation's next message.
    ///
    /// Reads: the conversation, the caller's membership and user record, in a direct
    /// conversation the other side's record and the two block entries, any other wrapped-key
    /// recipient's record and membership, the caller's activity. Writes: the message, the
    /// conversation (`last_seq`, activity), the caller's read marker, activity and the counters.
    pub fn send_message(
        &mut self,
        caller: Principal,
        now: u64,
        conversation_id: u64,
        envelope: Envelope,
    ) -> Result<SendReceipt, MessagingError> {
        let (mut conversation, mut me, parties) = self.writable_with_parties(caller, conversation_id)?;
        let limits = self.config().limits;
        validate::envelope(&envelope, &limits)?;
        self.check_recipients(conversation_id, &envelope, &parties)?;
        let activity = self.rate_check(caller, now, &limits)?;

        let seq = conversation.last_seq + 1;
        let bytes = validate::envelope_bytes(&envelope);
        self.put_message(conversation_id, seq, StoredMessage {
            sender: caller,
            sent_at_ns: now,
            edit_count: 0,
            edited_at_ns: None,
            content_stored_at_ns: now,
            content: StoredContent::Envelope(envelope),
        });
        conversation.last_seq = seq;
        conversation.last_activity_ns = now;
        if conversation.sweep_due_ns.is_none() && retention::expires_at(&conversation, now).is_some() {
            self.reschedule(conversation_id, &mut conversation); // first message that will expire
        }
        self.put_conversation(conversation_id, conversation);
        me.last_read_seq = seq;
        self.put_member(conversation_id, caller, me);
        self.record_activity(caller, now, activity, true, |c| {
            c.messages_sent += 1;
            c.messages_stored += 1;
            c.bytes_stored += bytes;
        });
        Ok(SendReceipt { conversation_id, seq, sent_at_ns: now })
    }

    /// A message the member may see, as readers see it at `now`: an expired one as a
    /// `Retention` tombstone, as the sweep will leave it.
    fn visible_message(
        &self,
        conversation: &Conversation,
        conversation_id: u64,
        seq: u64,
        member: &Member,
        now: u64,
    ) -> Result<StoredMessage, MessagingError> {
        let not_found = MessagingError::MessageNotFound { conversation_id, seq };
        if seq < member.first_visible_seq {
            return Err(not_found);
        }
        self.message(conversation_id, seq).map(|m| as_read(conversation, m, now)).ok_or(not_found)
    }

    /// The sender replaces a message's envelope; the previous one is kept in its history.
    /// Returns the new edit count.
    pub fn edit_message(
        &mut self,
        caller: Principal,
        now: u64,
        conversation_id: u64,
        seq: u64,
        envelope: Envelope,
    ) -> Result<u32, MessagingError> {
        let (mut conversation, me, parties) = self.writable_with_parties(caller, conversation_id)?;
        let mut message = self.visible_message(&conversation, conversation_id, seq, &me, now)?;
        if message.sender != caller {
            return Err(MessagingError::NotMessageSender { sender: message.sender });
        }
        let StoredContent::Envelope(previous) = message.content.clone() else {
            return Err(MessagingError::MessageDeleted { conversation_id, seq });
        };
        if message.edit_count >= MAX_EDITS_PER_MESSAGE {
            return Err(MessagingError::TooManyEdits { max: MAX_EDITS_PER_MESSAGE });
        }
        let limits = self.config().limits;
        validate::envelope(&envelope, &limits)?;
        self.check_recipients(conversation_id, &envelope, &parties)?;
        let activity = self.rate_check(caller, now, &limits)?;

        let bytes = validate::envelope_bytes(&envelope);
        self.edit_history.insert(
            (conversation_id, seq, message.edit_count),
            Cbor(StoredVersion { stored_at_ns: message.content_stored_at_ns, envelope: previous }),
        );
        message.edit_count += 1;
        message.edited_at_ns = Some(now);
        message.content_stored_at_ns = now;
        message.content = StoredContent::Envelope(envelope);
        let edits = message.edit_count;
        self.put_message(conversation_id, seq, message);
        conversation.last_activity_ns = now;
        self.put_conversation(conversation_id, conversation);
        self.record_activity(caller, now, activity, false, |c| c.bytes_stored += bytes);
        Ok(edits)
    }

    /// Deletes a message for everyone, leaving a tombstone: by its sender, or by a group's Owner
    /// or Admin. Refused while the conversation is under legal hold.
    pub fn delete_message(&mut self, caller: Principal, now: u64, conversation_id: u64, seq: u64) -> Result<(), MessagingError> {
        self.active_caller(caller)?;
        let (conversation, me) = self.membership(conversation_id, caller)?;
        let message = self.visible_message(&conversation, conversation_id, seq, &me, now)?;
        let reason = if message.sender == caller {
            DeletionReason::Sender
        } else if matches!(conversation.kind, ConversationKind::Direct { .. }) {
            return Err(MessagingError::NotMessageSender { sender: message.sender });
        } else if me.role < Role::Admin {
            return Err(MessagingError::InsufficientRole { role: me.role, required: Role::Admin });
        } else {
            DeletionReason::GroupAdmin
        };
        if matches!(message.content, StoredContent::Deleted(_)) {
            return Err(MessagingError::MessageDeleted { conversation_id, seq });
        }
        if conversation.legal_hold.is_some() {
            return Err(MessagingError::LegalHoldActive { conversation_id });
        }
        let tombstone = Tombstone { reason, deleted_by: Some(caller), deleted_at_ns: now };
        let freed = self.tombstone(conversation_id, seq, message, tombstone);
        self.update_counters(|c| {
            c.messages_stored = c.messages_stored.saturating_sub(1);
            c.bytes_stored = c.bytes_stored.saturating_sub(freed);
        });
        Ok(())
    }

    /// Replaces the message's content with `tombstone` and drops its edit history; returns the
    /// envelope bytes freed (the caller updates the counters). Shared by deletion and the
    /// retention sweep.
    pub fn tombstone(&mut self, conversation_id: u64, seq: u64, mut message: StoredMessage, tombstone: Tombstone) -> u64 {
        let StoredContent::Envelope(current) = &message.content else { return 0 };
        let mut freed = validate::envelope_bytes(current);
        for version in 0..message.edit_count {
            if let Some(Cbor(old)) = self.edit_history.remove(&(conversation_id, seq, version)) {
                freed += validate::envelope_bytes(&old.envelope);
            }
        }
        message.content = StoredContent::Deleted(tombstone);
        self.put_message(conversation_id, seq, message);
        freed
    }

    /// A page of messages from `from_seq` in either direction, for members; messages from
    /// before the member joined are not shown, expired ones read as tombstones. At most `limit`
    /// messages and `MAX_MESSAGE_PAGE_BYTES` of Candid (always the first message, whatever its
    /// size).
    pub fn read_messages(&self, caller: Principal, now: u64, request: &ReadRequest) -> Result<MessagePage, MessagingError> {
        let id = request.conversation_id;
        self.not_deactivated(caller)?;
        let (conversation, me) = self.membership(id, caller)?;
        let (floor, last) = (me.first_visible_seq, conversation.last_seq);
        let limit = request.limit.unwrap_or(MAX_MESSAGE_PAGE).min(MAX_MESSAGE_PAGE) as usize;
        let empty = MessagePage { messages: vec![], next_seq: None, last_seq: last };
        if limit == 0 {
            return Ok(empty);
        }
        let entries: Box<dyn Iterator<Item = (u64, StoredMessage)>> = match request.direction {
            Direction::Forward => {
                let from = request.from_seq.unwrap_or(floor).max(floor);
                if from > last {
                    return Ok(empty);
                }
                Box::new(self.messages.range((id, from)..=(id, last)).map(|e| (e.key().1, e.value().0)))
            }
            Direction::Backward => {
                let from = request.from_seq.unwrap_or(last).min(last);
                if from < floor || from == 0 {
                    return Ok(empty);
                }
                Box::new(self.messages.range((id, floor)..=(id, from)).rev().map(|e| (e.key().1, e.value().0)))
            }
        };
        let mut messages = Vec::new();
        let mut bytes = 0u64;
        for (seq, m) in entries {
            let m = view(seq, as_read(&conversation, m, now));
            let size = validate::message_view_bytes(&m);
            if !messages.is_empty() && (messages.len() >= limit || bytes + size > MAX_MESSAGE_PAGE_BYTES as u64) {
                break;
            }
            bytes += size;
            messages.push(m);
        }
        let next_seq = messages.last().and_then(|m: &MessageView| match request.direction {
            Direction::Forward => (m.seq < last).then_some(m.seq + 1),
            Direction::Backward => (m.seq > floor).then_some(m.seq - 1),
        });
        Ok(MessagePage { messages, next_seq, last_seq: last })
    }

    /// Earlier versions of an edited message, oldest first, from `start_version`, at most
    /// `MAX_MESSAGE_PAGE_BYTES` of Candid per page (always at least one version when any is
    /// left). A deleted or expired message has none.
    pub fn message_history(
        &self,
        caller: Principal,
        now: u64,
        conversation_id: u64,
        seq: u64,
        start_version: Option<u32>,
    ) -> Result<HistoryPage, MessagingError> {
        self.not_deactivated(caller)?;
        let (conversation, me) = self.membership(conversation_id, caller)?;
        let message = self.visible_message(&conversation, conversation_id, seq, &me, now)?;
        let mut page = HistoryPage { versions: vec![], next_version: None };
        if matches!(message.content, StoredContent::Deleted(_)) {
            return Ok(page);
        }
        let mut bytes = 0u64;
        for version in start_version.unwrap_or(0)..message.edit_count {
            let Some(Cbor(v)) = self.edit_history.get(&(conversation_id, seq, version)) else { continue };
            let item = EnvelopeVersion { version, stored_at_ns: v.stored_at_ns, envelope: v.envelope };
            let size = validate::version_bytes(&item);
            if !page.versions.is_empty() && bytes + size > MAX_MESSAGE_PAGE_BYTES as u64 {
                page.next_version = Some(version);
                break;
            }
            bytes += size;
            page.versions.push(item);
        }
        Ok(page)
    }

    /// Moves the caller's read marker forward to `seq`; returns the unread count left
    /// (expired messages are not unread).
    pub fn mark_read(&mut self, caller: Principal, now: u64, conversation_id: u64, seq: u64) -> Result<u64, MessagingError> {
        self.active_caller(caller)?;
        let (conversation, mut me) = self.membership(conversation_id, caller)?;
        if seq > conversation.last_seq {
            return Err(MessagingError::SequenceOutOfRange { seq, last_seq: conversation.last_seq });
        }
        if seq > me.last_read_seq {
            me.last_read_seq = seq;
            self.put_member(conversation_id, caller, me.clone());
        }
        let expired_through = self.first_live_seq(conversation_id, &conversation, now) - 1;
        Ok(conversation.last_seq - me.last_read_seq.max(expired_through).min(conversation.last_seq))
    }
}

/// The message as readers see it at `now`: once expired, a `Retention` tombstone with its
/// expiry time (exactly what the sweep stores later), and no envelope.
fn as_read(conversation: &Conversation, mut m: StoredMessage, now: u64) -> StoredMessage {
    if let StoredContent::Envelope(_) = m.content {
        if let Some(at) = retention::expires_at(conversation, m.sent_at_ns).filter(|t| *t <= now) {
            m.content = StoredContent::Deleted(Tombstone { reason: DeletionReason::Retention, deleted_by: None, deleted_at_ns: at });
        }
    }
    m
}

fn view(seq: u64, m: StoredMessage) -> MessageView {
    MessageView {
        seq,
        sender: m.sender,
        sent_at_ns: m.sent_at_ns,
        edit_count: m.edit_count,
        edited_at_ns: m.edited_at_ns,
        content: match m.content {
            StoredContent::Envelope(e) => MessageContent::Envelope(e),
            StoredContent::Deleted(t) => MessageContent::Deleted(t),
        },
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::conversations::tests::{group, with_users};
    use crate::state::test_support::*;
    use interfaces::audit::PageRequest;
    use interfaces::messaging::{Limits, WrappedKey};

    pub fn env(marker: u8) -> Envelope {
        Envelope { ciphertext: vec![marker; 32], nonce: vec![0; 12], key_epoch: 1, ephemeral_public_key: vec![], wrapped_keys: vec![] }
    }

    fn read(s: &State<ic_stable_structures::VectorMemory>, who: u8, id: u64, from: Option<u64>, dir: Direction, limit: u32) -> MessagePage {
        s.read_messages(p(who), 1_000, &ReadRequest { conversation_id: id, from_seq: from, direction: dir, limit: Some(limit) }).unwrap()
    }

    fn seqs(page: &MessagePage) -> Vec<u64> {
        page.messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn sequence_numbers_have_no_gaps_and_refusals_change_nothing() {
        let mut s = with_users(fresh(), 3);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        assert_eq!(s.send_message(p(1), 10, d, env(1)).unwrap().seq, 1);
        assert_eq!(s.send_message(p(3), 11, d, env(1)), Err(MessagingError::NotAMember { conversation_id: d }));
        assert_eq!(s.send_message(p(1), 11, d, env(0)).map(|_| ()), Ok(()));
        let mut empty = env(1);
        empty.ciphertext.clear();
        assert_eq!(s.send_message(p(1), 11, d, empty), Err(MessagingError::EmptyEnvelope));
        assert_eq!(s.send_message(Principal::anonymous(), 11, d, env(1)), Err(MessagingError::AnonymousCaller));
        assert_eq!(s.send_message(p(2), 12, d, env(2)).unwrap().seq, 3);
        assert_eq!(s.send_message(p(1), 12, 99, env(2)), Err(MessagingError::ConversationNotFound { conversation_id: 99 }));
        let c = s.counters();
        assert_eq!((c.messages_sent, c.messages_stored), (3, 3));
        assert_eq!(c.bytes_stored, 3 * validate::envelope_bytes(&env(1)));
        assert_eq!(c.daily_active_senders, 2);
    }

    #[test]
    fn wrapped_keys_must_name_members_at_known_epochs() {
        let mut s = with_users(fresh(), 3);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        let mut e = env(1);
        e.ephemeral_public_key = vec![9; 32];
        e.wrapped_keys = vec![WrappedKey { recipient: p(3), recipient_key_epoch: 1, wrapped_key: vec![1; 48] }];
        assert_eq!(s.send_message(p(1), 10, d, e.clone()), Err(MessagingError::RecipientNotMember { user: p(3) }));
        e.wrapped_keys[0].recipient = p(2);
        e.wrapped_keys[0].recipient_key_epoch = 2;
        assert_eq!(
            s.send_message(p(1), 10, d, e.clone()),
            Err(MessagingError::UnknownRecipientKeyEpoch { recipient: p(2), epoch: 2, current: 1 })
        );
        s.rotate_key(p(2), 10, vec![77; 32]).unwrap();
        assert!(s.send_message(p(1), 10, d, e.clone()).is_ok());
        e.wrapped_keys[0].recipient_key_epoch = 1;
        assert!(s.send_message(p(1), 10, d, e).is_ok(), "old epochs stay valid");
    }

    #[test]
    fn blocks_and_deactivation_stop_direct_sends() {
        let mut s = with_users(fresh(), 3);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        s.block(p(2), 6, p(1)).unwrap();
        assert_eq!(s.send_message(p(1), 10, d, env(1)), Err(MessagingError::Blocked { blocker: p(2) }));
        assert_eq!(s.send_message(p(2), 10, d, env(1)), Err(MessagingError::Blocked { blocker: p(2) }));
        s.unblock(p(2), p(1)).unwrap();
        assert!(s.send_message(p(1), 10, d, env(1)).is_ok());
        s.deactivate(p(2)).unwrap();
        assert_eq!(s.send_message(p(1), 11, d, env(1)), Err(MessagingError::UserDeactivated { user: p(2) }));
    }

    #[test]
    fn rate_limit_is_hit_and_recovers() {
        let limits = Limits { messages_per_minute: 3, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        let t0 = 1_000 * MINUTE_NS;
        for i in 0..3 {
            s.send_message(p(1), t0 + i, d, env(1)).unwrap();
        }
        assert_eq!(
            s.send_message(p(1), t0 + 10 * 1_000_000_000, d, env(1)),
            Err(MessagingError::RateLimited { messages_per_minute: 3, retry_after_ns: 50 * 1_000_000_000 })
        );
        assert!(s.send_message(p(2), t0 + 10, d, env(1)).is_ok(), "limits are per user");
        assert_eq!(s.send_message(p(1), t0 + MINUTE_NS, d, env(1)).unwrap().seq, 5);
        assert_eq!(s.get_conversation(p(1), d).unwrap().last_seq, 5);
    }

    #[test]
    fn edits_keep_history_and_only_the_sender_edits() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        s.send_message(p(1), 10, d, env(1)).unwrap();
        assert_eq!(s.edit_message(p(2), 11, d, 1, env(2)), Err(MessagingError::NotMessageSender { sender: p(1) }));
        assert_eq!(s.edit_message(p(1), 11, d, 2, env(2)), Err(MessagingError::MessageNotFound { conversation_id: d, seq: 2 }));
        assert_eq!(s.edit_message(p(1), 11, d, 1, env(2)), Ok(1));
        assert_eq!(s.edit_message(p(1), 12, d, 1, env(3)), Ok(2));
        let page = read(&s, 2, d, None, Direction::Forward, 10);
        assert_eq!(page.messages[0].content, MessageContent::Envelope(env(3)));
        assert_eq!((page.messages[0].edit_count, page.messages[0].edited_at_ns), (2, Some(12)));
        let history = s.message_history(p(2), 20, d, 1, None).unwrap().versions;
        assert_eq!(history.iter().map(|v| (v.version, v.stored_at_ns, v.envelope.clone())).collect::<Vec<_>>(), vec![
            (0, 10, env(1)),
            (1, 11, env(2))
        ]);
        assert_eq!(s.counters().bytes_stored, 3 * validate::envelope_bytes(&env(1)));
        assert_eq!(s.counters().messages_sent, 1, "edits are not new messages");
        for i in 2..MAX_EDITS_PER_MESSAGE {
            s.edit_message(p(1), 100 * MINUTE_NS * i as u64, d, 1, env(4)).unwrap();
        }
        assert_eq!(
            s.edit_message(p(1), 10_000 * MINUTE_NS, d, 1, env(5)),
            Err(MessagingError::TooManyEdits { max: MAX_EDITS_PER_MESSAGE })
        );
    }

    #[test]
    fn deletion_rules_tombstones_and_legal_hold() {
        let mut s = with_users(fresh(), 4);
        let g = group(&mut s, 1, &[2, 3]);
        s.set_role(p(1), g, p(2), Role::Admin).unwrap();
        for who in [3, 3, 1] {
            s.send_message(p(who), 10, g, env(who)).unwrap();
        }
        s.edit_message(p(3), 11, g, 1, env(9)).unwrap();
        assert_eq!(
            s.delete_message(p(3), 12, g, 3),
            Err(MessagingError::InsufficientRole { role: Role::Member, required: Role::Admin })
        );
        s.set_legal_hold(p(AUTHORITY), 12, g, "CASE-7".into()).unwrap();
        assert_eq!(s.delete_message(p(3), 12, g, 1), Err(MessagingError::LegalHoldActive { conversation_id: g }));
        assert!(matches!(read(&s, 3, g, Some(1), Direction::Forward, 1).messages[0].content, MessageContent::Envelope(_)));
        s.clear_legal_hold(p(AUTHORITY), 13, g).unwrap();
        let before = s.counters();
        s.delete_message(p(3), 14, g, 1).unwrap();
        s.delete_message(p(2), 14, g, 3).unwrap();
        assert_eq!(s.delete_message(p(2), 15, g, 3), Err(MessagingError::MessageDeleted { conversation_id: g, seq: 3 }));
        assert_eq!(s.edit_message(p(3), 15, g, 1, env(1)), Err(MessagingError::MessageDeleted { conversation_id: g, seq: 1 }));
        let page = read(&s, 1, g, None, Direction::Forward, 10);
        assert_eq!(seqs(&page), vec![1, 2, 3], "tombstones keep the numbering");
        assert_eq!(
            page.messages[0].content,
            MessageContent::Deleted(Tombstone { reason: DeletionReason::Sender, deleted_by: Some(p(3)), deleted_at_ns: 14 })
        );
        assert!(matches!(&page.messages[2].content, MessageContent::Deleted(t) if t.reason == DeletionReason::GroupAdmin));
        assert!(s.message_history(p(1), 20, g, 1, None).unwrap().versions.is_empty(), "history goes with the message");
        let after = s.counters();
        assert_eq!(after.messages_stored, before.messages_stored - 2);
        assert_eq!(after.bytes_stored, validate::envelope_bytes(&env(3)));
        // Direct: only the sender deletes.
        let d = s.open_direct(p(1), 20, p(4)).unwrap();
        s.send_message(p(1), 21, d, env(1)).unwrap();
        assert_eq!(s.delete_message(p(4), 22, d, 1), Err(MessagingError::NotMessageSender { sender: p(1) }));
    }

    #[test]
    fn pagination_both_directions() {
        let limits = Limits { messages_per_minute: 10_000, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        for i in 0..450u64 {
            s.send_message(p(1 + (i % 2) as u8), 10 + i, d, env(1)).unwrap();
        }
        let mut all = vec![];
        let mut from = None;
        loop {
            let page = read(&s, 2, d, from, Direction::Forward, 200);
            assert!(page.messages.len() <= 200);
            all.extend(seqs(&page));
            match page.next_seq {
                Some(n) => from = Some(n),
                None => break,
            }
        }
        assert_eq!(all, (1..=450).collect::<Vec<_>>());
        let back = read(&s, 2, d, Some(10), Direction::Backward, 4);
        assert_eq!((seqs(&back), back.next_seq), (vec![10, 9, 8, 7], Some(6)));
        let newest = read(&s, 2, d, None, Direction::Backward, 2);
        assert_eq!((seqs(&newest), newest.last_seq), (vec![450, 449], 450));
        let end = read(&s, 2, d, Some(2), Direction::Backward, 5);
        assert_eq!((seqs(&end), end.next_seq), (vec![2, 1], None));
        assert!(read(&s, 2, d, Some(451), Direction::Forward, 5).messages.is_empty());
        assert_eq!(
            s.read_messages(Principal::anonymous(), 1_000, &ReadRequest { conversation_id: d, from_seq: None, direction: Direction::Forward, limit: None }),
            Err(MessagingError::NotAMember { conversation_id: d })
        );
    }

    #[test]
    fn pages_are_bounded_by_bytes() {
        let limits = Limits { max_envelope_bytes: 64 * 1024, messages_per_minute: 10_000, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        let mut big = env(1);
        big.ciphertext = vec![1; 60_000];
        for i in 0..40 {
            s.send_message(p(1), 10 + i, d, big.clone()).unwrap();
        }
        let page = read(&s, 2, d, None, Direction::Forward, 200);
        let per = validate::message_view_bytes(&page.messages[0]);
        assert_eq!(page.messages.len() as u64, MAX_MESSAGE_PAGE_BYTES as u64 / per);
        assert_eq!(page.next_seq, Some(page.messages.len() as u64 + 1));
    }

    #[test]
    fn late_joiners_see_only_new_messages_and_unread_counts() {
        let mut s = with_users(fresh(), 4);
        let g = group(&mut s, 1, &[2]);
        for _ in 0..3 {
            s.send_message(p(1), 10, g, env(1)).unwrap();
        }
        s.add_members(p(1), 11, g, vec![p(3)]).unwrap();
        s.send_message(p(2), 12, g, env(2)).unwrap();
        assert_eq!(seqs(&read(&s, 3, g, None, Direction::Forward, 10)), vec![4]);
        assert_eq!(seqs(&read(&s, 3, g, None, Direction::Backward, 10)), vec![4]);
        assert_eq!(s.message_history(p(3), 20, g, 1, None), Err(MessagingError::MessageNotFound { conversation_id: g, seq: 1 }));
        let unread = |s: &State<_>, who: u8| s.inbox(p(who), 20, &PageRequest::default(), || true).entries[0].unread;
        assert_eq!((unread(&s, 1), unread(&s, 2), unread(&s, 3)), (1, 0, 1));
        assert_eq!(s.mark_read(p(1), 20, g, 5), Err(MessagingError::SequenceOutOfRange { seq: 5, last_seq: 4 }));
        assert_eq!(s.mark_read(p(1), 20, g, 4), Ok(0));
        assert_eq!(s.mark_read(p(1), 20, g, 2), Ok(0), "markers never move back");
        assert_eq!(unread(&s, 1), 0);
        assert_eq!(s.mark_read(p(4), 20, g, 1), Err(MessagingError::NotAMember { conversation_id: g }));
    }

    #[test]
    fn leaving_stops_sending() {
        let mut s = with_users(fresh(), 3);
        let g = group(&mut s, 1, &[2, 3]);
        s.leave(p(3), g).unwrap();
        assert_eq!(s.send_message(p(3), 10, g, env(1)), Err(MessagingError::NotAMember { conversation_id: g }));
    }

    #[test]
    fn deactivated_users_neither_read_nor_mark_nor_receive() {
        let mut s = with_users(fresh(), 3);
        let g = group(&mut s, 1, &[2, 3]);
        s.send_message(p(1), 10, g, env(1)).unwrap();
        s.deactivate(p(3)).unwrap();
        let deactivated = Err(MessagingError::UserDeactivated { user: p(3) });
        let req = ReadRequest { conversation_id: g, from_seq: None, direction: Direction::Forward, limit: None };
        assert_eq!(s.read_messages(p(3), 20, &req).map(|_| ()), deactivated);
        assert_eq!(s.message_history(p(3), 20, g, 1, None).map(|_| ()), deactivated);
        assert_eq!(s.mark_read(p(3), 20, g, 1).map(|_| ()), deactivated);
        let mut e = env(1);
        e.ephemeral_public_key = vec![9; 32];
        e.wrapped_keys = vec![WrappedKey { recipient: p(3), recipient_key_epoch: 1, wrapped_key: vec![1; 48] }];
        assert_eq!(s.send_message(p(1), 20, g, e).map(|_| ()), deactivated);
        assert_eq!(s.conversation(g).unwrap().last_seq, 1);
    }

    #[test]
    fn edits_do_not_make_a_daily_active_sender() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        s.send_message(p(1), 10, d, env(1)).unwrap();
        let tomorrow = DAY_NS + 10;
        s.edit_message(p(1), tomorrow, d, 1, env(2)).unwrap();
        assert_eq!(s.metrics(tomorrow).daily_active_senders, 0);
        s.send_message(p(1), tomorrow + 1, d, env(3)).unwrap();
        assert_eq!(s.metrics(tomorrow + 1).daily_active_senders, 1);
    }

    #[test]
    fn a_zero_limit_reads_nothing() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        s.send_message(p(1), 10, d, env(1)).unwrap();
        for dir in [Direction::Forward, Direction::Backward] {
            let page = read(&s, 2, d, None, dir, 0);
            assert_eq!((page.messages.len(), page.next_seq, page.last_seq), (0, None, 1));
        }
    }

    #[test]
    fn reply_size_estimates_never_undercount_candid() {
        let principal = |n: u8| Principal::from_slice(&[n; 29]);
        let envelope = |ct: usize, keys: usize, wk: usize| Envelope {
            ciphertext: vec![1; ct],
            nonce: vec![2; 24],
            key_epoch: u32::MAX,
            ephemeral_public_key: if keys > 0 { vec![3; 32] } else { vec![] },
            wrapped_keys: (0..keys).map(|i| WrappedKey { recipient: principal(i as u8), recipient_key_epoch: u32::MAX, wrapped_key: vec![4; wk] }).collect(),
        };
        let marginal = |one: Vec<u8>, two: Vec<u8>| (two.len() - one.len()) as u64;
        for (ct, keys, wk) in [(16, 0, 0), (300, 2, 48), (70_000, 64, 128), (200_000, 1_024, 128), (1 << 20, 0, 0)] {
            let e = envelope(ct, keys, wk);
            let m = MessageView { seq: u64::MAX, sender: principal(7), sent_at_ns: u64::MAX, edit_count: u32::MAX, edited_at_ns: Some(u64::MAX), content: MessageContent::Envelope(e.clone()) };
            let size = marginal(candid::encode_one(vec![m.clone()]).unwrap(), candid::encode_one(vec![m.clone(), m.clone()]).unwrap());
            assert!(validate::message_view_bytes(&m) >= size, "{ct}/{keys}: {} < {size}", validate::message_view_bytes(&m));
            let v = EnvelopeVersion { version: u32::MAX, stored_at_ns: u64::MAX, envelope: e };
            let size = marginal(candid::encode_one(vec![v.clone()]).unwrap(), candid::encode_one(vec![v.clone(), v.clone()]).unwrap());
            assert!(validate::version_bytes(&v) >= size);
        }
        let t = MessageView { seq: 1, sender: principal(7), sent_at_ns: 1, edit_count: 1, edited_at_ns: Some(1), content: MessageContent::Deleted(Tombstone { reason: DeletionReason::GroupAdmin, deleted_by: Some(principal(8)), deleted_at_ns: u64::MAX }) };
        let size = marginal(candid::encode_one(vec![t.clone()]).unwrap(), candid::encode_one(vec![t.clone(), t.clone()]).unwrap());
        assert!(validate::message_view_bytes(&t) >= size);
    }

    #[test]
    fn history_is_paged_by_bytes() {
        let limits = Limits { max_envelope_bytes: 1024 * 1024, messages_per_minute: 10_000, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 2);
        let d = s.open_direct(p(1), 5, p(2)).unwrap();
        let mut big = env(1);
        big.ciphertext = vec![1; 1_000_000];
        s.send_message(p(1), 10, d, big.clone()).unwrap();
        for i in 0..MAX_EDITS_PER_MESSAGE {
            s.edit_message(p(1), 11 + i as u64, d, 1, big.clone()).unwrap();
        }
        let mut versions = vec![];
        let mut start = None;
        loop {
            let page = s.message_history(p(2), 100, d, 1, start).unwrap();
            let bytes: u64 = page.versions.iter().map(validate::version_bytes).sum();
            assert!(page.versions.len() == 1 || bytes <= MAX_MESSAGE_PAGE_BYTES as u64);
            versions.extend(page.versions.iter().map(|v| v.version));
            match page.next_version {
                Some(n) => start = Some(n),
                None => break,
            }
        }
        assert_eq!(versions, (0..MAX_EDITS_PER_MESSAGE).collect::<Vec<_>>());
    }
}
