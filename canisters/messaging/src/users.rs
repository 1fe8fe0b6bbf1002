//! Users: registration, profile, key rotation (with key history), deactivation, institution
//! verification by authorities, the key directory, and blocking.

use crate::state::{State, StoredKey, User};
use crate::validate;
use candid::Principal;
use crate::codec::Compact;
use ic_stable_structures::Memory;
use interfaces::audit::PageRequest;
use interfaces::messaging::{
    MessagingError, PublicKeyRecord, RegisterArgs, TextField, UserView, Verification, LONG_NAME_MAX_CHARS,
    MAX_BLOCKED_USERS, MAX_USERS_PER_CALL, NAME_MAX_CHARS,
};

/// Anonymous callers may only query.
pub fn not_anonymous(caller: Principal) -> Result<(), MessagingError> {
    if caller == Principal::anonymous() {
        Err(MessagingError::AnonymousCaller)
    } else {
        Ok(())
    }
}

/// At most `MAX_USERS_PER_CALL` distinct principals.
pub fn check_user_list(users: &[Principal]) -> Result<(), MessagingError> {
    if users.len() > MAX_USERS_PER_CALL as usize {
        return Err(MessagingError::TooManyUsersInCall { count: users.len() as u32, max: MAX_USERS_PER_CALL });
    }
    let mut seen = std::collections::BTreeSet::new();
    for u in users {
        if !seen.insert(*u) {
            return Err(MessagingError::DuplicateUser { user: *u });
        }
    }
    Ok(())
}

impl<M: Memory> State<M> {
    /// The caller's record, if they are registered and active.
    pub fn active_caller(&self, caller: Principal) -> Result<User, MessagingError> {
        not_anonymous(caller)?;
        let user = self.user(&caller).ok_or(MessagingError::NotRegistered)?;
        if !user.active {
            return Err(MessagingError::UserDeactivated { user: caller });
        }
        Ok(user)
    }

    /// Another user's record, if they exist and are active.
    pub fn active_user(&self, user: Principal) -> Result<User, MessagingError> {
        let record = self.user(&user).ok_or(MessagingError::UserNotFound { user })?;
        if !record.active {
            return Err(MessagingError::UserDeactivated { user });
        }
        Ok(record)
    }

    /// `register` for `user` on behalf of the index, idempotent: the same user with the same
    /// handle again gets the existing user (the index retries after an unknown outcome).
    pub fn register_for(&mut self, user: Principal, now: u64, args: RegisterArgs) -> Result<UserView, MessagingError> {
        if let Some(existing) = self.user_view(user) {
            return if existing.handle == args.handle { Ok(existing) } else { Err(MessagingError::AlreadyRegistered) };
        }
        self.register(user, now, args)
    }

    pub fn register(&mut self, caller: Principal, now: u64, args: RegisterArgs) -> Result<UserView, MessagingError> {
        not_anonymous(caller)?;
        if self.users.contains_key(&caller) {
            return Err(MessagingError::AlreadyRegistered);
        }
        validate::handle(&args.handle)?;
        validate::text(TextField::DisplayName, &args.display_name, NAME_MAX_CHARS)?;
        validate::public_key(&args.public_key)?;
        if self.handles.contains_key(&args.handle) {
            return Err(MessagingError::HandleTaken { handle: args.handle });
        }
        let key = StoredKey { public_key: args.public_key, since_ns: now };
        let user = User {
            handle: args.handle.clone(),
            display_name: args.display_name,
            key_epoch: 1,
            verified: None,
            active: true,
            registered_at_ns: now,
            conversation_count: 0,
            blocked_count: 0,
            current_key: Some(key.clone()),
        };
        // The reply is built from the records written, not read back.
        let view = UserView {
            user: caller,
            handle: args.handle.clone(),
            display_name: user.display_name.clone(),
            verified: None,
            key_epoch: 1,
            public_key: key.public_key.clone(),
            active: true,
            registered_at_ns: now,
        };
        self.handles.insert(args.handle, caller);
        self.keys.insert((caller, 1), Compact(key));
        self.put_user(caller, user);
        self.update_counters(|c| {
            c.users += 1;
            c.active_users += 1;
        });
        Ok(view)
    }

