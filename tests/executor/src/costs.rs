//! Cycle prices of a 13-node application subnet (the IC's fee schedule, see DESIGN.md).

/// Base fee of executing an update message (and each callback / timer run).
pub const UPDATE_MESSAGE_FEE: u128 = 5_000_000;
/// Cycles per executed instruction.
pub const INSTRUCTION_FEE: u128 = 1;
/// Fee for inducting an ingress message, plus per byte of method name and argument.
pub const INGRESS_MESSAGE_FEE: u128 = 1_200_000;
pub const INGRESS_BYTE_FEE: u128 = 2_000;
/// Fee of an inter-canister call, plus per byte of method name and argument.
pub const XNET_CALL_FEE: u128 = 260_000;
pub const XNET_BYTE_FEE: u128 = 1_000;
/// `create_canister` fee.
pub const CREATE_CANISTER_FEE: u128 = 500_000_000_000;

/// What `ic0.cost_call` reports and `call_perform` charges.
pub fn call_cost(method_len: u64, payload_len: u64) -> u128 {
    XNET_CALL_FEE + XNET_BYTE_FEE * (method_len as u128 + payload_len as u128)
}

pub fn execution_cost(instructions: u64) -> u128 {
    UPDATE_MESSAGE_FEE + INSTRUCTION_FEE * instructions as u128
}

pub fn ingress_cost(method_len: usize, arg_len: usize) -> u128 {
    INGRESS_MESSAGE_FEE + INGRESS_BYTE_FEE * (method_len + arg_len) as u128
}

/// Instruction limits per message (IC execution limits).
pub const UPDATE_INSTRUCTION_LIMIT: u64 = 40_000_000_000;
pub const QUERY_INSTRUCTION_LIMIT: u64 = 5_000_000_000;
/// install_code (init, or pre_upgrade + post_upgrade together).
pub const INSTALL_INSTRUCTION_LIMIT: u64 = 300_000_000_000;
/// inspect_message runs like a query with a smaller limit.
pub const INSPECT_INSTRUCTION_LIMIT: u64 = 200_000_000;

/// Largest reply / request payload between canisters (2 MiB).
pub const MAX_PAYLOAD: usize = 2 * 1024 * 1024;
/// Longest best-effort timeout the IC grants.
pub const MAX_CALL_TIMEOUT_SECONDS: u32 = 300;
