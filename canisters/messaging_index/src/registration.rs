//! Registration through the index (`canisters/messaging_index/src/directory.rs` has the rules):
//! the handle is checked against the shared handle rules and reserved across all shards, the
//! user's bucket is routed (a new bucket to the least-loaded open shard, a new shard created
//! when none takes it), the home shard is asked to create the user, and its answer commits or
//! releases. An unknown outcome keeps the registration pending; a timer asks the shard later.

use crate::capacity::{place_new_bucket, Placement};
use crate::directory::{DirectoryError, RegistrationState};
use crate::endpoints;
use crate::external_calls::{self, ShardAnswer};
use crate::routing::bucket_of;
use crate::storage::{read_state, with_state};
use candid::Principal;
use interfaces::messaging::{check_handle, RegisterArgs};
use interfaces::messaging_index::*;
use std::time::Duration;

/// Pending registrations older than this are resolved by asking their shard: past the bounded
/// wait's deadline (300 s), a call that has not run never will.
pub const RESOLVE_AFTER: Duration = Duration::from_secs(360);
/// How often the timer looks for pending registrations to resolve.
pub const RESOLVE_INTERVAL: Duration = Duration::from_secs(60);

fn directory_error(e: DirectoryError, canister_of: impl Fn(u32) -> Principal) -> IndexError {
    match e {
        DirectoryError::AlreadyRegistered { handle, shard } => IndexError::AlreadyRegistered { handle, shard, canister: canister_of(shard) },
        DirectoryError::RegistrationPending { handle, shard } => IndexError::RegistrationPending { handle, shard },
        DirectoryError::HandleTaken { handle } => IndexError::HandleTaken { handle },
        DirectoryError::NotPending => IndexError::InvalidArgument { name: "registration".into(), reason: "not pending".into() },
    }
}

fn canister_of(shard: u32) -> Principal {
    read_state(|s| s.shard(shard)).map_or(Principal::anonymous(), |r| r.canister)
}

/// The shard the caller's bucket is routed to, creating a shard when no open one takes a new bucket.
async fn home_shard(bucket: u16) -> Result<u32, IndexError> {
    if let Some(shard) = read_state(|s| s.bucket_shard(bucket)) {
        return Ok(shard);
    }
    let placement = read_state(|s| place_new_bucket(&s.loads(), &s.thresholds()));
    match placement {
        Placement::Existing(shard) => Ok(shard),
        Placement::CreateOn(subnet) => Ok(endpoints::create_shard_as(ic_cdk::api::canister_self(), Some(subnet)).await?.id),
        Placement::NoCapacity => Err(IndexError::NoCapacity),
    }
}

pub async fn register(args: RegisterArgs) -> Result<Registered, IndexError> {
    let caller = ic_cdk::api::msg_caller();
    if caller == Principal::anonymous() {
        return Err(IndexError::AnonymousCaller);
    }
    check_handle(&args.handle).map_err(|rule| IndexError::InvalidHandle { handle: args.handle.chars().take(64).collect(), rule })?;
    // Refuse what the directory would refuse before any shard is created for it.
    if let Some(r) = read_state(|s| s.directory.registration(caller)) {
        return Err(directory_error(
            match r.state {
                RegistrationState::Registered => DirectoryError::AlreadyRegistered { handle: r.handle, shard: r.shard },
                RegistrationState::Pending => DirectoryError::RegistrationPending { handle: r.handle, shard: r.shard },
            },
            canister_of,
        ));
    }
    if read_state(|s| s.directory.handle_taken(&args.handle)) {
        return Err(IndexError::HandleTaken { handle: args.handle });
    }
    let bucket = bucket_of(caller.as_slice());
    let shard = home_shard(bucket).await?;
    // Reserve (checked again: other registrations ran during the awaits) and route the bucket.
    let canister = with_state(|s| {
        s.directory.reserve(caller, &args.handle, shard, ic_cdk::api::time()).map_err(|e| directory_error(e, canister_of))?;
        if s.bucket_shard(bucket).is_none() {
            s.assign_bucket(bucket, shard);
        }
        Ok::<_, IndexError>(s.shard(shard).expect("routed shards exist").canister)
    })?;
    match external_calls::register_on_shard(canister, caller, &args).await {
        ShardAnswer::Replied(Ok(user)) => {
            commit(caller, shard);
            Ok(Registered { shard, canister, bucket, user })
        }
        ShardAnswer::Replied(Err(error)) => {
            with_state(|s| s.directory.release(caller).ok());
            Err(IndexError::ShardRefused { shard, error })
        }
        ShardAnswer::Refused(reason) => {
            with_state(|s| s.directory.release(caller).ok());
            Err(IndexError::CallFailed { canister, method: "register_from_index".into(), reason })
        }
        ShardAnswer::Unknown(reason) => {
            ic_cdk::println!("registration of {caller} on shard {shard} pending: {reason}");
            Err(IndexError::RegistrationPending { handle: args.handle, shard })
        }
    }
}

fn commit(user: Principal, shard: u32) {
    with_state(|s| {
        if s.directory.commit(user, ic_cdk::api::time()).is_ok() {
            s.update_shard(shard, |r| r.users += 1);
        }
    });
}

pub fn arm_timer() {
    ic_cdk_timers::set_timer_interval_serial(RESOLVE_INTERVAL, async || resolve_pending().await);
}

/// Asks the home shard of each old pending registration whether the user exists there: yes
/// (with the same handle) commits, no releases, no answer leaves it pending.
pub async fn resolve_pending() {
    let before = ic_cdk::api::time().saturating_sub(RESOLVE_AFTER.as_nanos() as u64);
    let pending = read_state(|s| s.directory.pending(before, 100));
    for (user, registration) in pending {
        let canister = canister_of(registration.shard);
        match external_calls::user_on_shard(canister, user).await {
            Ok(Some(view)) if view.handle == registration.handle => commit(user, registration.shard),
            Ok(_) => {
                with_state(|s| s.directory.release(user).ok());
            }
            Err(_) => {}
        }
    }
}
