//! Cycles → XDR → ICP, in integers with explicit rounding.
//!
//! 1 XDR = 10^12 cycles, so one cycle is one pico-XDR. The CMC's rate `xdr_permyriad_per_icp` says
//! 1 ICP = rate / 10^4 XDR = rate × 10^8 cycles, hence 1 e8s of ICP = `rate` cycles and
//! `icp_e8s = cycles / rate`. Every division rounds down: the meter never claims more burn than
//! happened. All arithmetic is on `u128` and saturates instead of wrapping.

/// Cycles per XDR.
pub const CYCLES_PER_XDR: u128 = 1_000_000_000_000;
/// Seconds in the meter's (365-day) year.
pub const SECONDS_PER_YEAR: u128 = 365 * 24 * 3600;

/// ICP e8s equivalent of `cycles` at `xdr_permyriad_per_icp`, rounded down. A zero rate is refused
/// when set, so it never reaches here; it would give 0 rather than trap.
pub fn cycles_to_icp_e8s(cycles: u128, xdr_permyriad_per_icp: u64) -> u128 {
    cycles.checked_div(xdr_permyriad_per_icp as u128).unwrap_or(0)
}

/// XDR millionths in `cycles`, rounded down.
pub fn cycles_to_micro_xdr(cycles: u128) -> u128 {
    cycles / (CYCLES_PER_XDR / 1_000_000)
}

/// `a × b / c`, rounded down, saturating at `u128::MAX`; 0 when `c` is 0.
pub fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    match a.checked_mul(b) {
        Some(product) => product / c,
        // Too large for one product: divide first (loses at most b-1 units of the quotient's
        // last digit, and only for values far beyond any real burn).
        None => (a / c).saturating_mul(b).saturating_add((a % c).saturating_mul(b) / c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_xdr_at_35000_permyriad_is_one_three_point_fifth_of_an_icp() {
        // 10^12 cycles = 1 XDR; 1 ICP = 3.5 XDR, so 1 XDR = 1/3.5 ICP = 0.28571428(57..) ICP.
        assert_eq!(cycles_to_icp_e8s(CYCLES_PER_XDR, 35_000), 28_571_428);
        // 3.5 XDR is exactly 1 ICP.
        assert_eq!(cycles_to_icp_e8s(3_500_000_000_000, 35_000), 100_000_000);
        assert_eq!(cycles_to_micro_xdr(CYCLES_PER_XDR), 1_000_000);
    }

    #[test]
    fn rounding_is_down_and_nothing_overflows() {
        assert_eq!(cycles_to_icp_e8s(34_999, 35_000), 0);
        assert_eq!(cycles_to_icp_e8s(u128::MAX, 1), u128::MAX);
        assert_eq!(cycles_to_icp_e8s(5, 0), 0);
        assert_eq!(mul_div(10, 3, 4), 7);
        assert_eq!(mul_div(u128::MAX, 2, 2), u128::MAX);
        assert_eq!(mul_div(u128::MAX / 2, 4, 8), u128::MAX / 4);
        assert_eq!(mul_div(1, 1, 0), 0);
    }
}
