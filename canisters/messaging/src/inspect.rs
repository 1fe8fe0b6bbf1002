//! What `inspect_message` refuses before an ingress update runs (and is paid for): calls that
//! could only fail. It runs on one node and sees ingress only, so every endpoint still checks
//! everything itself; this is a cost filter, not a security boundary.

use crate::state::State;
use crate::validate;
use candid::Principal;
use ic_stable_structures::Memory;

/// Updates anyone registered (and active) may call.
const MEMBER_UPDATES: [&str; 17] = [
    "update_profile",
    "rotate_key",
    "deactivate",
    "block_user",
    "unblock_user",
    "open_direct",
    "create_group",
    "add_members",
    "remove_member",
    "leave_group",
    "set_role",
    "rename_group",
    "set_retention",
    "send_message",
    "edit_message",
    "delete_message",
    "mark_read",
];
/// Updates only an authority may call (authorities need not be registered users).
const AUTHORITY_UPDATES: [&str; 4] = ["verify_institution", "revoke_verification", "set_legal_hold", "clear_legal_hold"];

impl<M: Memory> State<M> {
    /// `Ok` if an ingress call of `method` by `caller` with an argument of `arg_len` bytes may
    /// run; otherwise why not. Queries called as updates and unknown methods pass (the IC
    /// answers those itself) except for the size bound.
    pub fn inspect(&self, method: &str, caller: Principal, arg_len: u64) -> Result<(), &'static str> {
        let limits = self.config().limits;
        let max = match method {
            "send_message" | "edit_message" => validate::max_envelope_call_bytes(&limits),
            _ => validate::MAX_OTHER_CALL_BYTES,
        };
        if arg_len > max {
            return Err("argument larger than any legal call");
        }
        let is_update = method == "register" || MEMBER_UPDATES.contains(&method) || AUTHORITY_UPDATES.contains(&method);
        if !is_update {
            return Ok(());
        }
        if caller == Principal::anonymous() {
            return Err("anonymous caller");
        }
        if AUTHORITY_UPDATES.contains(&method) {
            return Ok(()); // a non-authority gets the typed NotAuthority from the endpoint
        }
        // Registered callers pass (a deactivated or already registered one gets the typed
        // reason from the endpoint); an unregistered one may only register.
        if method == "register" || self.users.contains_key(&caller) {
            Ok(())
        } else {
            Err("not registered")
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::conversations::tests::with_users;
    use crate::state::test_support::*;
    use candid::Principal;
    use interfaces::messaging::Limits;

    #[test]
    fn refuses_only_calls_that_must_fail() {
        let mut s = with_users(fresh(), 2);
        let anon = Principal::anonymous();
        assert_eq!(s.inspect("send_message", anon, 100), Err("anonymous caller"));
        assert_eq!(s.inspect("register", anon, 100), Err("anonymous caller"));
        assert_eq!(s.inspect("register", p(9), 100), Ok(()));
        assert_eq!(s.inspect("register", p(1), 100), Ok(()), "the endpoint answers AlreadyRegistered");
        assert_eq!(s.inspect("send_message", p(9), 100), Err("not registered"));
        assert_eq!(s.inspect("send_message", p(1), 100), Ok(()));
        assert_eq!(s.inspect("set_legal_hold", p(1), 100), Ok(()), "the endpoint answers NotAuthority");
        assert_eq!(s.inspect("set_legal_hold", anon, 100), Err("anonymous caller"));
        assert_eq!(s.inspect("set_legal_hold", p(AUTHORITY), 100), Ok(()));
        assert_eq!(s.inspect("read_messages", anon, 100), Ok(()), "queries stay open");
        let max = Limits::default().max_envelope_bytes as u64 + 16 * 64 + 4096;
        assert_eq!(s.inspect("send_message", p(1), max), Ok(()));
        assert_eq!(s.inspect("send_message", p(1), max + 1), Err("argument larger than any legal call"));
        assert_eq!(s.inspect("open_direct", p(1), 16 * 1024 + 1), Err("argument larger than any legal call"));
        assert_eq!(s.inspect("key_directory", anon, 16 * 1024 + 1), Err("argument larger than any legal call"));
        s.deactivate(p(2)).unwrap();
        assert_eq!(s.inspect("mark_read", p(2), 100), Ok(()), "the endpoint answers UserDeactivated");
    }
}
