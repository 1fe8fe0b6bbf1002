//! Read-only views: paged lists and the licensing checkpoint report.

use crate::licenses::DAY_NS;
use crate::state::{page_of, LicenseState};
use ic_stable_structures::Memory;
use interfaces::audit::PageRequest;
use interfaces::license_issuer::*;
use std::collections::{BTreeMap, BTreeSet};

pub fn list_policies<M: Memory>(s: &LicenseState<M>, page: &PageRequest) -> PolicyPage {
    let (items, total, next_start) = page_of(s.policies.values().map(|c| c.0), page);
    PolicyPage { items, total, next_start }
}

pub fn list_institutions<M: Memory>(s: &LicenseState<M>, page: &PageRequest) -> InstitutionPage {
    let (items, total, next_start) = page_of(s.institutions.values().map(|c| c.0), page);
    InstitutionPage { items, total, next_start }
}

pub fn list_programs<M: Memory>(s: &LicenseState<M>, q: &ProgramQuery) -> ProgramPage {
    let matching = s.programs.values().map(|c| c.0).filter(|p| q.institution_id.is_none_or(|i| p.institution_id == i));
    let (items, total, next_start) = page_of(matching, &q.page);
    ProgramPage { items, total, next_start }
}

pub fn list_licenses<M: Memory>(s: &LicenseState<M>, q: &LicenseQuery) -> LicensePage {
    let matching = s.licenses.values().map(|c| c.0).filter(|l| {
        q.program_id.is_none_or(|p| l.program_id == p)
            && q.holder.is_none_or(|h| l.holder == h)
            && q.status.is_none_or(|st| l.status == st)
    });
    let (items, total, next_start) = page_of(matching, &q.page);
    LicensePage { items, total, next_start }
}

pub fn list_apps<M: Memory>(s: &LicenseState<M>, q: &AppQuery) -> AppPage {
    let matching = s
        .apps
        .values()
        .map(|c| c.0)
        .filter(|a| q.program_id.is_none_or(|p| a.program_id == p) && q.license_id.is_none_or(|l| a.license_id == l));
    let (items, total, next_start) = page_of(matching, &q.page);
    AppPage { items, total, next_start }
}

fn rate(s: &SeatCounts) -> f64 {
    if s.offers_made == 0 {
        0.0
    } else {
        s.offers_accepted as f64 / s.offers_made as f64
    }
}

fn add(into: &mut SeatCounts, s: &SeatCounts) {
    into.offered += s.offered;
    into.active += s.active;
    into.suspended += s.suspended;
    into.revoked += s.revoked;
    into.expired += s.expired;
    into.in_use += s.in_use;
    into.offers_made += s.offers_made;
    into.offers_accepted += s.offers_accepted;
    into.idle_reclaimed += s.idle_reclaimed;
    into.apps += s.apps;
}

