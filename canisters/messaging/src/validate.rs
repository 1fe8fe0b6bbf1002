//! Shape checks on inputs: handles, free text, public keys, envelopes, retention policies.
//! Pure functions, no state: each returns the typed error the caller gets back.

use interfaces::messaging::{
    Envelope, HandleRule, Limits, MessagingError, RetentionPolicy, TextField, HANDLE_MAX_CHARS, HANDLE_MIN_CHARS,
    PUBLIC_KEY_BYTES,
};

/// AEAD tag length of ChaCha20-Poly1305: no valid ciphertext is shorter.
pub const MIN_CIPHERTEXT_BYTES: u32 = 16;
/// Accepted nonce lengths: ChaCha20-Poly1305 (12) and XChaCha20-Poly1305 (24).
pub const NONCE_LENGTHS: [usize; 2] = [12, 24];
/// A wrapped 32-byte content key is 48 bytes with ChaCha20-Poly1305; room is left for other
/// wrapping formats, but a wrapped key is never a place for content.
pub const MIN_WRAPPED_KEY_BYTES: u32 = 16;
pub const MAX_WRAPPED_KEY_BYTES: u32 = 128;
pub const MIN_KEEP_DAYS: u64 = 1;
pub const MAX_KEEP_DAYS: u64 = 36_500;
pub const MIN_DISAPPEAR_SECONDS: u64 = 5;
pub const MAX_DISAPPEAR_SECONDS: u64 = 28 * 24 * 3600;

/// See `HandleRule`: 3..=32 of `a-z 0-9 _ .`, starting with a letter, not ending with `.`.
pub fn handle(handle: &str) -> Result<(), MessagingError> {
    let refuse = |rule| Err(MessagingError::InvalidHandle { handle: truncated(handle, 64), rule });
    let len = handle.chars().count() as u32;
    if !(HANDLE_MIN_CHARS..=HANDLE_MAX_CHARS).contains(&len) {
        return refuse(HandleRule::Length { min: HANDLE_MIN_CHARS, max: HANDLE_MAX_CHARS, actual: len });
    }
    if let Some(position) = handle.chars().position(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '.')) {
        return refuse(HandleRule::InvalidCharacter { position: position as u32 });
    }
    if !handle.starts_with(|c: char| c.is_ascii_lowercase()) {
        return refuse(HandleRule::MustStartWithLetter);
    }
    if handle.ends_with('.') {
        return refuse(HandleRule::MustNotEndWithDot);
    }
    Ok(())
}

/// 1..=`max_chars` characters, none of them a control character, not only whitespace.
pub fn text(field: TextField, value: &str, max_chars: u32) -> Result<(), MessagingError> {
    let len = value.chars().count();
    let ok = len >= 1 && len <= max_chars as usize && !value.chars().any(char::is_control) && !value.trim().is_empty();
    if ok {
        Ok(())
    } else {
        Err(MessagingError::InvalidText { field, max_chars })
    }
}

/// Exactly 32 bytes, and not one of the X25519 u-coordinates 0 or 1, whose shared secret with
/// any key is predictable (all zeros).
pub fn public_key(key: &[u8]) -> Result<(), MessagingError> {
    if key.len() != PUBLIC_KEY_BYTES as usize {
        return Err(MessagingError::InvalidPublicKey { expected_len: PUBLIC_KEY_BYTES, actual_len: key.len() as u32 });
    }
    let mut low = [0u8; 32];
    if key == low {
        return Err(MessagingError::WeakPublicKey);
    }
    low[0] = 1;
    if key == low {
        return Err(MessagingError::WeakPublicKey);
    }
    Ok(())
}

/// Bytes an envelope occupies for limits and metrics: everything the client chose the size of.
pub fn envelope_bytes(e: &Envelope) -> u64 {
    let wrapped: u64 = e.wrapped_keys.iter().map(|w| w.wrapped_key.len() as u64 + 29 + 4).sum();
    e.ciphertext.len() as u64 + e.nonce.len() as u64 + e.ephemeral_public_key.len() as u64 + 4 + wrapped
}

