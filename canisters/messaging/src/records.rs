//! The compact form (`codec.rs`) of each stored record of `state.rs`.
//!
//! A message stores its envelope field by field; when its sender is also one of the envelope's
//! wrapped-key recipients (a direct message wraps its key for both sides) the sender is stored
//! as that recipient's index instead of a second copy of the principal.

use crate::codec::{DecodeError, Reader, Record, Writer};
use crate::state::{Conversation, Counters, Member, SenderActivity, StoredContent, StoredKey, StoredMessage, User};
use interfaces::messaging::{
    ConversationKind, DeletionReason, Envelope, LegalHold, RetentionChange, RetentionPolicy, Role, Tombstone, Verification,
    WrappedKey,
};

fn role_code(r: &Role) -> u8 {
    match r {
        Role::Member => 0,
        Role::Admin => 1,
        Role::Owner => 2,
    }
}

fn role(r: &mut Reader<'_>) -> Result<Role, DecodeError> {
    match r.u8()? {
        0 => Ok(Role::Member),
        1 => Ok(Role::Admin),
        2 => Ok(Role::Owner),
        _ => Err("bad role".into()),
    }
}

fn opt_u64(w: &mut Writer, v: Option<u64>) {
    match v {
        None => w.u8(0),
        Some(v) => {
            w.u8(1);
            w.u64(v);
        }
    }
}

fn read_opt_u64(r: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    Ok(if r.bool()? { Some(r.u64()?) } else { None })
}

impl Record for User {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.handle);
        w.str(&self.display_name);
        w.varint(self.key_epoch.into());
        w.u8(u8::from(self.active) | (u8::from(self.verified.is_some()) << 1) | (u8::from(self.current_key.is_some()) << 2));
        if let Some(v) = &self.verified {
            w.str(&v.institution_name);
            w.principal(&v.verified_by);
            w.u64(v.verified_at_ns);
        }
        w.u64(self.registered_at_ns);
        w.varint(self.conversation_count.into());
        w.varint(self.blocked_count.into());
        if let Some(k) = &self.current_key {
            k.encode(w);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let handle = r.string()?;
        let display_name = r.string()?;
        let key_epoch = r.u32()?;
        let flags = r.u8()?;
        if flags > 7 {
            return Err("bad user flags".into());
        }
        let verified = if flags & 2 != 0 {
            Some(Verification { institution_name: r.string()?, verified_by: r.principal()?, verified_at_ns: r.u64()? })
        } else {
            None
        };
        Ok(User {
            handle,
            display_name,
            key_epoch,
            verified,
            active: flags & 1 != 0,
            registered_at_ns: r.u64()?,
            conversation_count: r.u32()?,
            blocked_count: r.u32()?,
            current_key: if flags & 4 != 0 { Some(StoredKey::decode(r)?) } else { None },
        })
    }
}

impl Record for StoredKey {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.public_key);
        w.u64(self.since_ns);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(StoredKey { public_key: r.bytes()?, since_ns: r.u64()? })
    }
}

impl Record for Member {
    fn encode(&self, w: &mut Writer) {
        w.u8(role_code(&self.role));
        w.u64(self.joined_at_ns);
        w.u64(self.first_visible_seq);
        w.u64(self.last_read_seq);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Member { role: role(r)?, joined_at_ns: r.u64()?, first_visible_seq: r.u64()?, last_read_seq: r.u64()? })
    }
}

impl Record for SenderActivity {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.window_start_ns);
        w.varint(self.sent_in_window.into());
        opt_u64(w, self.last_send_day);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SenderActivity { window_start_ns: r.u64()?, sent_in_window: r.u32()?, last_send_day: read_opt_u64(r)? })
    }
}

impl Record for Counters {
    fn encode(&self, w: &mut Writer) {
        let c = self;
        for v in [
            c.next_conversation_id,
            c.users,
            c.active_users,
            c.verified_institutions,
            c.direct_conversations,
            c.groups,
            c.messages_sent,
            c.messages_stored,
            c.bytes_stored,
            c.messages_expired,
            c.legal_holds_active,
            c.day,
            c.daily_active_senders,
            c.sweep_cursor,
        ] {
            w.u64(v);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Counters {
            next_conversation_id: r.u64()?,
            users: r.u64()?,
            active_users: r.u64()?,
            verified_institutions: r.u64()?,
            direct_conversations: r.u64()?,
            groups: r.u64()?,
            messages_sent: r.u64()?,
            messages_stored: r.u64()?,
            bytes_stored: r.u64()?,
            messages_expired: r.u64()?,
            legal_holds_active: r.u64()?,
            day: r.u64()?,
            daily_active_senders: r.u64()?,
            sweep_cursor: r.u64()?,
        })
    }
}

