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

/// Instructions a response callback may use without deterministic time slicing; the replica
/// withholds their execution fee when a call is made.
pub const MAX_RESPONSE_INSTRUCTIONS: u64 = 5_000_000_000;

/// What the replica withholds from the caller's balance when it makes a call, to pay for the
/// response: executing the callback at its instruction limit and receiving the largest reply.
/// Refunded, less what the response actually cost, when the response arrives (the callback's own
/// execution is then charged as any message's). Interface spec, "Cycles": a call reserves the
/// cycles needed for its response; the amounts are the replica's (`CyclesAccountManager`).
pub fn response_prepayment() -> u128 {
    execution_cost(MAX_RESPONSE_INSTRUCTIONS) + XNET_BYTE_FEE * MAX_PAYLOAD as u128
}

/// Storage fee of a 13-node subnet: cycles per GiB per second (DESIGN.md).
pub const STORAGE_FEE_PER_GIB_SECOND: u128 = 127_000;
/// A canister's default freezing threshold (interface spec, canister settings): 30 days.
pub const DEFAULT_FREEZING_THRESHOLD_SECONDS: u64 = 2_592_000;

/// The balance below which a canister is frozen: its idle burn (storage of `memory_bytes`) over
/// the freezing threshold. A frozen canister accepts no messages; no call may take its balance
/// below this (interface spec, "Canister settings: freezing_threshold").
pub fn freezing_limit(memory_bytes: u64, threshold_seconds: u64) -> u128 {
    memory_bytes as u128 * STORAGE_FEE_PER_GIB_SECOND * threshold_seconds as u128 / (1u128 << 30)
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
