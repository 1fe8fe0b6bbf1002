//! Retention: when a message expires, and the sweep that frees expired envelopes.
//!
//! A message expires at [`expires_at`]. From that moment every read shows it as a `Retention`
//! tombstone and it no longer counts as unread, whether or not the sweep has run: the sweep
//! only frees storage. Once expired, a message stays expired: relaxing the policy or setting a
//! legal hold first records a watermark (`expired_through_ns`) of what had expired.
//!
//! The sweep is driven by a due queue, `(time the oldest unswept message expires,
//! conversation)`, one entry per conversation with something left to expire. A run takes due
//! entries in time order and tombstones expired messages until its work budget is spent, so it
//! touches expired messages only, never idle conversations. The canister's timer gives each run
//! an instruction budget and re-arms at once while due entries remain (see `lib.rs`), so the
//! sweep's capacity is a whole update message's worth of instructions per round, not a fixed
//! count per minute (figures in the README).

use crate::state::{Conversation, State, StoredContent};
use crate::validate;
use ic_stable_structures::Memory;
use interfaces::messaging::{DeletionReason, Tombstone};
use serde::Serialize;

/// When a message of `c` sent at `sent_at` expires (`None`: not while the policy and hold stay
/// as they are). A message under the watermark expired under the policy of the time the
/// watermark was set; any other under the policy in force (suspended by a legal hold). Every
/// time from the watermark's setting on, the expired messages are a prefix of the conversation.
pub fn expires_at(c: &Conversation, sent_at: u64) -> Option<u64> {
    if c.expired_through_ns.is_some_and(|through| sent_at <= through) {
        return Some(sent_at.saturating_add(c.expired_keep_ns));
    }
    if c.legal_hold.is_some() {
        return None;
    }
    validate::retention_ns(&c.retention).map(|keep| sent_at.saturating_add(keep))
}

/// Whether a message sent at `sent_at` has expired at `now`.
pub fn is_expired(c: &Conversation, sent_at: u64, now: u64) -> bool {
    expires_at(c, sent_at).is_some_and(|t| t <= now)
}

/// Records that everything expired under the rules in force at `now` stays expired: called
/// before the policy changes or a hold is set.
pub fn mark_expired(c: &mut Conversation, now: u64) {
    if c.legal_hold.is_some() {
        return; // nothing expired by policy while held; the existing mark stays
    }
    let Some(keep) = validate::retention_ns(&c.retention) else { return };
    let Some(through) = now.checked_sub(keep) else { return };
    if c.expired_through_ns.is_none_or(|t| through > t) {
        c.expired_through_ns = Some(through);
        c.expired_keep_ns = keep;
    }
}

/// What one run did.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub messages_examined: u32,
    pub messages_removed: u32,
    pub conversations_visited: u32,
    /// Due work is left (the budget ran out): the timer runs again at once.
    pub backlog: bool,
}

