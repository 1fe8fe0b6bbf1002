//! The people and offices that call the canisters in the scenarios (authorities, program
//! managers, builders, the ministry, citizens).
//!
//! Each actor is a deterministic Ed25519 key pair derived from its name, so its principal is
//! self-authenticating: the executor and PocketIC take it as a sender as they take any principal,
//! and on a real replica `DfxEnv` imports the same key into dfx and signs as that actor. One
//! rollout code therefore runs on every backend with the same principals.

use candid::Principal;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Actors made so far, by principal, so a backend can find the key for a sender.
static KNOWN: Mutex<BTreeMap<Principal, Actor>> = Mutex::new(BTreeMap::new());

/// DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410); the 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
/// DER prefix of an Ed25519 PKCS#8 v2 `OneAsymmetricKey` (RFC 5958, 8410); the 32-byte seed
/// follows, then [`ED25519_PKCS8_PUBLIC`] and the public key. v2, because older dfx releases
/// refuse v1 keys.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// The explicitly tagged `[1] publicKey` BIT STRING header that follows the seed.
const ED25519_PKCS8_PUBLIC: [u8; 5] = [0xa1, 0x23, 0x03, 0x21, 0x00];

/// One actor: its name and its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub principal: Principal,
    seed: [u8; 32],
}

impl Actor {
    /// The actor called `name` (the same key, hence the same principal, on every run).
    pub fn named(name: &str) -> Actor {
        let seed: [u8; 32] = Sha256::digest(format!("sovereign-cloud-suite/actor/{name}")).into();
        let principal = principal_of_seed(&seed);
        Actor { name: name.to_string(), principal, seed }
    }

    /// The private key as a PKCS#8 PEM, the form `dfx identity import` reads.
    pub fn pkcs8_pem(&self) -> String {
        use base64::Engine;
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        der.extend_from_slice(&ED25519_PKCS8_PUBLIC);
        der.extend_from_slice(&SigningKey::from_bytes(&self.seed).verifying_key().to_bytes());
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    }
}

/// The principal of the Ed25519 key with this seed: self-authenticating over its DER public key.
pub fn principal_of_seed(seed: &[u8; 32]) -> Principal {
    let public = SigningKey::from_bytes(seed).verifying_key().to_bytes();
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(&public);
    Principal::self_authenticating(der)
}

/// The principal of the key in a PKCS#8 PEM written by [`Actor::pkcs8_pem`]; `None` for any
/// other content.
pub fn principal_of_pem(pem: &str) -> Option<Principal> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body.trim()).ok()?;
    let rest = der.strip_prefix(&ED25519_PKCS8_PREFIX[..])?;
    let seed: [u8; 32] = rest.get(..32)?.try_into().ok()?;
    let public = rest.get(32..)?.strip_prefix(&ED25519_PKCS8_PUBLIC[..])?;
    // The key must be consistent: the public key written is the seed's.
    (public == SigningKey::from_bytes(&seed).verifying_key().to_bytes()).then(|| principal_of_seed(&seed))
}

/// The principal of the actor called `name`; remembered so [`actor_of`] can find its key.
pub fn actor(name: &str) -> Principal {
    let actor = Actor::named(name);
    let principal = actor.principal;
    KNOWN.lock().unwrap_or_else(|e| e.into_inner()).entry(principal).or_insert(actor);
    principal
}

/// The actor whose principal this is, if one was made in this process.
pub fn actor_of(principal: Principal) -> Option<Actor> {
    KNOWN.lock().unwrap_or_else(|e| e.into_inner()).get(&principal).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_is_the_same_key_every_time_and_distinct_from_others() {
        assert_eq!(actor("registry-authority-1"), actor("registry-authority-1"));
        assert_ne!(actor("registry-authority-1"), actor("registry-authority-2"));
        // Self-authenticating: 29 bytes ending in the class byte 0x02.
        let p = actor("citizen-1");
        assert_eq!(p.as_slice().len(), 29);
        assert_eq!(p.as_slice()[28], 0x02);
    }

    #[test]
    fn the_pem_carries_the_actors_key() {
        let a = Actor::named("ministry");
        let pem = a.pkcs8_pem();
        assert_eq!(principal_of_pem(&pem), Some(a.principal));
        // 83 bytes of DER in PKCS#8 v2 form, as dfx's own Ed25519 keys ("MFMCAQEw...").
        assert!(pem.lines().nth(1).is_some_and(|l| l.starts_with("MFMCAQEw")), "{pem}");
        assert_eq!(principal_of_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), None);
    }

    #[test]
    fn known_actors_are_found_by_principal() {
        let p = actor("license-authority");
        assert_eq!(actor_of(p).map(|a| a.name), Some("license-authority".to_string()));
        assert_eq!(actor_of(Principal::anonymous()), None);
    }

    #[test]
    fn the_principal_matches_a_known_ed25519_vector() {
        // RFC 8032 test 1: this secret key has public key d75a9801...f707511a.
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap().try_into().unwrap();
        let public = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap();
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&public);
        assert_eq!(principal_of_seed(&seed), Principal::self_authenticating(der));
    }
}