// Presence bits of a conversation's optional fields.
const HOLD: u8 = 1;
const EXPIRED_THROUGH: u8 = 2;
const SWEEP_DUE: u8 = 4;
const RETENTION_CHANGED: u8 = 8;

impl Record for Conversation {
    fn encode(&self, w: &mut Writer) {
        match &self.kind {
            ConversationKind::Direct { users: (a, b) } => {
                w.u8(0);
                w.principal(a);
                w.principal(b);
            }
            ConversationKind::Group { name } => {
                w.u8(1);
                w.str(name);
            }
        }
        w.principal(&self.created_by);
        w.u64(self.created_at_ns);
        w.u64(self.last_seq);
        w.varint(self.member_count.into());
        match self.retention {
            RetentionPolicy::KeepForever => w.u8(0),
            RetentionPolicy::KeepDays(d) => {
                w.u8(1);
                w.varint(d.into());
            }
            RetentionPolicy::Disappearing { after_seconds } => {
                w.u8(2);
                w.varint(after_seconds);
            }
        }
        w.u64(self.last_activity_ns);
        w.u64(self.retention_floor_seq);
        w.u64(self.expired_keep_ns);
        let bit = |present: bool, b: u8| if present { b } else { 0 };
        w.u8(bit(self.legal_hold.is_some(), HOLD)
            | bit(self.expired_through_ns.is_some(), EXPIRED_THROUGH)
            | bit(self.sweep_due_ns.is_some(), SWEEP_DUE)
            | bit(self.retention_changed.is_some(), RETENTION_CHANGED));
        if let Some(h) = &self.legal_hold {
            w.str(&h.case_reference);
            w.principal(&h.set_by);
            w.u64(h.set_at_ns);
        }
        if let Some(t) = self.expired_through_ns {
            w.u64(t);
        }
        if let Some(t) = self.sweep_due_ns {
            w.u64(t);
        }
        if let Some(c) = &self.retention_changed {
            w.principal(&c.by);
            w.u64(c.at_ns);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = match r.u8()? {
            0 => ConversationKind::Direct { users: (r.principal()?, r.principal()?) },
            1 => ConversationKind::Group { name: r.string()? },
            _ => return Err("bad conversation kind".into()),
        };
        let created_by = r.principal()?;
        let created_at_ns = r.u64()?;
        let last_seq = r.u64()?;
        let member_count = r.u32()?;
        let retention = match r.u8()? {
            0 => RetentionPolicy::KeepForever,
            1 => RetentionPolicy::KeepDays(r.u32()?),
            2 => RetentionPolicy::Disappearing { after_seconds: r.varint()? },
            _ => return Err("bad retention policy".into()),
        };
        let last_activity_ns = r.u64()?;
        let retention_floor_seq = r.u64()?;
        let expired_keep_ns = r.u64()?;
        let flags = r.u8()?;
        if flags > 15 {
            return Err("bad conversation flags".into());
        }
        let legal_hold = if flags & HOLD != 0 {
            Some(LegalHold { case_reference: r.string()?, set_by: r.principal()?, set_at_ns: r.u64()? })
        } else {
            None
        };
        let expired_through_ns = if flags & EXPIRED_THROUGH != 0 { Some(r.u64()?) } else { None };
        let sweep_due_ns = if flags & SWEEP_DUE != 0 { Some(r.u64()?) } else { None };
        let retention_changed =
            if flags & RETENTION_CHANGED != 0 { Some(RetentionChange { by: r.principal()?, at_ns: r.u64()? }) } else { None };
        Ok(Conversation {
            kind,
            created_by,
            created_at_ns,
            last_seq,
            member_count,
            retention,
            legal_hold,
            last_activity_ns,
            retention_floor_seq,
            expired_through_ns,
            expired_keep_ns,
            sweep_due_ns,
            retention_changed,
        })
    }
}

// Bits of a message's flags byte.
const EDITED_AT: u8 = 1;
const STORED_AT: u8 = 2;
const DELETED: u8 = 4;
const SENDER_IS_RECIPIENT: u8 = 8;

fn encode_envelope(w: &mut Writer, e: &Envelope) {
    w.bytes(&e.ciphertext);
    w.bytes(&e.nonce);
    w.varint(e.key_epoch.into());
    w.bytes(&e.ephemeral_public_key);
    w.varint(e.wrapped_keys.len() as u64);
    for k in &e.wrapped_keys {
        w.principal(&k.recipient);
        w.varint(k.recipient_key_epoch.into());
        w.bytes(&k.wrapped_key);
    }
}

fn decode_envelope(r: &mut Reader<'_>) -> Result<Envelope, DecodeError> {
    let ciphertext = r.bytes()?;
    let nonce = r.bytes()?;
    let key_epoch = r.u32()?;
    let ephemeral_public_key = r.bytes()?;
    let n = r.varint()?;
    let mut wrapped_keys = Vec::with_capacity(n.min(64) as usize);
    for _ in 0..n {
        wrapped_keys.push(WrappedKey { recipient: r.principal()?, recipient_key_epoch: r.u32()?, wrapped_key: r.bytes()? });
    }
    Ok(Envelope { ciphertext, nonce, key_epoch, ephemeral_public_key, wrapped_keys })
}

impl Record for StoredMessage {
    fn encode(&self, w: &mut Writer) {
        let sender_index = match &self.content {
            StoredContent::Envelope(e) => e.wrapped_keys.iter().position(|k| k.recipient == self.sender),
            StoredContent::Deleted(_) => None,
        };
        let mut flags = 0;
        if self.edited_at_ns.is_some() {
            flags |= EDITED_AT;
        }
        if self.content_stored_at_ns != self.sent_at_ns {
            flags |= STORED_AT;
        }
        if matches!(self.content, StoredContent::Deleted(_)) {
            flags |= DELETED;
        }
        if sender_index.is_some() {
            flags |= SENDER_IS_RECIPIENT;
        }
        w.u8(flags);
        w.u64(self.sent_at_ns);
        w.varint(self.edit_count.into());
        if let Some(t) = self.edited_at_ns {
            w.u64(t);
        }
        if flags & STORED_AT != 0 {
            w.u64(self.content_stored_at_ns);
        }
        match &self.content {
            StoredContent::Envelope(e) => encode_envelope(w, e),
            StoredContent::Deleted(t) => {
                w.u8(match t.reason {
                    DeletionReason::Sender => 0,
                    DeletionReason::GroupAdmin => 1,
                    DeletionReason::Retention => 2,
                });
                match &t.deleted_by {
                    None => w.u8(0),
                    Some(p) => {
                        w.u8(1);
                        w.principal(p);
                    }
                }
                w.u64(t.deleted_at_ns);
            }
        }
        match sender_index {
            Some(i) => w.varint(i as u64),
            None => w.principal(&self.sender),
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        if flags > 15 || (flags & DELETED != 0 && flags & SENDER_IS_RECIPIENT != 0) {
            return Err("bad message flags".into());
        }
        let sent_at_ns = r.u64()?;
        let edit_count = r.u32()?;
        let edited_at_ns = if flags & EDITED_AT != 0 { Some(r.u64()?) } else { None };
        let content_stored_at_ns = if flags & STORED_AT != 0 { r.u64()? } else { sent_at_ns };
        let content = if flags & DELETED != 0 {
            let reason = match r.u8()? {
                0 => DeletionReason::Sender,
                1 => DeletionReason::GroupAdmin,
                2 => DeletionReason::Retention,
                _ => return Err("bad deletion reason".into()),
            };
            let deleted_by = if r.bool()? { Some(r.principal()?) } else { None };
            StoredContent::Deleted(Tombstone { reason, deleted_by, deleted_at_ns: r.u64()? })
        } else {
            StoredContent::Envelope(decode_envelope(r)?)
        };
        let sender = match (&content, flags & SENDER_IS_RECIPIENT != 0) {
            (StoredContent::Envelope(e), true) => {
                let i = usize::try_from(r.varint()?).map_err(|_| "bad sender index")?;
                e.wrapped_keys.get(i).ok_or("sender index past the wrapped keys")?.recipient
            }
            _ => r.principal()?,
        };
        Ok(StoredMessage { sender, sent_at_ns, edit_count, edited_at_ns, content_stored_at_ns, content })
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::codec::{decode, encode, Compact, TAG_V1};
    use candid::Principal;
    use ic_stable_structures::Storable;
    use proptest::prelude::*;
    use std::borrow::Cow;

    pub fn principal() -> impl Strategy<Value = Principal> {
        prop_oneof![
            Just(Principal::anonymous()),
            Just(Principal::management_canister()),
            proptest::collection::vec(any::<u8>(), 0..=29).prop_map(|b| Principal::from_slice(&b)),
            (0u8..8).prop_map(|n| Principal::from_slice(&[n; 29])),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[a-z0-9_.]{1,32}", "\\PC{0,40}"]
    }

    fn blob(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    fn role_() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::Member), Just(Role::Admin), Just(Role::Owner)]
    }

    prop_compose! {
        fn verification()(institution_name in text(), verified_by in principal(), verified_at_ns in any::<u64>()) -> Verification {
            Verification { institution_name, verified_by, verified_at_ns }
        }
    }

    prop_compose! {
        pub fn user()(handle in text(), display_name in text(), key_epoch in any::<u32>(), verified in proptest::option::of(verification()),
            active in any::<bool>(), registered_at_ns in any::<u64>(), conversation_count in any::<u32>(), blocked_count in any::<u32>(),
            current_key in proptest::option::of(stored_key())) -> User {
            User { handle, display_name, key_epoch, verified, active, registered_at_ns, conversation_count, blocked_count, current_key }
        }
    }

    prop_compose! {
        fn stored_key()(public_key in blob(40), since_ns in any::<u64>()) -> StoredKey {
            StoredKey { public_key, since_ns }
        }
    }

    prop_compose! {
        fn member()(role in role_(), joined_at_ns in any::<u64>(), first_visible_seq in any::<u64>(), last_read_seq in any::<u64>()) -> Member {
            Member { role, joined_at_ns, first_visible_seq, last_read_seq }
        }
    }

    prop_compose! {
        fn activity()(window_start_ns in any::<u64>(), sent_in_window in any::<u32>(), last_send_day in proptest::option::of(any::<u64>())) -> SenderActivity {
            SenderActivity { window_start_ns, sent_in_window, last_send_day }
        }
    }

    prop_compose! {
        fn counters()(a in proptest::array::uniform7(any::<u64>()), b in proptest::array::uniform7(any::<u64>())) -> Counters {
            Counters {
                next_conversation_id: a[0], users: a[1], active_users: a[2], verified_institutions: a[3],
                direct_conversations: a[4], groups: a[5], messages_sent: a[6], messages_stored: b[0], bytes_stored: b[1],
                messages_expired: b[2], legal_holds_active: b[3], day: b[4], daily_active_senders: b[5], sweep_cursor: b[6],
            }
        }
    }

    fn kind() -> impl Strategy<Value = ConversationKind> {
        prop_oneof![
            (principal(), principal()).prop_map(|users| ConversationKind::Direct { users }),
            text().prop_map(|name| ConversationKind::Group { name }),
        ]
    }

    fn retention() -> impl Strategy<Value = RetentionPolicy> {
        prop_oneof![
            Just(RetentionPolicy::KeepForever),
            any::<u32>().prop_map(RetentionPolicy::KeepDays),
            any::<u64>().prop_map(|after_seconds| RetentionPolicy::Disappearing { after_seconds }),
        ]
    }

    prop_compose! {
        fn hold()(case_reference in text(), set_by in principal(), set_at_ns in any::<u64>()) -> LegalHold {
            LegalHold { case_reference, set_by, set_at_ns }
        }
    }

    prop_compose! {
        pub fn conversation()(kind in kind(), created_by in principal(), times in proptest::array::uniform5(any::<u64>()),
            member_count in any::<u32>(), retention in retention(), legal_hold in proptest::option::of(hold()),
            expired_through_ns in proptest::option::of(any::<u64>()), sweep_due_ns in proptest::option::of(any::<u64>()),
            retention_changed in proptest::option::of((principal(), any::<u64>()).prop_map(|(by, at_ns)| RetentionChange { by, at_ns }))) -> Conversation {
            Conversation {
                kind, created_by, created_at_ns: times[0], last_seq: times[1], member_count, retention, legal_hold,
                last_activity_ns: times[2], retention_floor_seq: times[3], expired_through_ns, expired_keep_ns: times[4],
                sweep_due_ns, retention_changed,
            }
        }
    }

    prop_compose! {
        fn wrapped_key(recipients: Vec<Principal>)(i in 0..recipients.len(), recipient_key_epoch in any::<u32>(), wrapped_key in blob(130)) -> WrappedKey {
            WrappedKey { recipient: recipients[i], recipient_key_epoch, wrapped_key }
        }
    }

    prop_compose! {
        pub fn envelope(recipients: Vec<Principal>)(ciphertext in blob(400), nonce in blob(25), key_epoch in any::<u32>(),
            ephemeral_public_key in blob(33), wrapped_keys in proptest::collection::vec(wrapped_key(recipients), 0..4)) -> Envelope {
            Envelope { ciphertext, nonce, key_epoch, ephemeral_public_key, wrapped_keys }
        }
    }

    fn tombstone() -> impl Strategy<Value = Tombstone> {
        let reason = prop_oneof![Just(DeletionReason::Sender), Just(DeletionReason::GroupAdmin), Just(DeletionReason::Retention)];
        (reason, proptest::option::of(principal()), any::<u64>()).prop_map(|(reason, deleted_by, deleted_at_ns)| Tombstone { reason, deleted_by, deleted_at_ns })
    }

    /// Messages whose sender is often one of the wrapped-key recipients (as in a direct message).
    pub fn message() -> impl Strategy<Value = StoredMessage> {
        proptest::collection::vec(principal(), 1..4).prop_flat_map(|people| {
            let content = prop_oneof![
                4 => envelope(people.clone()).prop_map(StoredContent::Envelope),
                1 => tombstone().prop_map(StoredContent::Deleted),
            ];
            let sender = prop_oneof![(0..people.len()).prop_map(move |i| people[i]), principal()];
            (sender, any::<u64>(), any::<u32>(), proptest::option::of(any::<u64>()), prop_oneof![Just(None), any::<u64>().prop_map(Some)], content)
                .prop_map(|(sender, sent_at_ns, edit_count, edited_at_ns, stored_at, content)| StoredMessage {
                    sender,
                    sent_at_ns,
                    edit_count,
                    edited_at_ns,
                    content_stored_at_ns: stored_at.unwrap_or(sent_at_ns),
                    content,
                })
        })
    }

    /// The compact form decodes to the record, starts with the tag, and the schema-2 CBOR of
    /// the same record decodes to it too.
    fn both_forms<T: Record + serde::Serialize + Clone + PartialEq + std::fmt::Debug>(v: T) -> Result<(), TestCaseError> {
        let bytes = encode(&v);
        prop_assert_eq!(bytes[0], TAG_V1);
        prop_assert_eq!(&decode::<T>(&bytes).unwrap(), &v);
        prop_assert_eq!(&Compact::<T>::from_bytes(Cow::Owned(Compact(v.clone()).into_bytes())).0, &v);
        let old = common::cbor::encode(&v);
        prop_assert!((0xa0..=0xbf).contains(&old[0]), "schema-2 records are CBOR maps");
        prop_assert_eq!(&decode::<T>(&old).unwrap(), &v);
        // A cut-off record is an error, never another record.
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            if cut < bytes.len() {
                prop_assert!(decode::<T>(&bytes[..cut]).is_err());
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn messages_round_trip(m in message()) { both_forms(m)?; }
        #[test]
        fn users_round_trip(u in user()) { both_forms(u)?; }
        #[test]
        fn keys_round_trip(k in stored_key()) { both_forms(k)?; }
        #[test]
        fn members_round_trip(m in member()) { both_forms(m)?; }
        #[test]
        fn activity_round_trips(a in activity()) { both_forms(a)?; }
        #[test]
        fn counters_round_trip(c in counters()) { both_forms(c)?; }
        #[test]
        fn conversations_round_trip(c in conversation()) { both_forms(c)?; }
    }

    #[test]
    fn a_direct_message_stores_its_sender_once_and_is_near_its_envelope_size() {
        let (a, b) = (Principal::from_slice(&[1; 29]), Principal::from_slice(&[2; 29]));
        let wrapped = |recipient| WrappedKey { recipient, recipient_key_epoch: 1, wrapped_key: vec![5; 48] };
        let envelope = Envelope { ciphertext: vec![3; 116], nonce: vec![4; 12], key_epoch: 0, ephemeral_public_key: vec![6; 32], wrapped_keys: vec![wrapped(a), wrapped(b)] };
        let envelope_bytes = crate::validate::envelope_bytes(&envelope) as usize;
        let m = StoredMessage { sender: b, sent_at_ns: 7, edit_count: 0, edited_at_ns: None, content_stored_at_ns: 7, content: StoredContent::Envelope(envelope) };
        let bytes = encode(&m);
        // tag, flags, send time (8), edit count | ciphertext, nonce, epoch, ephemeral key, each with
        // its length | key count, two (principal, epoch, key) | the sender as recipient index 1.
        assert_eq!(bytes.len(), 11 + (117 + 13 + 1 + 33) + (1 + 2 * (30 + 1 + 49)) + 1);
        assert_eq!((bytes.len(), envelope_bytes), (337, 326));
        assert!(bytes.len() < common::cbor::encode(&m).len() * 6 / 10);
        assert_eq!(decode::<StoredMessage>(&bytes).unwrap(), m);
    }
}