    /// Changes the caller's display name (the handle is permanent: others find people by it).
    pub fn update_profile(&mut self, caller: Principal, display_name: String) -> Result<UserView, MessagingError> {
        let mut user = self.active_caller(caller)?;
        validate::text(TextField::DisplayName, &display_name, NAME_MAX_CHARS)?;
        user.display_name = display_name;
        self.put_user(caller, user);
        Ok(self.user_view(caller).expect("registered"))
    }

    /// Makes `public_key` the caller's current key under a new epoch; earlier keys stay in the
    /// directory. Returns the new epoch.
    pub fn rotate_key(&mut self, caller: Principal, now: u64, public_key: Vec<u8>) -> Result<u32, MessagingError> {
        let mut user = self.active_caller(caller)?;
        validate::public_key(&public_key)?;
        let current = self.current_key(caller, &user);
        if current.public_key == public_key {
            return Err(MessagingError::KeyUnchanged { epoch: user.key_epoch });
        }
        user.key_epoch += 1;
        let key = StoredKey { public_key, since_ns: now };
        user.current_key = Some(key.clone());
        self.keys.insert((caller, user.key_epoch), Compact(key));
        let epoch = user.key_epoch;
        self.put_user(caller, user);
        Ok(epoch)
    }

    /// Deactivates the caller for good: they leave every conversation (a group they owned
    /// alone gets a new Owner, see `depart`), can no longer act, read or be messaged; their
    /// handle stays reserved and their keys stay in the directory for old messages.
    ///
    /// Work: one pass over the caller's conversations (at most `max_conversations_per_user`),
    /// plus one pass over the members of each group they were the only Owner of.
    pub fn deactivate(&mut self, caller: Principal) -> Result<(), MessagingError> {
        let mut user = self.active_caller(caller)?;
        let lo = (caller, 0u64);
        let conversations: Vec<u64> =
            self.user_conversations.keys_range(lo..).take_while(|k| k.0 == caller).map(|k| k.1).collect();
        for id in conversations {
            self.depart(id, caller);
        }
        user.active = false;
        user.conversation_count = 0;
        self.put_user(caller, user);
        self.update_counters(|c| c.active_users = c.active_users.saturating_sub(1));
        Ok(())
    }

    /// An authority marks `user` as the institution `institution_name` (replacing an earlier
    /// verification).
    pub fn verify_institution(
        &mut self,
        caller: Principal,
        now: u64,
        user: Principal,
        institution_name: String,
    ) -> Result<Verification, MessagingError> {
        if !self.is_authority(&caller) {
            return Err(MessagingError::NotAuthority);
        }
        validate::text(TextField::InstitutionName, &institution_name, LONG_NAME_MAX_CHARS)?;
        let mut record = self.active_user(user)?;
        let verification = Verification { institution_name, verified_by: caller, verified_at_ns: now };
        let newly = record.verified.is_none();
        record.verified = Some(verification.clone());
        self.put_user(user, record);
        if newly {
            self.update_counters(|c| c.verified_institutions += 1);
        }
        self.core.audit(now, caller, "institution_verified", &(user, &verification.institution_name));
        Ok(verification)
    }

    /// An authority withdraws a verification.
    pub fn revoke_verification(&mut self, caller: Principal, now: u64, user: Principal) -> Result<(), MessagingError> {
        if !self.is_authority(&caller) {
            return Err(MessagingError::NotAuthority);
        }
        let mut record = self.user(&user).ok_or(MessagingError::UserNotFound { user })?;
        if record.verified.take().is_none() {
            return Ok(());
        }
        self.put_user(user, record);
        self.update_counters(|c| c.verified_institutions = c.verified_institutions.saturating_sub(1));
        self.core.audit(now, caller, "verification_revoked", &user);
        Ok(())
    }

