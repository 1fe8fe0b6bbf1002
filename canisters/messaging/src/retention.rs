//! The retention sweep: removes (tombstones) messages older than their conversation's policy,
//! in bounded batches. Each run examines at most `max_messages` messages and visits at most
//! `max_conversations` conversations, then remembers where it stopped; the timer calls it
//! again, so a backlog is worked off over several runs, never in one unbounded loop.
//! Conversations under legal hold are skipped.

use crate::state::{State, StoredContent};
use crate::validate;
use ic_stable_structures::Memory;
use interfaces::messaging::{DeletionReason, Tombstone};
use serde::Serialize;

/// Work bounds of one timer run.
pub const SWEEP_MAX_MESSAGES: u32 = 1_000;
pub const SWEEP_MAX_CONVERSATIONS: u32 = 256;

/// What one run did.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub messages_examined: u32,
    pub messages_removed: u32,
    pub conversations_visited: u32,
    /// The run stopped on a bound; the next run continues where it stopped.
    pub budget_exhausted: bool,
}

impl<M: Memory> State<M> {
    /// One bounded pass of the retention sweep at time `now`.
    pub fn sweep_expired(&mut self, now: u64, max_messages: u32, max_conversations: u32) -> SweepReport {
        let mut report = SweepReport::default();
        let cursor = self.counters().sweep_cursor;
        // Conversations from the cursor to the end, then from the start up to the cursor.
        let ids: Vec<u64> = self
            .retained
            .range(cursor..)
            .chain(self.retained.range(..cursor))
            .map(|e| *e.key())
            .take(max_conversations as usize)
            .collect();
        let mut next_cursor = ids.last().map_or(0, |id| id + 1);
        for id in ids {
            report.conversations_visited += 1;
            if !self.sweep_conversation(id, now, max_messages, &mut report) {
                report.budget_exhausted = true;
                next_cursor = id; // resume inside this conversation
                break;
            }
        }
        if report.conversations_visited == max_conversations {
            report.budget_exhausted = true;
        }
        self.update_counters(|c| {
            c.sweep_cursor = next_cursor;
            c.messages_expired += report.messages_removed as u64;
        });
        report
    }

    /// Sweeps one conversation; false when the message budget ran out before it was done.
    fn sweep_conversation(&mut self, id: u64, now: u64, max_messages: u32, report: &mut SweepReport) -> bool {
        let Some(mut conversation) = self.conversation(id) else {
            self.retained.remove(&id);
            return true;
        };
        let Some(keep_ns) = validate::retention_ns(&conversation.retention) else {
            self.retained.remove(&id);
            return true;
        };
        if conversation.legal_hold.is_some() {
            return true;
        }
        let cutoff = now.saturating_sub(keep_ns);
        let mut finished = true;
        while conversation.retention_floor_seq <= conversation.last_seq {
            if report.messages_examined >= max_messages {
                finished = false;
                break;
            }
            let seq = conversation.retention_floor_seq;
            let message = self.message(id, seq).expect("messages below last_seq exist");
            if message.sent_at_ns > cutoff {
                break; // messages are in time order: the rest are younger
            }
            report.messages_examined += 1;
            if matches!(message.content, StoredContent::Envelope(_)) {
                let tombstone = Tombstone { reason: DeletionReason::Retention, deleted_by: None, deleted_at_ns: now };
                self.tombstone(id, seq, message, tombstone);
                report.messages_removed += 1;
            }
            conversation.retention_floor_seq += 1;
        }
        self.put_conversation(id, conversation);
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

    fn contents(s: &State<ic_stable_structures::VectorMemory>, id: u64) -> Vec<bool> {
        let req = ReadRequest { conversation_id: id, from_seq: None, direction: Direction::Forward, limit: None };
        s.read_messages(p(1), &req).unwrap().messages.iter().map(|m| matches!(m.content, MessageContent::Envelope(_))).collect()
    }

    #[test]
    fn expired_messages_become_tombstones_and_legal_hold_stops_it() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.set_retention(p(1), 0, d, RetentionPolicy::Disappearing { after_seconds: 60 }).unwrap();
        s.send_message(p(1), 10 * SEC, d, env(1)).unwrap();
        s.send_message(p(2), 50 * SEC, d, env(2)).unwrap();
        assert_eq!(s.sweep_expired(69 * SEC, 100, 100).messages_removed, 0);
        s.set_legal_hold(p(AUTHORITY), 70 * SEC, d, "CASE-1".into()).unwrap();
        assert_eq!(s.sweep_expired(500 * SEC, 100, 100).messages_removed, 0);
        assert_eq!(contents(&s, d), vec![true, true]);
        s.clear_legal_hold(p(AUTHORITY), 501 * SEC, d).unwrap();
        let r = s.sweep_expired(501 * SEC, 100, 100);
        assert_eq!((r.messages_removed, r.budget_exhausted), (2, false));
        assert_eq!(contents(&s, d), vec![false, false]);
        let c = s.counters();
        assert_eq!((c.messages_stored, c.bytes_stored, c.messages_expired, c.messages_sent), (0, 0, 2, 2));
        // New messages keep numbering after the sweep.
        assert_eq!(s.send_message(p(1), 502 * SEC, d, env(3)).unwrap().seq, 3);
    }

    #[test]
    fn keep_forever_conversations_are_never_touched() {
        let mut s = with_users(fresh(), 2);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        s.send_message(p(1), SEC, d, env(1)).unwrap();
        let r = s.sweep_expired(1_000_000 * SEC, 100, 100);
        assert_eq!((r.conversations_visited, r.messages_removed), (0, 0));
        assert_eq!(contents(&s, d), vec![true]);
    }

    #[test]
    fn a_backlog_is_worked_off_in_bounded_runs() {
        let limits = Limits { messages_per_minute: 10_000, ..Limits::default() };
        let mut s = with_users(fresh_with(limits), 3);
        let a = s.open_direct(p(1), 0, p(2)).unwrap();
        let b = s.open_direct(p(1), 0, p(3)).unwrap();
        for id in [a, b] {
            s.set_retention(p(1), 0, id, RetentionPolicy::KeepDays(1)).unwrap();
            for i in 0..25 {
                s.send_message(p(1), i * SEC, id, env(1)).unwrap();
            }
        }
        let later = 2 * 24 * 3600 * SEC;
        let mut runs = 0;
        loop {
            let r = s.sweep_expired(later, 10, 100);
            assert!(r.messages_examined <= 10);
            runs += 1;
            if !r.budget_exhausted {
                break;
            }
        }
        assert_eq!(runs, 5, "50 expired messages in batches of 10");
        assert_eq!(s.counters().messages_stored, 0);
        assert_eq!(s.counters().messages_expired, 50);
    }

    #[test]
    fn conversation_visits_are_bounded_and_round_robin() {
        let mut s = with_users(fresh(), 4);
        let ids: Vec<u64> = (2..=4).map(|i| s.open_direct(p(1), 0, p(i)).unwrap()).collect();
        for &id in &ids {
            s.set_retention(p(1), 0, id, RetentionPolicy::Disappearing { after_seconds: 5 }).unwrap();
            s.send_message(p(1), SEC, id, env(1)).unwrap();
        }
        let r = s.sweep_expired(100 * SEC, 100, 2);
        assert_eq!((r.conversations_visited, r.messages_removed, r.budget_exhausted), (2, 2, true));
        let r = s.sweep_expired(100 * SEC, 100, 2);
        assert_eq!(r.messages_removed, 1, "the next run starts where the last stopped");
    }
}
