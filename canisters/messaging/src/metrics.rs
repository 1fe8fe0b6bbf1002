//! Shard totals for the checkpoint report and the burn ledger: counts only, no content and no
//! social graph (no per-user or per-conversation figures).

use crate::messages::DAY_NS;
use crate::state::State;
use ic_stable_structures::Memory;
use interfaces::messaging::MessagingMetrics;

impl<M: Memory> State<M> {
    pub fn metrics(&self, now: u64) -> MessagingMetrics {
        let c = self.counters();
        let today = now / DAY_NS;
        MessagingMetrics {
            users: c.users,
            active_users: c.active_users,
            verified_institutions: c.verified_institutions,
            conversations: c.direct_conversations + c.groups,
            direct_conversations: c.direct_conversations,
            groups: c.groups,
            messages_sent: c.messages_sent,
            messages_stored: c.messages_stored,
            bytes_stored: c.bytes_stored,
            // The stored count belongs to the last day anyone sent; a quiet day since means 0.
            daily_active_senders: if c.day == today { c.daily_active_senders } else { 0 },
            day: today,
            messages_expired: c.messages_expired,
            legal_holds_active: c.legal_holds_active,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::conversations::tests::{group, with_users};
    use crate::messages::tests::env;
    use crate::messages::DAY_NS;
    use crate::state::test_support::*;

    #[test]
    fn totals_and_daily_active_senders_roll_over() {
        let mut s = with_users(fresh(), 3);
        let d = s.open_direct(p(1), 0, p(2)).unwrap();
        group(&mut s, 1, &[2, 3]);
        s.send_message(p(1), 10, d, env(1)).unwrap();
        s.send_message(p(1), 20, d, env(1)).unwrap();
        s.send_message(p(2), 30, d, env(1)).unwrap();
        let m = s.metrics(40);
        assert_eq!((m.users, m.conversations, m.direct_conversations, m.groups), (3, 2, 1, 1));
        assert_eq!((m.messages_sent, m.messages_stored, m.daily_active_senders, m.day), (3, 3, 2, 0));
        assert_eq!(s.metrics(DAY_NS + 1).daily_active_senders, 0);
        s.send_message(p(1), DAY_NS + 5, d, env(1)).unwrap();
        let m = s.metrics(DAY_NS + 6);
        assert_eq!((m.daily_active_senders, m.day), (1, 1));
    }
}
