//! Candid replies with a cached type table.
//!
//! A Candid message is the type table of the reply's Rust type followed by the value. Building
//! the type table is the expensive part: `MessagingError` has dozens of variants, so encoding any
//! `Result<_, MessagingError>` costs about 1.1M instructions, several times the rest of a
//! `send_message`. The table depends only on the type, so it is built once per type and kept
//! on the heap (heap state survives between messages, not upgrades); each reply then encodes
//! only its value. The bytes are exactly `candid::encode_one`'s (tested below).
//!
//! `warm` builds the tables of the hot endpoints in `init` and `post_upgrade`, so neither the
//! first update after an upgrade nor any query (a query's heap changes are discarded) pays for it.

use candid::ser::ValueSerializer;
use candid::CandidType;
use std::any::TypeId;
use std::cell::RefCell;

thread_local! {
    /// Encoded `DIDL` header, type table and argument type of each reply type seen.
    static PREFIXES: RefCell<Vec<(TypeId, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
}

fn value_bytes<T: CandidType>(value: &T) -> Option<Vec<u8>> {
    let mut ser = ValueSerializer::new();
    value.idl_serialize(&mut ser).ok()?;
    Some(ser.get_result().to_vec())
}

/// The encoding of `value` up to its value: what every value of type `T` shares.
fn prefix_of<T: CandidType>(value: &T) -> Option<Vec<u8>> {
    let full = candid::encode_one(value).ok()?;
    let tail = value_bytes(value)?;
    full.ends_with(&tail).then(|| full[..full.len() - tail.len()].to_vec())
}

fn is_cached<T: CandidType + 'static>() -> bool {
    PREFIXES.with_borrow(|p| p.iter().any(|(t, _)| *t == TypeId::of::<T>()))
}

/// Builds and keeps the type table of `T`, from any value of it.
pub fn warm<T: CandidType + 'static>(sample: &T) {
    if !is_cached::<T>() {
        if let Some(prefix) = prefix_of(sample) {
            PREFIXES.with_borrow_mut(|p| p.push((TypeId::of::<T>(), prefix)));
        }
    }
}

/// The Candid reply carrying `value` (an endpoint's `encode_with`).
pub fn encode<T: CandidType + 'static>(value: T) -> Vec<u8> {
    warm(&value);
    let reply = value_bytes(&value).and_then(|tail| {
        PREFIXES.with_borrow(|p| {
            let (_, prefix) = p.iter().find(|(t, _)| *t == TypeId::of::<T>())?;
            let mut bytes = Vec::with_capacity(prefix.len() + tail.len());
            bytes.extend_from_slice(prefix);
            bytes.extend_from_slice(&tail);
            Some(bytes)
        })
    });
    reply.unwrap_or_else(|| candid::encode_one(&value).expect("the reply encodes as Candid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use interfaces::messaging::*;
    use proptest::prelude::*;

    fn check<T: CandidType + Clone + 'static>(v: T) {
        assert_eq!(encode(v.clone()), candid::encode_one(&v).unwrap());
    }

    proptest! {
        #[test]
        fn replies_are_candids_own_bytes(seq in any::<u64>(), at in any::<u64>(), handle in "\\PC{0,20}", key in proptest::collection::vec(any::<u8>(), 0..40),
            verified in any::<bool>(), user in crate::records::tests::principal()) {
            check::<Result<SendReceipt, MessagingError>>(Ok(SendReceipt { conversation_id: seq / 3, seq, sent_at_ns: at }));
            check::<Result<SendReceipt, MessagingError>>(Err(MessagingError::RateLimited { messages_per_minute: 60, retry_after_ns: at }));
            let view = UserView {
                user,
                handle: handle.clone(),
                display_name: handle.clone(),
                verified: verified.then(|| Verification { institution_name: handle.clone(), verified_by: user, verified_at_ns: at }),
                key_epoch: seq as u32,
                public_key: key,
                active: verified,
                registered_at_ns: at,
            };
            check::<Result<UserView, MessagingError>>(Ok(view.clone()));
            check::<Option<UserView>>(Some(view));
            check::<Option<UserView>>(None);
            check::<Result<UserView, MessagingError>>(Err(MessagingError::HandleTaken { handle }));
            check::<Result<u64, MessagingError>>(Ok(seq));
        }
    }

    #[test]
    fn pages_encode_as_candid_does() {
        let e = Envelope { ciphertext: vec![1; 40], nonce: vec![2; 12], key_epoch: 3, ephemeral_public_key: vec![4; 32], wrapped_keys: vec![WrappedKey { recipient: Principal::anonymous(), recipient_key_epoch: 1, wrapped_key: vec![5; 48] }] };
        let m = MessageView { seq: 1, sender: Principal::anonymous(), sent_at_ns: 2, edit_count: 0, edited_at_ns: None, content: MessageContent::Envelope(e) };
        check::<Result<MessagePage, MessagingError>>(Ok(MessagePage { messages: vec![m.clone(), m], next_seq: Some(3), last_seq: 9 }));
        check::<Result<MessagePage, MessagingError>>(Err(MessagingError::NotAMember { conversation_id: 4 }));
        check(InboxPage { entries: vec![], next_start: Some(5) });
    }
}
