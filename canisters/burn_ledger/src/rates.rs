//! The ICP/XDR rate and the issuance model, set by authorities.
//!
//! The rate source is [`Ledger::rate_in_force`], the only place the conversion reads it from.
//! Here an authority sets it with `set_conversion_rate`; on mainnet the Cycles Minting Canister
//! publishes it (`get_icp_xdr_conversion_rate`, certified), and a timer in `external_calls.rs`
//! would fetch it and store it through [`Ledger::set_rate`] with the CMC as actor — nothing else
//! would change.

use crate::ledger::Ledger;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::burn_ledger::{BurnError, ConversionRate, IssuanceModel};

/// Largest sane rate: 1 ICP = 100,000 XDR.
pub const MAX_XDR_PERMYRIAD_PER_ICP: u64 = 1_000_000_000;
/// Largest sane supply: 10^11 ICP.
pub const MAX_SUPPLY_E8S: u128 = 100_000_000_000 * 100_000_000;

impl<M: Memory> Ledger<M> {
    /// Refuses anyone but a configured authority.
    pub fn require_authority(&self, caller: Principal) -> Result<(), BurnError> {
        if caller == Principal::anonymous() {
            return Err(BurnError::AnonymousCaller);
        }
        if self.config().authorities.contains(&caller) {
            Ok(())
        } else {
            Err(BurnError::NotAuthority { caller })
        }
    }

    /// The rate new burns are converted at.
    pub fn rate_in_force(&self) -> Option<ConversionRate> {
        self.settings().rate
    }

    /// Sets the rate in force. Refused: a zero or absurd rate, a timestamp older than the rate in
    /// force or in the future. Burns already recorded keep the rate they were recorded with.
    pub fn set_rate(&mut self, caller: Principal, rate: ConversionRate, now_ns: u64) -> Result<(), BurnError> {
        self.require_authority(caller)?;
        if rate.xdr_permyriad_per_icp == 0 {
            return Err(BurnError::ZeroRate);
        }
        if rate.xdr_permyriad_per_icp > MAX_XDR_PERMYRIAD_PER_ICP {
            return Err(BurnError::ModelOutOfRange {
                field: "xdr_permyriad_per_icp".into(),
                value: rate.xdr_permyriad_per_icp as u128,
                min: 1,
                max: MAX_XDR_PERMYRIAD_PER_ICP as u128,
            });
        }
        let now_seconds = now_ns / 1_000_000_000;
        let current = self.rate_in_force().map_or(0, |r| r.timestamp_seconds);
        if rate.timestamp_seconds < current || rate.timestamp_seconds > now_seconds.saturating_add(300) {
            return Err(BurnError::RateTimestampOutOfOrder {
                timestamp_seconds: rate.timestamp_seconds,
                current_timestamp_seconds: current,
                now_seconds,
            });
        }
        self.update_settings(|s| s.rate = Some(rate));
        self.core.audit(now_ns, caller, "rate_set", &rate);
        Ok(())
    }

    /// Sets the issuance model of the Mission 70 meter.
    pub fn set_model(&mut self, caller: Principal, model: IssuanceModel, now_ns: u64) -> Result<(), BurnError> {
        self.require_authority(caller)?;
        let range = |field: &str, value: u128, min: u128, max: u128| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(BurnError::ModelOutOfRange { field: field.into(), value, min, max })
            }
        };
        range("annual_gross_minting_bps", model.annual_gross_minting_bps as u128, 0, 10_000)?;
        range("target_net_inflation_bps", model.target_net_inflation_bps as u128, 0, 10_000)?;
        range("total_supply_e8s", model.total_supply_e8s, 1, MAX_SUPPLY_E8S)?;
        self.update_settings(|s| s.model = model);
        self.core.audit(now_ns, caller, "issuance_model_set", &model);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::*;

    const NOW: u64 = 1_000_000 * 1_000_000_000;

    #[test]
    fn only_authorities_set_a_positive_rate_in_order() {
        let (mut l, _) = installed();
        let rate = ConversionRate { xdr_permyriad_per_icp: 35_000, timestamp_seconds: 999_000 };
        assert_eq!(l.set_rate(p(MESSAGING), rate, NOW), Err(BurnError::NotAuthority { caller: p(MESSAGING) }));
        assert_eq!(l.set_rate(Principal::anonymous(), rate, NOW), Err(BurnError::AnonymousCaller));
        assert_eq!(l.set_rate(p(AUTHORITY), ConversionRate { xdr_permyriad_per_icp: 0, ..rate }, NOW), Err(BurnError::ZeroRate));
        assert_eq!(l.rate_in_force(), None);
        l.set_rate(p(AUTHORITY), rate, NOW).unwrap();
        assert_eq!(l.rate_in_force(), Some(rate));
        let older = ConversionRate { xdr_permyriad_per_icp: 40_000, timestamp_seconds: 998_000 };
        assert!(matches!(l.set_rate(p(AUTHORITY), older, NOW), Err(BurnError::RateTimestampOutOfOrder { .. })));
        let future = ConversionRate { xdr_permyriad_per_icp: 40_000, timestamp_seconds: 1_000_000 + 301 };
        assert!(matches!(l.set_rate(p(AUTHORITY), future, NOW), Err(BurnError::RateTimestampOutOfOrder { .. })));
        assert_eq!(l.rate_in_force(), Some(rate));
    }

    #[test]
    fn model_fields_are_bounded() {
        let (mut l, _) = installed();
        let bad = IssuanceModel { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: 0 };
        assert!(matches!(l.set_model(p(AUTHORITY), bad, NOW), Err(BurnError::ModelOutOfRange { .. })));
        let good = IssuanceModel { total_supply_e8s: 1, ..bad };
        l.set_model(p(AUTHORITY), good, NOW).unwrap();
        assert_eq!(l.settings().model, good);
    }
}