    /// The key at the user's current epoch: the record's copy, or (records written before
    /// schema 3) the key directory's.
    fn current_key(&self, user: Principal, record: &User) -> StoredKey {
        match &record.current_key {
            Some(k) => k.clone(),
            None => self.keys.get(&(user, record.key_epoch)).expect("current key stored").0,
        }
    }

    pub fn user_view(&self, user: Principal) -> Option<UserView> {
        let record = self.user(&user)?;
        let key = self.current_key(user, &record);
        Some(UserView {
            user,
            handle: record.handle,
            display_name: record.display_name,
            verified: record.verified,
            key_epoch: record.key_epoch,
            public_key: key.public_key,
            active: record.active,
            registered_at_ns: record.registered_at_ns,
        })
    }

    pub fn find_by_handle(&self, handle: &str) -> Option<UserView> {
        let user = self.handles.get(&handle.to_string())?;
        self.user_view(user)
    }

    /// Current keys of up to `MAX_USERS_PER_CALL` users; unknown and deactivated users are left
    /// out (nobody may encrypt to them any more; `public_key_at` still has their old keys).
    pub fn key_directory(&self, users: &[Principal]) -> Result<Vec<PublicKeyRecord>, MessagingError> {
        check_user_list(users)?;
        Ok(users
            .iter()
            .filter_map(|&u| self.user(&u).filter(|r| r.active).map(|r| (u, r)))
            .map(|(user, r)| {
                let StoredKey { public_key, since_ns } = self.current_key(user, &r);
                PublicKeyRecord { user, epoch: r.key_epoch, public_key, since_ns }
            })
            .collect())
    }

    /// The key `user` had at `epoch`.
    pub fn public_key_at(&self, user: Principal, epoch: u32) -> Option<PublicKeyRecord> {
        self.keys.get(&(user, epoch)).map(|Compact(k)| PublicKeyRecord {
            user,
            epoch,
            public_key: k.public_key,
            since_ns: k.since_ns,
        })
    }

    /// The caller blocks `target`: `target` can no longer open a direct conversation with the
    /// caller, send into one, or add the caller to a group. Blocking twice is a no-op.
    pub fn block(&mut self, caller: Principal, now: u64, target: Principal) -> Result<(), MessagingError> {
        let mut user = self.active_caller(caller)?;
        if target == caller {
            return Err(MessagingError::CannotTargetSelf);
        }
        if !self.users.contains_key(&target) {
            return Err(MessagingError::UserNotFound { user: target });
        }
        if self.has_blocked(caller, target) {
            return Ok(());
        }
        if user.blocked_count >= MAX_BLOCKED_USERS {
            return Err(MessagingError::BlockListFull { max: MAX_BLOCKED_USERS });
        }
        user.blocked_count += 1;
        self.put_user(caller, user);
        self.blocks.insert((caller, target), now);
        Ok(())
    }

    pub fn unblock(&mut self, caller: Principal, target: Principal) -> Result<(), MessagingError> {
        let mut user = self.active_caller(caller)?;
        if self.blocks.remove(&(caller, target)).is_some() {
            user.blocked_count = user.blocked_count.saturating_sub(1);
            self.put_user(caller, user);
        }
        Ok(())
    }

    /// A page of the users the caller blocked (`start` = position in the list; at most
    /// `limit`, so 0 gives none).
    pub fn blocked_users(&self, caller: Principal, page: &PageRequest) -> Vec<Principal> {
        let (start, limit) = page.bounds();
        let lo = (caller, Principal::from_slice(&[]));
        self.blocks
            .keys_range(lo..)
            .take_while(|k| k.0 == caller)
            .skip(start.min(MAX_BLOCKED_USERS as u64) as usize)
            .take(limit)
            .map(|k| k.1)
            .collect()
    }