/// Sizes and shapes of an envelope (membership of recipients is checked by the caller, which
/// knows the conversation).
pub fn envelope(e: &Envelope, limits: &Limits) -> Result<(), MessagingError> {
    if e.ciphertext.is_empty() {
        return Err(MessagingError::EmptyEnvelope);
    }
    let bytes = envelope_bytes(e);
    if bytes > limits.max_envelope_bytes as u64 {
        return Err(MessagingError::EnvelopeTooLarge { bytes, max: limits.max_envelope_bytes });
    }
    if e.ciphertext.len() < MIN_CIPHERTEXT_BYTES as usize {
        return Err(MessagingError::CiphertextTooShort { min: MIN_CIPHERTEXT_BYTES });
    }
    if !NONCE_LENGTHS.contains(&e.nonce.len()) {
        return Err(MessagingError::InvalidNonce { actual_len: e.nonce.len() as u32 });
    }
    if e.wrapped_keys.len() > limits.max_recipients as usize {
        return Err(MessagingError::TooManyRecipients { count: e.wrapped_keys.len() as u32, max: limits.max_recipients });
    }
    let ephemeral_ok = if e.wrapped_keys.is_empty() {
        e.ephemeral_public_key.is_empty()
    } else {
        e.ephemeral_public_key.len() == PUBLIC_KEY_BYTES as usize
    };
    if !ephemeral_ok {
        return Err(MessagingError::InvalidEphemeralKey { actual_len: e.ephemeral_public_key.len() as u32 });
    }
    let mut seen = std::collections::BTreeSet::new();
    for w in &e.wrapped_keys {
        if !seen.insert(w.recipient) {
            return Err(MessagingError::DuplicateRecipient { user: w.recipient });
        }
        let len = w.wrapped_key.len() as u32;
        if !(MIN_WRAPPED_KEY_BYTES..=MAX_WRAPPED_KEY_BYTES).contains(&len) {
            return Err(MessagingError::InvalidWrappedKey {
                recipient: w.recipient,
                actual_len: len,
                min: MIN_WRAPPED_KEY_BYTES,
                max: MAX_WRAPPED_KEY_BYTES,
            });
        }
    }
    Ok(())
}

/// Keep-days and disappearing periods within their ranges.
pub fn retention(policy: &RetentionPolicy) -> Result<(), MessagingError> {
    let (value, min, max) = match *policy {
        RetentionPolicy::KeepForever => return Ok(()),
        RetentionPolicy::KeepDays(days) => (days as u64, MIN_KEEP_DAYS, MAX_KEEP_DAYS),
        RetentionPolicy::Disappearing { after_seconds } => (after_seconds, MIN_DISAPPEAR_SECONDS, MAX_DISAPPEAR_SECONDS),
    };
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(MessagingError::RetentionOutOfRange { min, max, actual: value })
    }
}

/// How long a message is kept under `policy`, in nanoseconds (`None` = forever).
pub fn retention_ns(policy: &RetentionPolicy) -> Option<u64> {
    match *policy {
        RetentionPolicy::KeepForever => None,
        RetentionPolicy::KeepDays(days) => Some(days as u64 * 24 * 3600 * 1_000_000_000),
        RetentionPolicy::Disappearing { after_seconds } => Some(after_seconds.saturating_mul(1_000_000_000)),
    }
}

