//! The checkpoint report: the five questions people ask of the Pakistan deal, each answered with
//! numbers the canisters computed. It is a composite of four public queries — one per canister —
//! so anyone can rebuild it from Candid UI; this module only fetches and lays them out.

use crate::call::{checked_query1, CallError};
use crate::env::Env;
use crate::Suite;
use candid::Principal;
use interfaces::burn_ledger::{Amounts, BurnCheckpoint, CheckpointLine, Scope};
use interfaces::license_issuer::LicensingReport;
use interfaces::messaging::MessagingMetrics;
use interfaces::subnet_registry::{ComplianceReport, RegistryError};
use std::fmt::{self, Display, Formatter, Write as _};

/// The four canisters' answers, as they gave them.
#[derive(Clone, Debug)]
pub struct CheckpointReport {
    /// `subnet_registry.compliance_report(subnet)`.
    pub subnet: ComplianceReport,
    /// `messaging.metrics()`.
    pub messenger: MessagingMetrics,
    /// `license_issuer.licensing_report()`.
    pub licensing: LicensingReport,
    /// `burn_ledger.burn_checkpoint()`.
    pub burn: BurnCheckpoint,
}

/// Asks each canister for its part (anonymous queries: the checkpoints are public); panics
/// with the reason when one cannot answer (tests and the demo).
pub fn fetch(env: &mut dyn Env, suite: Suite, subnet_id: Principal) -> CheckpointReport {
    try_fetch(env, suite, subnet_id).unwrap_or_else(|e| panic!("{e}"))
}

/// [`fetch`] that returns the first failing call: a reject, a canister of the wrong kind, or the
/// registry's typed error (an unknown subnet is `SubnetNotFound`).
pub fn try_fetch(env: &mut dyn Env, suite: Suite, subnet_id: Principal) -> Result<CheckpointReport, CallError> {
    let anyone = Principal::anonymous();
    let subnet: Result<ComplianceReport, RegistryError> = checked_query1(env, suite.registry, anyone, "compliance_report", (subnet_id,))?;
    Ok(CheckpointReport {
        subnet: subnet.map_err(|e| CallError::new(suite.registry, &format!("compliance_report({subnet_id})"), crate::call::readable(&e)))?,
        messenger: checked_query1(env, suite.messaging, anyone, "metrics", ())?,
        licensing: checked_query1(env, suite.issuer, anyone, "licensing_report", ())?,
        burn: checked_query1(env, suite.ledger, anyone, "burn_checkpoint", ())?,
    })
}

/// `YYYY-MM-DD hh:mm UTC` of an IC time in nanoseconds.
pub fn utc(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian, eras of 400 years).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

