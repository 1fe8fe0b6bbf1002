//! Early rejection of ingress in `canister_inspect_message`: oversized arguments, anonymous
//! reporters, and callers other than authorities on authority-only updates. It runs on one node
//! and only for ingress (never for calls from other canisters), so it is a cheap filter and
//! never the only check: every endpoint checks the same again and answers with a typed error.

use candid::Principal;
use interfaces::burn_ledger::Config;

/// Largest ingress argument accepted. The largest legitimate one, a usage report with every
/// field set, is under 200 bytes.
pub const MAX_INGRESS_ARG_BYTES: usize = 4 * 1024;

/// Updates only an authority may call.
const AUTHORITY_UPDATES: [&str; 3] = ["set_conversion_rate", "set_issuance_model", "retry_attribution"];

/// Whether an ingress message for `method` from `caller` with an argument of `arg_len` bytes
/// is let through to the endpoint; `Err` says why not.
pub fn admit(method: &str, caller: Principal, arg_len: usize, config: &Config) -> Result<(), &'static str> {
    if arg_len > MAX_INGRESS_ARG_BYTES {
        return Err("argument too large");
    }
    if method == "report_usage" && caller == Principal::anonymous() {
        return Err("anonymous caller");
    }
    if AUTHORITY_UPDATES.contains(&method) && !config.authorities.contains(&caller) {
        return Err("not an authority");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_what_the_endpoints_refuse_anyway() {
        let authority = Principal::from_slice(&[1; 29]);
        let peer = Principal::from_slice(&[4; 29]);
        let config = crate::config::build_config(crate::config::default_args(authority)).unwrap();
        assert_eq!(admit("report_usage", peer, 120, &config), Ok(()));
        assert_eq!(admit("report_usage", Principal::anonymous(), 120, &config), Err("anonymous caller"));
        assert_eq!(admit("report_usage", peer, MAX_INGRESS_ARG_BYTES + 1, &config), Err("argument too large"));
        assert_eq!(admit("set_conversion_rate", authority, 40, &config), Ok(()));
        for method in AUTHORITY_UPDATES {
            assert_eq!(admit(method, peer, 40, &config), Err("not an authority"));
            assert_eq!(admit(method, Principal::anonymous(), 40, &config), Err("not an authority"));
        }
        // Queries called as updates are let through (anyone may read).
        assert_eq!(admit("totals", Principal::anonymous(), 10, &config), Ok(()));
    }
}
