//! Early screening of ingress messages (`canister_inspect_message`), as plain Rust. Never the
//! only check: endpoints check their callers again, and inter-canister calls skip it.

use candid::Principal;
use std::fmt;

/// Largest argument an ingress message may carry. The largest legitimate one, a proposal with
/// a 1,000-character summary and a 64-node membership change, takes about 10 KiB.
pub const MAX_INGRESS_ARG_BYTES: usize = 64 * 1024;

/// Update methods only an authority or a placement recorder may call: an anonymous caller is
/// refused before the canister pays for the message.
pub const PRIVILEGED_UPDATES: [&str; 13] = [
    "add_data_centre",
    "update_data_centre",
    "remove_data_centre",
    "add_node_provider",
    "update_node_provider",
    "remove_node_provider",
    "add_node",
    "update_node",
    "remove_node",
    "submit_proposal",
    "approve_proposal",
    "reject_proposal",
    "record_placement",
];

/// Why an ingress message was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Oversized { method: String, bytes: usize },
    Anonymous { method: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Oversized { method, bytes } => {
                write!(f, "{method}: argument of {bytes} bytes refused (at most {MAX_INGRESS_ARG_BYTES})")
            }
            Refusal::Anonymous { method } => write!(f, "{method}: the anonymous principal may not call it"),
        }
    }
}

/// Whether to accept an ingress call of `method` by `caller` with an argument of `arg_len` bytes.
pub fn screen(method: &str, caller: &Principal, arg_len: usize) -> Result<(), Refusal> {
    if arg_len > MAX_INGRESS_ARG_BYTES {
        return Err(Refusal::Oversized { method: method.chars().take(64).collect(), bytes: arg_len });
    }
    if *caller == Principal::anonymous() && PRIVILEGED_UPDATES.contains(&method) {
        return Err(Refusal::Anonymous { method: method.into() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_writers_and_big_arguments_are_refused_early() {
        let user = Principal::from_slice(&[1; 29]);
        assert_eq!(screen("add_node", &user, 100), Ok(()));
        assert_eq!(screen("add_node", &Principal::anonymous(), 100), Err(Refusal::Anonymous { method: "add_node".into() }));
        assert_eq!(screen("list_nodes", &Principal::anonymous(), 100), Ok(()), "anyone may read, even by update call");
        assert_eq!(
            screen("list_nodes", &user, MAX_INGRESS_ARG_BYTES + 1),
            Err(Refusal::Oversized { method: "list_nodes".into(), bytes: MAX_INGRESS_ARG_BYTES + 1 })
        );
        assert_eq!(screen("submit_proposal", &user, MAX_INGRESS_ARG_BYTES), Ok(()));
    }

    /// Every update of the `.did` other than these is privileged; the list must not drift.
    #[test]
    fn every_update_of_the_did_is_screened() {
        let did = crate::__export_service();
        let updates: Vec<String> = did
            .lines()
            .map(str::trim)
            .skip_while(|l| !l.starts_with("service :"))
            .skip(1)
            .filter(|l| l.contains(" : (") && !l.starts_with("//") && !l.ends_with("query;"))
            .filter_map(|l| l.split(" : ").next().map(|m| m.trim_matches('"').to_string()))
            .collect();
        assert!(!updates.is_empty(), "{did}");
        let mut expected: Vec<String> = PRIVILEGED_UPDATES.iter().map(|m| m.to_string()).collect();
        expected.sort();
        let mut updates = updates;
        updates.sort();
        assert_eq!(updates, expected);
    }
}
