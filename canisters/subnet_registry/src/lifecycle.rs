//! The subnet lifecycle `Proposed → Approved → Provisioning → Live ⇄ Suspended → Decommissioned`.

use candid::Principal;
use interfaces::subnet_registry::{RegistryError, SubnetStatus};

/// Whether a subnet may move from `from` to `to`. `Proposed → Approved` happens only when the
/// create proposal executes, never through a status change.
pub fn allowed(from: SubnetStatus, to: SubnetStatus) -> bool {
    use SubnetStatus::*;
    matches!(
        (from, to),
        (Approved, Provisioning) | (Provisioning, Live) | (Live, Suspended) | (Suspended, Live) | (Suspended, Decommissioned)
    )
}

/// `allowed`, as a typed refusal naming the current and requested status.
pub fn check_transition(subnet_id: Principal, from: SubnetStatus, to: SubnetStatus) -> Result<(), RegistryError> {
    if allowed(from, to) {
        Ok(())
    } else {
        Err(RegistryError::InvalidTransition { subnet_id, from, to })
    }
}

/// Members, policy and admins can change once approved and until decommissioned.
pub fn modifiable(status: SubnetStatus) -> bool {
    !matches!(status, SubnetStatus::Proposed | SubnetStatus::Decommissioned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubnetStatus::*;

    const ALL: [SubnetStatus; 6] = [Proposed, Approved, Provisioning, Live, Suspended, Decommissioned];

    #[test]
    fn exactly_the_documented_transitions_are_allowed() {
        let mut allowed_pairs = vec![];
        for from in ALL {
            for to in ALL {
                if allowed(from, to) {
                    allowed_pairs.push((from, to));
                }
            }
        }
        assert_eq!(
            allowed_pairs,
            vec![(Approved, Provisioning), (Provisioning, Live), (Live, Suspended), (Suspended, Live), (Suspended, Decommissioned)]
        );
    }

    #[test]
    fn refusals_name_both_statuses() {
        let id = Principal::from_slice(&[7; 29]);
        assert_eq!(
            check_transition(id, Live, Decommissioned),
            Err(RegistryError::InvalidTransition { subnet_id: id, from: Live, to: Decommissioned })
        );
        assert_eq!(check_transition(id, Provisioning, Live), Ok(()));
    }
}