/// The licensing checkpoint at `now`: seats by sector, institution and program, activation
/// rates, apps, and builders (holders of active licenses) active in the last 30 days.
pub fn licensing_report<M: Memory>(s: &LicenseState<M>, now: u64) -> LicensingReport {
    let config = s.config();
    // Builders: active licenses whose last activity is within the window.
    let since = now.saturating_sub(ACTIVE_BUILDER_WINDOW_DAYS * DAY_NS);
    let mut builders_by_program: BTreeMap<u64, BTreeSet<candid::Principal>> = BTreeMap::new();
    for (_, license_id) in s.activity.keys_range((since, 0)..) {
        if let Ok(l) = s.license(license_id) {
            builders_by_program.entry(l.program_id).or_default().insert(l.holder);
        }
    }
    let builders_in = |programs: &[u64]| -> u64 {
        let mut all = BTreeSet::new();
        for p in programs {
            if let Some(b) = builders_by_program.get(p) {
                all.extend(b.iter().copied());
            }
        }
        all.len() as u64
    };

    let institutions: BTreeMap<u64, Institution> = s.institutions.iter().map(|e| (*e.key(), e.value().0)).collect();
    let mut by_program = Vec::new();
    let mut programs_of: BTreeMap<u64, Vec<(u64, u32, SeatCounts)>> = BTreeMap::new();
    for program in s.programs.values().map(|c| c.0) {
        let seats = s.seats_of(program.id);
        let sector = institutions.get(&program.institution_id).map(|i| i.sector).unwrap_or(Sector::Other);
        programs_of.entry(program.institution_id).or_default().push((program.id, program.seat_quota, seats.clone()));
        by_program.push(ProgramReport {
            program_id: program.id,
            name: program.name,
            institution_id: program.institution_id,
            sector,
            seat_quota: program.seat_quota,
            activation_rate: rate(&seats),
            active_builders_30d: builders_in(&[program.id]),
            seats,
        });
    }

    let mut by_institution = Vec::new();
    let mut sectors: BTreeMap<Sector, (u64, Vec<u64>, u64, SeatCounts)> = BTreeMap::new();
    for institution in institutions.values() {
        let programs = programs_of.get(&institution.id).cloned().unwrap_or_default();
        let ids: Vec<u64> = programs.iter().map(|p| p.0).collect();
        let quota: u64 = programs.iter().map(|p| u64::from(p.1)).sum();
        let mut seats = SeatCounts::default();
        programs.iter().for_each(|p| add(&mut seats, &p.2));
        let sector = sectors.entry(institution.sector).or_default();
        sector.0 += 1;
        sector.1.extend(&ids);
        sector.2 += quota;
        add(&mut sector.3, &seats);
        by_institution.push(InstitutionReport {
            institution_id: institution.id,
            name: institution.name.clone(),
            sector: institution.sector,
            verified: institution.verified,
            programs: ids.len() as u64,
            seat_quota: quota,
            activation_rate: rate(&seats),
            active_builders_30d: builders_in(&ids),
            seats,
        });
    }
    let by_sector = sectors
        .into_iter()
        .map(|(sector, (institutions, ids, seat_quota, seats))| SectorReport {
            sector,
            institutions,
            programs: ids.len() as u64,
            seat_quota,
            activation_rate: rate(&seats),
            active_builders_30d: builders_in(&ids),
            seats,
        })
        .collect();

    let totals = s.totals();
    let all_programs: Vec<u64> = builders_by_program.keys().copied().collect();
    LicensingReport {
        generated_at_ns: now,
        global_seat_cap: config.global_seat_cap,
        seats_in_use: totals.in_use,
        seats_available: u64::from(config.global_seat_cap).saturating_sub(totals.in_use),
        activation_rate: rate(&totals),
        apps_live: s.apps.len(),
        active_builders_30d: builders_in(&all_programs),
        by_sector,
        by_institution,
        by_program,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps;
    use crate::licenses::{self, DAY_NS};
    use crate::state::test_support::*;

    #[test]
    fn the_report_adds_up_by_program_institution_and_sector() {
        let mut s = state_with_cap(20);
        let progs = with_programs(
            &mut s,
            &[(Sector::Government, 5), (Sector::Education, 6), (Sector::Education, 4), (Sector::Startup, 10)],
        );
        let m = p(MANAGER);
        let mut holder = 100u8;
        let mut accepted = Vec::new();
        for (prog, offers, accepts) in [(progs[0], 3, 2), (progs[1], 4, 4), (progs[2], 2, 0), (progs[3], 5, 3)] {
            for i in 0..offers {
                let l = licenses::offer_license(&mut s, m, 1, prog, p(holder)).unwrap();
                if i < accepts {
                    accepted.push(licenses::accept_license(&mut s, p(holder), 2, l.id).unwrap());
                }
                holder += 1;
            }
        }
        // One suspended, one revoked, and an app registered on the first accepted license.
        licenses::suspend_license(&mut s, m, 3, accepted[0].id, "check".into()).unwrap();
        licenses::revoke_license(&mut s, m, 3, accepted[2].id, "left".into()).unwrap();
        s.core.install(
            {
                let mut a = crate::config::default_args(p(AUTHORITY));
                a.global_seat_cap = 20;
                a.subnet_registry = Some(p(9));
                a
            },
            crate::config::build_config,
            3,
            p(AUTHORITY),
            "reconfigured",
        )
        .unwrap();
        let app_license = accepted[3].clone();
        let input = AppInput { license_id: app_license.id, name: "portal".into(), canister: p(70), subnet_id: p(200) };
        apps::reserve_app(&mut s, app_license.holder, 4, &input).unwrap();
        apps::commit_app(&mut s, 5, p(70)).unwrap();

        let r = licensing_report(&s, 10 * DAY_NS);
        assert_eq!(r.global_seat_cap, 20);
        assert_eq!(r.totals.offers_made, 14);
        assert_eq!(r.totals.offers_accepted, 9);
        assert_eq!((r.totals.offered, r.totals.active, r.totals.suspended, r.totals.revoked), (5, 7, 1, 1));
        assert_eq!(r.seats_in_use, 13);
        assert_eq!(r.seats_available, 7);
        assert!((r.activation_rate - 9.0 / 14.0).abs() < 1e-9);
        assert_eq!(r.apps_live, 1);
        assert_eq!(r.active_builders_30d, 7, "holders of active licenses, all active within 30 days");

        let sum = |f: fn(&SeatCounts) -> u64, v: &[SeatCounts]| v.iter().map(f).sum::<u64>();
        let programs: Vec<SeatCounts> = r.by_program.iter().map(|x| x.seats.clone()).collect();
        let sectors: Vec<SeatCounts> = r.by_sector.iter().map(|x| x.seats.clone()).collect();
        let institutions: Vec<SeatCounts> = r.by_institution.iter().map(|x| x.seats.clone()).collect();
        for list in [&programs, &sectors, &institutions] {
            assert_eq!(sum(|c| c.in_use, list), r.seats_in_use);
            assert_eq!(sum(|c| c.active, list), r.totals.active);
            assert_eq!(sum(|c| c.apps, list), r.apps_live);
        }
        let education = r.by_sector.iter().find(|x| x.sector == Sector::Education).unwrap();
        assert_eq!((education.institutions, education.programs, education.seat_quota), (2, 2, 10));
        assert_eq!((education.seats.offers_made, education.seats.active), (6, 3));
        assert_eq!((r.by_program[1].seats.apps, r.by_program[1].activation_rate), (1, 1.0));
        assert_eq!(r.by_program[2].activation_rate, 0.0);

        // Forty days on nobody was active: no active builders.
        assert_eq!(licensing_report(&s, 45 * DAY_NS).active_builders_30d, 0);
    }

    #[test]
    fn lists_are_paged_and_filtered() {
        let mut s = state_with_cap(20);
        let progs = with_programs(&mut s, &[(Sector::Government, 5), (Sector::Education, 6)]);
        for h in 0..5u8 {
            licenses::offer_license(&mut s, p(MANAGER), 1, progs[(h % 2) as usize], p(100 + h)).unwrap();
        }
        let q = LicenseQuery { program_id: Some(progs[0]), page: PageRequest { start: None, limit: Some(2) }, ..Default::default() };
        let page = list_licenses(&s, &q);
        assert_eq!((page.items.len(), page.total, page.next_start), (2, 3, Some(2)));
        let q = LicenseQuery { page: PageRequest { start: Some(2), limit: Some(2) }, ..q };
        assert_eq!(list_licenses(&s, &q).items.len(), 1);
        let mine = LicenseQuery { holder: Some(p(101)), ..Default::default() };
        assert_eq!(list_licenses(&s, &mine).items[0].program_id, progs[1]);
        assert_eq!(list_programs(&s, &ProgramQuery::default()).total, 2);
    }
}