impl<M: Memory> State<M> {
    /// The sequence number of the conversation's first message that has not expired at `now`
    /// (`last_seq + 1` if all have). Binary search: expired messages are a prefix.
    pub fn first_live_seq(&self, id: u64, c: &Conversation, now: u64) -> u64 {
        let (mut lo, mut hi) = (c.retention_floor_seq.max(1), c.last_seq + 1);
        // The due entry is the expiry of the oldest unswept message, so without one at or
        // before now nothing unswept has expired, except what a watermark hides under a hold
        // (no due entry then) or a schema-1 conversation not yet migrated.
        let maybe = c.sweep_due_ns.is_some_and(|due| due <= now)
            || (c.legal_hold.is_some() && c.expired_through_ns.is_some())
            || self.retained.contains_key(&id);
        if !maybe {
            return lo.min(hi);
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let expired = self.message(id, mid).is_some_and(|m| is_expired(c, m.sent_at_ns, now));
            if expired {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Puts the conversation's entry in the due queue where it belongs now (or removes it). The
    /// caller stores `c`.
    pub fn reschedule(&mut self, id: u64, c: &mut Conversation) {
        if let Some(old) = c.sweep_due_ns.take() {
            self.sweep_due.remove(&(old, id));
        }
        if c.retention_floor_seq > c.last_seq || c.legal_hold.is_some() {
            return; // nothing unswept, or nothing may be removed
        }
        let Some(oldest) = self.message(id, c.retention_floor_seq) else { return };
        if let Some(due) = expires_at(c, oldest.sent_at_ns) {
            self.sweep_due.insert((due, id), ());
            c.sweep_due_ns = Some(due);
        }
    }

    /// One run of the sweep at `now`. `has_budget` is asked before each unit of work (a message
    /// examined, a schema-1 entry migrated); the run stops when it says no.
    pub fn sweep(&mut self, now: u64, mut has_budget: impl FnMut() -> bool) -> SweepReport {
        let mut report = SweepReport::default();
        let mut freed = (0u64, 0u64); // (messages, bytes)
        // Schema 1 kept a list of conversations to visit: give each one its due entry once.
        while let Some((id, ())) = self.retained.first_key_value() {
            if !has_budget() {
                report.backlog = true;
                break;
            }
            self.retained.remove(&id);
            if let Some(mut c) = self.conversation(id) {
                self.reschedule(id, &mut c);
                self.put_conversation(id, c);
            }
        }
        while !report.backlog {
            let Some(((due, id), ())) = self.sweep_due.first_key_value() else { break };
            if due > now {
                break;
            }
            report.conversations_visited += 1;
            let Some(c) = self.conversation(id) else {
                self.sweep_due.remove(&(due, id)); // cannot happen: conversations are never deleted
                continue;
            };
            report.backlog = !self.sweep_conversation(id, c, now, &mut has_budget, &mut report, &mut freed);
        }
        if freed.0 > 0 {
            self.update_counters(|c| {
                c.messages_stored = c.messages_stored.saturating_sub(freed.0);
                c.bytes_stored = c.bytes_stored.saturating_sub(freed.1);
                c.messages_expired += freed.0;
            });
        }
        report
    }

    /// Tombstones the conversation's expired messages from its floor on; false when the budget
    /// ran out first (its due entry stays, so the next run resumes here).
    fn sweep_conversation(
        &mut self,
        id: u64,
        mut c: Conversation,
        now: u64,
        has_budget: &mut impl FnMut() -> bool,
        report: &mut SweepReport,
        freed: &mut (u64, u64),
    ) -> bool {
        let mut finished = true;
        while c.retention_floor_seq <= c.last_seq && c.legal_hold.is_none() {
            if !has_budget() {
                finished = false;
                break;
            }
            let seq = c.retention_floor_seq;
            let message = self.message(id, seq).expect("messages up to last_seq exist");
            let Some(at) = expires_at(&c, message.sent_at_ns).filter(|t| *t <= now) else { break };
            report.messages_examined += 1;
            if matches!(message.content, StoredContent::Envelope(_)) {
                let tombstone = Tombstone { reason: DeletionReason::Retention, deleted_by: None, deleted_at_ns: at };
                freed.1 += self.tombstone(id, seq, message, tombstone);
                freed.0 += 1;
                report.messages_removed += 1;
            }
            c.retention_floor_seq += 1;
        }
        if finished {
            self.reschedule(id, &mut c);
        }
        self.put_conversation(id, c);
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversations::tests::with_users;
    use crate::messages::tests::env;
    use crate::state::test_support::*;
    use interfaces::messaging::{Direction, Limits, MessageContent, ReadRequest, RetentionPolicy};

    const SEC: u64 = 1_000_000_000;

    fn live(s: &State<ic_stable_structures::VectorMemory>, id: u64, now: u64) -> Vec<bool> {
        let req = ReadRequest { conversation_id: id, from_seq: None, direction: Direction::Forward, limit: None };
        s.read_messages(p(1), now, &req).unwrap().messages.iter().map(|m| matches!(m.content, MessageContent::Envelope(_))).collect()
    }

    fn sweep_all(s: &mut State<ic_stable_structures::VectorMemory>, now: u64) -> SweepReport {
        s.sweep(now, || true)
    }

    #[test]
    fn expired_messages_vanish_at_read_time_and_the_sweep_frees_them() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.set_retention(p(1), 0, d, RetentionPolicy::Disappearing { after_seconds: 60 }).unwrap();
        s.send_message(p(1), 10 * SEC, d, env(1)).unwrap();
        s.send_message(p(2), 50 * SEC, d, env(2)).unwrap();
        assert_eq!(live(&s, d, 69 * SEC), vec![true, true]);
        // Hidden at once, before any sweep; the stored envelope is still there.
        assert_eq!(live(&s, d, 70 * SEC), vec![false, true]);
        assert_eq!(s.counters().messages_stored, 2);
        let r = sweep_all(&mut s, 70 * SEC);
        assert_eq!((r.messages_removed, r.backlog), (1, false));
        assert_eq!(live(&s, d, 70 * SEC), vec![false, true]);
        let c = s.counters();
        assert_eq!((c.messages_stored, c.messages_expired), (1, 1));
        assert_eq!(s.sweep_due.len(), 1, "the second message is due at 110 s");
    }

    #[test]
    fn a_legal_hold_stops_expiry_and_the_sweep_but_never_resurrects() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.set_retention(p(1), 0, d, RetentionPolicy::Disappearing { after_seconds: 60 }).unwrap();
        s.send_message(p(1), 10 * SEC, d, env(1)).unwrap();
        s.send_message(p(2), 50 * SEC, d, env(2)).unwrap();
        // The first expired at 70 s; the hold at 80 s keeps it expired and freezes the second.
        s.set_legal_hold(p(AUTHORITY), 80 * SEC, d, "CASE-1".into()).unwrap();
        assert_eq!(live(&s, d, 500 * SEC), vec![false, true]);
        assert_eq!(sweep_all(&mut s, 500 * SEC).messages_removed, 0, "nothing is removed under hold");
        assert_eq!(s.counters().messages_stored, 2);
        s.clear_legal_hold(p(AUTHORITY), 501 * SEC, d).unwrap();
        assert_eq!(live(&s, d, 501 * SEC), vec![false, false]);
        let r = sweep_all(&mut s, 501 * SEC);
        assert_eq!((r.messages_removed, r.backlog), (2, false));
        let c = s.counters();
        assert_eq!((c.messages_stored, c.bytes_stored, c.messages_expired, c.messages_sent), (0, 0, 2, 2));
        assert_eq!(s.send_message(p(1), 502 * SEC, d, env(3)).unwrap().seq, 3, "numbering goes on");
    }

    #[test]
    fn relaxing_the_policy_does_not_bring_expired_messages_back() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.set_retention(p(1), 0, d, RetentionPolicy::Disappearing { after_seconds: 60 }).unwrap();
        s.send_message(p(1), 10 * SEC, d, env(1)).unwrap();
        s.send_message(p(1), 40 * SEC, d, env(2)).unwrap();
        let before = s.read_messages(p(1), 79 * SEC, &ReadRequest { conversation_id: d, from_seq: None, direction: Direction::Forward, limit: None }).unwrap();
        s.set_retention(p(2), 80 * SEC, d, RetentionPolicy::KeepForever).unwrap();
        assert_eq!(live(&s, d, 1_000 * SEC), vec![false, true]);
        let after = s.read_messages(p(1), 1_000 * SEC, &ReadRequest { conversation_id: d, from_seq: None, direction: Direction::Forward, limit: None }).unwrap();
        assert_eq!(before.messages[0], after.messages[0], "the tombstone does not change");
        assert_eq!(sweep_all(&mut s, 1_000 * SEC).messages_removed, 1);
        assert!(s.sweep_due.is_empty());
        assert_eq!(live(&s, d, 1_000_000 * SEC), vec![false, true]);
    }

    #[test]
    fn keep_forever_conversations_are_never_touched() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.send_message(p(1), SEC, d, env(1)).unwrap();
        let r = sweep_all(&mut s, 1_000_000 * SEC);
        assert_eq!((r.conversations_visited, r.messages_removed), (0, 0));
        assert_eq!(live(&s, d, 1_000_000 * SEC), vec![true]);
    }

