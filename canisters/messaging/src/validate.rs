//! Shape checks on inputs: handles, free text, public keys, envelopes, retention policies.
//! Pure functions, no state: each returns the typed error the caller gets back.

use interfaces::messaging::{
    Envelope, EnvelopeVersion, Limits, MessageContent, MessageView, MessagingError, RetentionPolicy, TextField,
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
    interfaces::messaging::check_handle(handle).map_err(|rule| MessagingError::InvalidHandle { handle: truncated(handle, 64), rule })
}

/// 1..=`max_chars` characters; no control characters or line/paragraph separators; no
/// bidirectional controls (they can make a name read as another); at least one visible
/// character.
pub fn text(field: TextField, value: &str, max_chars: u32) -> Result<(), MessagingError> {
    let len = value.chars().count();
    let breaks_lines = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if len == 0 || len > max_chars as usize || value.chars().any(breaks_lines) {
        return Err(MessagingError::InvalidText { field, max_chars });
    }
    if let Some((position, c)) = value.chars().enumerate().find(|(_, c)| is_bidi_control(*c)) {
        return Err(MessagingError::BidiControl { field, position: position as u32, code_point: c as u32 });
    }
    if value.chars().all(is_invisible) {
        return Err(MessagingError::InvisibleText { field });
    }
    Ok(())
}

/// Embeddings, overrides and isolates, and the implicit direction marks.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that draw nothing on their own: whitespace, zero-width and other format
/// characters, fillers, variation selectors and tags. (ZWJ and ZWNJ are fine inside a name,
/// e.g. in Urdu, but a name made only of them is invisible.)
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{206A}'..='\u{206F}' | '\u{2800}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D159}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// The u-coordinates (little-endian) of the X25519 points of order dividing 8, in canonical
/// form: 0 and 2^255 - 20 (= -1) have order 2 or 4 together with the point at infinity, 1 has
/// order 4, and the last two have order 8. Any key multiplied by a secret scalar (a multiple of
/// 8) gives the all-zero shared secret with them.
pub const SMALL_ORDER_KEYS: [[u8; 32]; 5] = [
    [0; 32],
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d,
        0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c,
        0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
    ],
];

/// Whether 32 bytes are the canonical encoding of an X25519 u-coordinate: the top bit clear and
/// u < p = 2^255 - 19. (X25519 implementations silently reduce other encodings, so p, p + 1 ...
/// would alias 0, 1 ... and escape a comparison with the small-order list.)
pub fn is_canonical_u(key: &[u8; 32]) -> bool {
    if key[31] & 0x80 != 0 {
        return false;
    }
    // With the top bit clear, u >= p exactly when bytes 1..=30 are 0xff, byte 31 is 0x7f and
    // byte 0 is at least 0xed (p = 0x7fff..ffed).
    let at_least_p = key[31] == 0x7f && key[1..31].iter().all(|&b| b == 0xff) && key[0] >= 0xed;
    !at_least_p
}

/// A 32-byte X25519 public key that is canonical and of large order.
pub fn strong_x25519_key(key: &[u8]) -> bool {
    let Ok(key) = <&[u8; 32]>::try_from(key) else { return false };
    is_canonical_u(key) && !SMALL_ORDER_KEYS.contains(key)
}

/// Exactly 32 bytes, canonical, and not of small order (see `SMALL_ORDER_KEYS`).
pub fn public_key(key: &[u8]) -> Result<(), MessagingError> {
    if key.len() != PUBLIC_KEY_BYTES as usize {
        return Err(MessagingError::InvalidPublicKey { expected_len: PUBLIC_KEY_BYTES, actual_len: key.len() as u32 });
    }
    if !strong_x25519_key(key) {
        return Err(MessagingError::WeakPublicKey);
    }
    Ok(())
}

/// Bytes an envelope occupies for limits and metrics: everything the client chose the size of.
pub fn envelope_bytes(e: &Envelope) -> u64 {
    let wrapped: u64 = e.wrapped_keys.iter().map(|w| w.wrapped_key.len() as u64 + 29 + 4).sum();
    e.ciphertext.len() as u64 + e.nonce.len() as u64 + e.ephemeral_public_key.len() as u64 + 4 + wrapped
}