/// A fixed-point amount with `decimals` decimals, from an integer in 10^-decimals units.
fn fixed(value: u128, decimals: u32) -> String {
    let unit = 10u128.pow(decimals);
    format!("{}.{:0width$}", value / unit, value % unit, width = decimals as usize)
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn bps(bps: u128) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn amounts(a: &Amounts) -> String {
    format!("{} cycles = {} XDR = {} ICP", a.cycles, fixed(a.micro_xdr, 6), fixed(a.icp_e8s, 8))
}

fn scope_name(report: &CheckpointReport, line: &CheckpointLine) -> String {
    match line.scope {
        Scope::Subnet(id) if id == report.subnet.subnet_id => report.subnet.name.clone(),
        Scope::Program(id) => report
            .licensing
            .by_program
            .iter()
            .find(|p| p.program_id == id)
            .map_or(format!("program {id}"), |p| p.name.clone()),
        Scope::NoProgram => "suite canisters (no program)".into(),
        Scope::UnknownSubnet => "no placement recorded (suite canisters)".into(),
        other => format!("{other:?}"),
    }
}

impl Display for CheckpointReport {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let s = &self.subnet;
        let live = match s.live_since_ns {
            Some(ns) => format!("since {}", utc(ns)),
            None => "not live".into(),
        };
        writeln!(out, "1. Is the {} live and compliant?", s.name)?;
        writeln!(out, "   status {:?} ({live}); jurisdiction {}; {} nodes", s.status, s.jurisdiction, s.members)?;
        writeln!(
            out,
            "   residency: {} of {} nodes in {:?}; providers {}, data centres {}, owners {}; SEV {}/{}",
            s.residency.resident_nodes,
            s.members,
            s.residency.allowed_countries,
            s.by_provider.len(),
            s.by_data_centre.len(),
            s.by_owner.len(),
            s.sev.nodes_with_sev,
            s.sev.members
        )?;
        match s.violations.is_empty() {
            true => writeln!(out, "   compliant: yes (no policy violations)")?,
            false => writeln!(out, "   compliant: NO — {:?}", s.violations)?,
        }

        let m = &self.messenger;
        writeln!(out, "2. Is the messenger in use?")?;
        writeln!(
            out,
            "   {} users ({} verified institutions), {} conversations ({} direct, {} groups)",
            m.users, m.verified_institutions, m.conversations, m.direct_conversations, m.groups
        )?;
        writeln!(
            out,
            "   {} messages sent, {} ciphertext bytes stored; {} daily active senders today",
            m.messages_sent, m.bytes_stored, m.daily_active_senders
        )?;

        let l = &self.licensing;
        writeln!(out, "3. Are the licenses tied to real programs?")?;
        writeln!(
            out,
            "   {} of {} seats in use ({} active, {} offered, {} suspended); activation {}",
            l.seats_in_use,
            l.global_seat_cap,
            l.totals.active,
            l.totals.offered,
            l.totals.suspended,
            percent(l.activation_rate)
        )?;
        for sector in &l.by_sector {
            writeln!(
                out,
                "   {:<10} {} institutions, {} programs, {} active seats, activation {}",
                format!("{:?}", sector.sector),
                sector.institutions,
                sector.programs,
                sector.seats.active,
                percent(sector.activation_rate)
            )?;
        }
        for inst in &l.by_institution {
            writeln!(
                out,
                "   - {}{}: {} programs, {} active seats of quota {}",
                inst.name,
                if inst.verified { " (verified)" } else { "" },
                inst.programs,
                inst.seats.active,
                inst.seat_quota
            )?;
        }

        writeln!(out, "4. What did they produce?")?;
        writeln!(out, "   {} apps live on sovereign subnets; {} builders active in the last 30 days", l.apps_live, l.active_builders_30d)?;
        for p in l.by_program.iter().filter(|p| p.seats.apps > 0) {
            writeln!(out, "   - {}: {} apps", p.name, p.seats.apps)?;
        }

        let b = &self.burn;
        let rate = &b.meter.burn_rate;
        writeln!(out, "5. What does the usage burn? (Mission 70)")?;
        writeln!(out, "   total: {} in {} reports from {} reporters", amounts(&b.suite), b.suite.reports, b.reporters)?;
        writeln!(
            out,
            "   burn rate: {} XDR/s over {} s = {} of the network target {} XDR/s",
            fixed(rate.micro_xdr_per_second, 6),
            rate.window_seconds,
            bps(rate.share_of_target_bps),
            fixed(rate.network_target_milli_xdr_per_second.into(), 3)
        )?;
        if let (Some(per_year), Some(centi_bps)) = (b.meter.icp_e8s_burned_per_year, b.meter.burn_centi_bps_of_supply) {
            writeln!(
                out,
                "   at this rate: {} ICP burned per year = {} bps of supply against {} bps gross minting",
                fixed(per_year, 8),
                fixed(centi_bps, 2),
                b.meter.model.annual_gross_minting_bps
            )?;
        }
        for line in &b.per_subnet {
            writeln!(out, "   subnet  {}: {} ({})", scope_name(self, line), amounts(&line.amounts), bps(line.share_of_suite_bps))?;
        }
        for line in &b.per_program {
            writeln!(out, "   program {}: {} ({})", scope_name(self, line), amounts(&line.amounts), bps(line.share_of_suite_bps))?;
        }
        writeln!(out, "   awaiting attribution: {}; missing report sequences: {}", b.pending_attribution, b.missing_sequences)?;
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34 UTC (a leap day) = 951827640 s.
        assert_eq!(utc(951_827_640 * 1_000_000_000), "2000-02-29 12:34 UTC");
        assert_eq!(utc(1_795_392_000 * 1_000_000_000), "2026-11-23 00:00 UTC");
    }

    #[test]
    fn fixed_point() {
        assert_eq!(fixed(1_234_567, 6), "1.234567");
        assert_eq!(fixed(5, 8), "0.00000005");
        assert_eq!(bps(10_000), "100.00%");
    }
}
