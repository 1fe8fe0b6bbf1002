//! Cycles on the Normal schedule of a 13-node application subnet, from one price table: the
//! fees the executor charges (tests/executor/src/costs.rs), as the IC documentation's "cycles
//! cost formulas" page lists them (1 trillion cycles = 1 XDR).

use ic_executor::costs;

/// Where the fees come from and when they were taken.
pub const PRICE_TABLE: &str = "Normal schedule, 13-node subnet (IC docs, \"Cycles cost formulas\", as of 2025-05-22; \
    the same constants as tests/executor/src/costs.rs): update message 5M + 1 per instruction, ingress message 1.2M + 2K per byte, \
    inter-canister call 260K + 1K per byte, storage 127K per GiB per second, canister creation 500B; 1T cycles = 1 XDR";

pub const SECONDS_PER_YEAR: u64 = 365 * 86_400;

/// Cycles of one ingress update that runs one message of `instructions` with an argument of
/// `arg_bytes` (the entry message alone; calls and callbacks come on top).
pub fn ingress_update(method: &str, arg_bytes: u64, instructions: u64) -> u128 {
    costs::ingress_cost(method.len(), arg_bytes as usize) + costs::execution_cost(instructions)
}

/// Cycles to keep `bytes` stored for a year.
pub fn storage_per_year(bytes: f64) -> f64 {
    bytes * costs::STORAGE_FEE_PER_GIB_SECOND as f64 / (1u64 << 30) as f64 * SECONDS_PER_YEAR as f64
}

/// Cycles in XDR.
pub fn xdr(cycles: f64) -> f64 {
    cycles / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_table_adds_up() {
        // 5M + 1M instructions, plus 1.2M + 2K × (12 + 100) bytes of ingress.
        assert_eq!(ingress_update("send_message", 100, 1_000_000), 5_000_000 + 1_000_000 + 1_200_000 + 2_000 * 112);
        // One GiB for a year: 127K × 31,536,000 cycles, about 4 XDR.
        let gib_year = storage_per_year((1u64 << 30) as f64);
        assert_eq!(gib_year, 127_000.0 * 31_536_000.0);
        assert!((xdr(gib_year) - 4.005).abs() < 0.01);
    }
}