fn truncated(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use interfaces::messaging::WrappedKey;

    fn rule(h: &str) -> HandleRule {
        match handle(h) {
            Err(MessagingError::InvalidHandle { rule, .. }) => rule,
            other => panic!("{h}: expected InvalidHandle, got {other:?}"),
        }
    }

    #[test]
    fn handles_follow_the_charset_and_length_rules() {
        for ok in ["amina", "min.of_it", "abc", "a23456789012345678901234567890ab"] {
            assert_eq!(handle(ok), Ok(()), "{ok}");
        }
        assert_eq!(rule("ab"), HandleRule::Length { min: 3, max: 32, actual: 2 });
        assert_eq!(rule(&"a".repeat(33)), HandleRule::Length { min: 3, max: 32, actual: 33 });
        assert_eq!(rule("Amina"), HandleRule::InvalidCharacter { position: 0 });
        assert_eq!(rule("ami na"), HandleRule::InvalidCharacter { position: 3 });
        assert_eq!(rule("amīna"), HandleRule::InvalidCharacter { position: 2 });
        assert_eq!(rule("1amina"), HandleRule::MustStartWithLetter);
        assert_eq!(rule("_amina"), HandleRule::MustStartWithLetter);
        assert_eq!(rule("amina."), HandleRule::MustNotEndWithDot);
    }

    #[test]
    fn text_fields_are_bounded() {
        assert_eq!(text(TextField::DisplayName, "Amina Khan", 64), Ok(()));
        assert_eq!(text(TextField::DisplayName, "وزارت", 64), Ok(()));
        let err = Err(MessagingError::InvalidText { field: TextField::GroupName, max_chars: 4 });
        assert_eq!(text(TextField::GroupName, "", 4), err);
        assert_eq!(text(TextField::GroupName, "   ", 4), err);
        assert_eq!(text(TextField::GroupName, "abcde", 4), err);
        assert_eq!(text(TextField::GroupName, "a\nb", 4), err);
    }

    #[test]
    fn public_keys_are_32_bytes_and_not_weak() {
        assert_eq!(public_key(&[7; 32]), Ok(()));
        assert_eq!(public_key(&[7; 31]), Err(MessagingError::InvalidPublicKey { expected_len: 32, actual_len: 31 }));
        assert_eq!(public_key(&[7; 33]), Err(MessagingError::InvalidPublicKey { expected_len: 32, actual_len: 33 }));
        assert_eq!(public_key(&[0; 32]), Err(MessagingError::WeakPublicKey));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(public_key(&one), Err(MessagingError::WeakPublicKey));
    }

    fn env(ciphertext: usize, recipients: u8) -> Envelope {
        Envelope {
            ciphertext: vec![9; ciphertext],
            nonce: vec![1; 12],
            key_epoch: 1,
            ephemeral_public_key: if recipients > 0 { vec![5; 32] } else { vec![] },
            wrapped_keys: (0..recipients)
                .map(|i| WrappedKey {
                    recipient: Principal::from_slice(&[i; 29]),
                    recipient_key_epoch: 1,
                    wrapped_key: vec![3; 48],
                })
                .collect(),
        }
    }

    #[test]
    fn envelopes_are_checked_for_shape_and_size() {
        let limits = Limits { max_envelope_bytes: 1000, max_recipients: 3, ..Limits::default() };
        assert_eq!(envelope(&env(100, 3), &limits), Ok(()));
        assert_eq!(envelope(&env(100, 0), &limits), Ok(()));
        assert_eq!(envelope(&env(0, 1), &limits), Err(MessagingError::EmptyEnvelope));
        assert_eq!(envelope(&env(15, 1), &limits), Err(MessagingError::CiphertextTooShort { min: 16 }));
        let big = env(990, 0);
        assert_eq!(envelope(&big, &limits), Err(MessagingError::EnvelopeTooLarge { bytes: envelope_bytes(&big), max: 1000 }));
        assert_eq!(envelope(&env(100, 4), &limits), Err(MessagingError::TooManyRecipients { count: 4, max: 3 }));
        let mut e = env(100, 1);
        e.nonce = vec![1; 16];
        assert_eq!(envelope(&e, &limits), Err(MessagingError::InvalidNonce { actual_len: 16 }));
        e.nonce = vec![1; 24];
        assert_eq!(envelope(&e, &limits), Ok(()));
        e.ephemeral_public_key = vec![1; 31];
        assert_eq!(envelope(&e, &limits), Err(MessagingError::InvalidEphemeralKey { actual_len: 31 }));
        let mut e = env(100, 2);
        e.wrapped_keys[1].recipient = e.wrapped_keys[0].recipient;
        assert_eq!(envelope(&e, &limits), Err(MessagingError::DuplicateRecipient { user: e.wrapped_keys[0].recipient }));
        let mut e = env(100, 1);
        e.wrapped_keys[0].wrapped_key = vec![0; 129];
        assert!(matches!(envelope(&e, &limits), Err(MessagingError::InvalidWrappedKey { actual_len: 129, max: 128, .. })));
    }

    #[test]
    fn retention_ranges() {
        assert_eq!(retention(&RetentionPolicy::KeepForever), Ok(()));
        assert_eq!(retention(&RetentionPolicy::KeepDays(30)), Ok(()));
        assert_eq!(retention(&RetentionPolicy::KeepDays(0)), Err(MessagingError::RetentionOutOfRange { min: 1, max: 36_500, actual: 0 }));
        assert_eq!(
            retention(&RetentionPolicy::Disappearing { after_seconds: 4 }),
            Err(MessagingError::RetentionOutOfRange { min: 5, max: 2_419_200, actual: 4 })
        );
        assert_eq!(retention_ns(&RetentionPolicy::Disappearing { after_seconds: 10 }), Some(10_000_000_000));
        assert_eq!(retention_ns(&RetentionPolicy::KeepForever), None);
    }
}