    /// Either of the two blocked the other.
    pub fn block_between(&self, a: Principal, b: Principal) -> Result<(), MessagingError> {
        for (blocker, blocked) in [(a, b), (b, a)] {
            if self.has_blocked(blocker, blocked) {
                return Err(MessagingError::Blocked { blocker });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::state::test_support::*;
    use candid::Principal;
    use interfaces::audit::PageRequest;
    use interfaces::messaging::*;

    pub fn args(handle: &str, key: u8) -> RegisterArgs {
        RegisterArgs { handle: handle.into(), display_name: format!("{handle} name"), public_key: vec![key; 32] }
    }

    #[test]
    fn register_validates_and_reserves_the_handle() {
        let mut s = fresh();
        assert_eq!(s.register(Principal::anonymous(), 1, args("amina", 1)), Err(MessagingError::AnonymousCaller));
        let mut bad = args("amina", 1);
        bad.public_key = vec![1; 31];
        assert_eq!(s.register(p(1), 1, bad), Err(MessagingError::InvalidPublicKey { expected_len: 32, actual_len: 31 }));
        assert!(matches!(s.register(p(1), 1, args("A", 1)), Err(MessagingError::InvalidHandle { .. })));
        assert_eq!(s.counters().users, 0, "refused calls change nothing");

        let view = s.register(p(1), 10, args("amina", 1)).unwrap();
        assert_eq!((view.key_epoch, view.active, view.public_key.clone()), (1, true, vec![1; 32]));
        assert_eq!(s.register(p(1), 11, args("other", 2)), Err(MessagingError::AlreadyRegistered));
        assert_eq!(s.register(p(2), 11, args("amina", 2)), Err(MessagingError::HandleTaken { handle: "amina".into() }));
        assert_eq!(s.find_by_handle("amina").unwrap().user, p(1));
        assert_eq!(s.counters().users, 1);
    }

    #[test]
    fn key_rotation_keeps_history() {
        let mut s = fresh();
        s.register(p(1), 10, args("amina", 1)).unwrap();
        assert_eq!(s.rotate_key(p(1), 20, vec![1; 32]), Err(MessagingError::KeyUnchanged { epoch: 1 }));
        assert_eq!(s.rotate_key(p(1), 20, vec![0; 32]), Err(MessagingError::WeakPublicKey));
        assert_eq!(s.rotate_key(p(1), 20, vec![2; 32]), Ok(2));
        assert_eq!(s.rotate_key(p(2), 20, vec![2; 32]), Err(MessagingError::NotRegistered));
        let dir = s.key_directory(&[p(1), p(9)]).unwrap();
        assert_eq!(dir.len(), 1);
        assert_eq!((dir[0].epoch, dir[0].public_key.clone(), dir[0].since_ns), (2, vec![2; 32], 20));
        let old = s.public_key_at(p(1), 1).unwrap();
        assert_eq!((old.public_key, old.since_ns), (vec![1; 32], 10));
        assert!(s.public_key_at(p(1), 3).is_none());
        assert_eq!(s.key_directory(&[p(1), p(1)]), Err(MessagingError::DuplicateUser { user: p(1) }));
        let many: Vec<Principal> = (0..=MAX_USERS_PER_CALL).map(|i| Principal::from_slice(&i.to_be_bytes())).collect();
        assert_eq!(s.key_directory(&many), Err(MessagingError::TooManyUsersInCall { count: 257, max: 256 }));
    }

    #[test]
    fn profile_and_deactivation() {
        let mut s = fresh();
        s.register(p(1), 10, args("amina", 1)).unwrap();
        assert_eq!(s.update_profile(p(1), "Amina K.".into()).unwrap().display_name, "Amina K.");
        assert!(matches!(s.update_profile(p(1), "".into()), Err(MessagingError::InvalidText { .. })));
        s.deactivate(p(1)).unwrap();
        assert!(s.key_directory(&[p(1)]).unwrap().is_empty(), "nobody encrypts to a deactivated user");
        assert!(s.public_key_at(p(1), 1).is_some(), "old messages stay decryptable");
        assert_eq!(s.update_profile(p(1), "x".into()), Err(MessagingError::UserDeactivated { user: p(1) }));
        assert_eq!(s.deactivate(p(1)), Err(MessagingError::UserDeactivated { user: p(1) }));
        assert!(!s.user_view(p(1)).unwrap().active);
        assert_eq!(s.register(p(2), 11, args("amina", 2)), Err(MessagingError::HandleTaken { handle: "amina".into() }));
        assert_eq!((s.counters().users, s.counters().active_users), (1, 0));
    }

    #[test]
    fn only_authorities_verify_and_it_is_audited() {
        let mut s = fresh();
        s.register(p(1), 10, args("ministry", 1)).unwrap();
        let audit_before = s.core.audit_len();
        assert_eq!(s.verify_institution(p(1), 11, p(1), "Ministry".into()), Err(MessagingError::NotAuthority));
        assert_eq!(
            s.verify_institution(p(AUTHORITY), 11, p(3), "Ministry".into()),
            Err(MessagingError::UserNotFound { user: p(3) })
        );
        assert_eq!(s.core.audit_len(), audit_before);
        let v = s.verify_institution(p(AUTHORITY), 12, p(1), "Ministry of IT".into()).unwrap();
        assert_eq!(v.verified_by, p(AUTHORITY));
        assert_eq!(s.user_view(p(1)).unwrap().verified, Some(v));
        assert_eq!(s.core.audit_len(), audit_before + 1);
        assert_eq!(s.counters().verified_institutions, 1);
        s.revoke_verification(p(AUTHORITY), 13, p(1)).unwrap();
        assert_eq!(s.user_view(p(1)).unwrap().verified, None);
        assert_eq!(s.counters().verified_institutions, 0);
        assert_eq!(s.core.audit_len(), audit_before + 2);
    }

    #[test]
    fn blocking() {
        let mut s = fresh();
        s.register(p(1), 10, args("amina", 1)).unwrap();
        s.register(p(2), 10, args("bilal", 2)).unwrap();
        assert_eq!(s.block(p(1), 11, p(1)), Err(MessagingError::CannotTargetSelf));
        assert_eq!(s.block(p(1), 11, p(7)), Err(MessagingError::UserNotFound { user: p(7) }));
        s.block(p(1), 11, p(2)).unwrap();
        s.block(p(1), 12, p(2)).unwrap();
        assert_eq!(s.user(&p(1)).unwrap().blocked_count, 1);
        assert_eq!(s.blocked_users(p(1), &PageRequest::default()), vec![p(2)]);
        assert!(s.blocked_users(p(2), &PageRequest::default()).is_empty());
        assert_eq!(s.block_between(p(2), p(1)), Err(MessagingError::Blocked { blocker: p(1) }));
        s.unblock(p(1), p(2)).unwrap();
        assert_eq!(s.block_between(p(2), p(1)), Ok(()));
        assert_eq!(s.user(&p(1)).unwrap().blocked_count, 0);
    }

    #[test]
    fn the_records_key_copy_is_the_directorys_current_key_and_old_records_read_the_directory() {
        let mut s = fresh();
        s.register(p(1), 10, args("amina", 1)).unwrap();
        s.rotate_key(p(1), 20, vec![7; 32]).unwrap();
        let record = s.user(&p(1)).unwrap();
        assert_eq!(record.current_key.as_ref(), Some(&s.keys.get(&(p(1), 2)).unwrap().0));
        let view = (s.user_view(p(1)), s.key_directory(&[p(1)]));
        // A record written before schema 3 has no copy: the directory answers the same.
        s.put_user(p(1), crate::state::User { current_key: None, ..record });
        assert_eq!((s.user_view(p(1)), s.key_directory(&[p(1)])), view);
        assert_eq!(view.1.unwrap()[0], PublicKeyRecord { user: p(1), epoch: 2, public_key: vec![7; 32], since_ns: 20 });
        assert_eq!(s.rotate_key(p(1), 30, vec![7; 32]), Err(MessagingError::KeyUnchanged { epoch: 2 }));
        s.rotate_key(p(1), 30, vec![8; 32]).unwrap();
        assert_eq!(s.user(&p(1)).unwrap().current_key, Some(crate::state::StoredKey { public_key: vec![8; 32], since_ns: 30 }));
    }
}