    #[test]
    fn a_backlog_is_worked_off_across_budgeted_runs_and_idle_conversations_cost_nothing() {
        let limits = Limits { messages_per_minute: 10_000, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 4);
        let a = s.open_direct(p(1), 0, p(2)).unwrap();
        let b = s.open_direct(p(1), 0, p(3)).unwrap();
        let idle = s.open_direct(p(1), 0, p(4)).unwrap();
        s.set_retention(p(1), 0, idle, RetentionPolicy::KeepDays(30)).unwrap();
        s.send_message(p(1), 0, idle, env(1)).unwrap();
        for id in [a, b] {
            s.set_retention(p(1), 0, id, RetentionPolicy::KeepDays(1)).unwrap();
            for i in 0..25 {
                s.send_message(p(1), i * SEC, id, env(1)).unwrap();
            }
        }
        let later = 2 * 24 * 3600 * SEC;
        let mut runs = 0;
        loop {
            let mut units = 0;
            let r = s.sweep(later, || {
                units += 1;
                units <= 10
            });
            assert!(r.messages_examined <= 10);
            runs += 1;
            if !r.backlog {
                break;
            }
        }
        assert_eq!(runs, 5, "50 expired messages, 10 per run");
        assert_eq!(s.counters().messages_expired, 50);
        assert_eq!(s.counters().messages_stored, 1, "the idle conversation's message is not due");
        assert_eq!(s.sweep_due.len(), 1);
    }

    #[test]
    fn schema_1_sweep_list_is_drained_into_the_due_queue() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.send_message(p(1), SEC, d, env(1)).unwrap();
        // As schema 1 left it: a policy, the conversation listed, no due entry.
        let mut c = s.conversation(d).unwrap();
        c.retention = RetentionPolicy::Disappearing { after_seconds: 5 };
        s.put_conversation(d, c);
        s.retained.insert(d, ());
        let r = sweep_all(&mut s, 100 * SEC);
        assert_eq!((r.messages_removed, s.retained.len(), s.sweep_due.len()), (1, 0, 0));
    }

    #[test]
    fn first_live_seq_finds_the_boundary() {
        let limits = Limits { messages_per_minute: 10_000, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.set_retention(p(1), 0, d, RetentionPolicy::Disappearing { after_seconds: 10 }).unwrap();
        for i in 0..100 {
            s.send_message(p(1), i * SEC, d, env(1)).unwrap();
        }
        let c = s.conversation(d).unwrap();
        for now in [0, 9, 10, 11, 55, 109, 110, 500] {
            let expected = (1..=100u64).find(|seq| (seq - 1) * SEC + 10 * SEC > now * SEC).unwrap_or(101);
            assert_eq!(s.first_live_seq(d, &c, now * SEC), expected, "at {now} s");
        }
    }
}