/// An upper bound of an envelope's size inside a Candid reply: its blobs, a length prefix (at
/// most 5 bytes) per blob and vector, and per wrapped key a principal (at most 31 bytes) and an
/// epoch. Unlike `envelope_bytes` it never undercounts, so replies can be bounded with it.
pub fn envelope_wire_bytes(e: &Envelope) -> u64 {
    let wrapped: u64 = e.wrapped_keys.iter().map(|w| w.wrapped_key.len() as u64 + 48).sum();
    e.ciphertext.len() as u64 + e.nonce.len() as u64 + e.ephemeral_public_key.len() as u64 + 32 + wrapped
}

/// An upper bound of a message's size inside a Candid reply (fixed fields: 96 bytes at most).
pub fn message_view_bytes(m: &MessageView) -> u64 {
    96 + match &m.content {
        MessageContent::Envelope(e) => envelope_wire_bytes(e),
        MessageContent::Deleted(_) => 48,
    }
}

/// An upper bound of an earlier version's size inside a Candid reply.
pub fn version_bytes(v: &EnvelopeVersion) -> u64 {
    32 + envelope_wire_bytes(&v.envelope)
}

/// The largest argument a legal update call can carry: a `send_message`/`edit_message` with an
/// envelope of `max_envelope_bytes` and `max_recipients` wrapped keys, plus Candid's type table
/// and the other arguments. `inspect_message` refuses anything larger early.
pub fn max_envelope_call_bytes(limits: &Limits) -> u64 {
    limits.max_envelope_bytes as u64 + 16 * limits.max_recipients as u64 + 4096
}

/// Largest argument of every other update: 256 principals (31 bytes each) or a few bounded
/// texts, with room for Candid's type table.
pub const MAX_OTHER_CALL_BYTES: u64 = 16 * 1024;

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
    if !e.ephemeral_public_key.is_empty() && !strong_x25519_key(&e.ephemeral_public_key) {
        return Err(MessagingError::WeakEphemeralKey);
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
    use interfaces::messaging::{HandleRule, WrappedKey};

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
        assert_eq!(text(TextField::GroupName, "abcde", 4), err);
        assert_eq!(text(TextField::GroupName, "a\nb", 4), err);
        assert_eq!(text(TextField::GroupName, "a\u{2028}b", 4), err);
        // ZWNJ inside Urdu/Persian words is ordinary text.
        assert_eq!(text(TextField::DisplayName, "می\u{200C}خواهم", 64), Ok(()));
        let invisible = Err(MessagingError::InvisibleText { field: TextField::DisplayName });
        for s in ["   ", "\u{200B}", "\u{200C}\u{200D}", "\u{FEFF}\u{2060}", "\u{3164}", "\u{00A0}\u{2800}", "\u{E0041}", "\u{FE0F}"] {
            assert_eq!(text(TextField::DisplayName, s, 64), invisible, "{s:?}");
        }
        for (s, position, code_point) in [("\u{202E}evil", 0, 0x202E), ("ab\u{2066}c", 2, 0x2066), ("x\u{200F}", 1, 0x200F), ("\u{061C}a", 0, 0x061C)] {
            assert_eq!(text(TextField::GroupName, s, 64), Err(MessagingError::BidiControl { field: TextField::GroupName, position, code_point }), "{s:?}");
        }
    }

    #[test]
    fn public_keys_are_32_bytes_and_not_weak() {
        assert_eq!(public_key(&[7; 32]), Ok(()));
        assert_eq!(public_key(&[7; 31]), Err(MessagingError::InvalidPublicKey { expected_len: 32, actual_len: 31 }));
        assert_eq!(public_key(&[7; 33]), Err(MessagingError::InvalidPublicKey { expected_len: 32, actual_len: 33 }));
        for weak in SMALL_ORDER_KEYS {
            assert_eq!(public_key(&weak), Err(MessagingError::WeakPublicKey), "{weak:02x?}");
        }
        // p, p + 1, ... 2^255 - 1: non-canonical (they alias 0, 1, ...); and any top bit set.
        let mut u = SMALL_ORDER_KEYS[2]; // p - 1
        for low in 0xed..=0xff {
            u[0] = low;
            assert_eq!(public_key(&u), Err(MessagingError::WeakPublicKey), "{u:02x?}");
        }
        let mut top = [9u8; 32];
        assert_eq!(public_key(&top), Ok(()));
        top[31] |= 0x80;
        assert_eq!(public_key(&top), Err(MessagingError::WeakPublicKey));
        let mut below_p = SMALL_ORDER_KEYS[2];
        below_p[0] = 0xeb; // p - 2: canonical, large order
        assert_eq!(public_key(&below_p), Ok(()));
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
