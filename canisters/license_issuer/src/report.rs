//! Read-only views: paged lists and the licensing checkpoint report, all as of the time asked
//! (timed transitions included, see `lapse.rs`).

use crate::lapse::{count_lapse, effective, slot, Lapse, DAY_NS};
use crate::state::{page_counted, page_of, LicenseState};
use ic_stable_structures::Memory;
use interfaces::audit::PageRequest;
use interfaces::license_issuer::*;
use std::collections::BTreeMap;

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

/// Licenses as they stand at `now`, filtered (by their status at `now`). Through the indexes
/// (`indexes.rs`): the licenses read are those of the page (plus, with a status filter, those
/// skipped or filtered out on the way), and `total` comes from the counts, adjusted for the
/// lapses due; a holder's licenses are few and are read in full.
pub fn list_licenses<M: Memory>(s: &LicenseState<M>, q: &LicenseQuery, now: u64) -> LicensePage {
    if !s.indexes_ready() {
        return list_licenses_by_scan(s, q, now);
    }
    let idle_days = s.idle_days();
    let at = |id: u64| s.licenses.get(&id).map(|c| effective(c.0, idle_days, now));
    let status_ok = |l: &License| q.status.is_none_or(|st| l.status == st);
    let (items, total, next_start) = match (q.program_id, q.holder) {
        (program, Some(holder)) => {
            let ids = s.licenses_by_holder.keys_range((holder, 0)..=(holder, u64::MAX)).map(|(_, id)| id);
            let matching = ids.filter_map(at).filter(|l| program.is_none_or(|p| l.program_id == p) && status_ok(l));
            page_of(matching, &q.page)
        }
        (Some(program), None) => {
            let total = match q.status {
                None => licenses_counted(&s.seats_of(program)),
                Some(st) => *slot(&mut s.seats_with(program, &s.due_lapses(now)), st),
            };
            let ids = s.licenses_by_program.keys_range((program, 0)..=(program, u64::MAX)).map(|(_, id)| id);
            page_counted(ids.filter_map(at).filter(status_ok), total, &q.page)
        }
        (None, None) => {
            let total = match q.status {
                None => s.licenses.len(),
                Some(st) => *slot(&mut s.totals_with(&s.due_lapses(now)), st),
            };
            page_counted(s.licenses.values().map(|c| effective(c.0, idle_days, now)).filter(status_ok), total, &q.page)
        }
    };
    LicensePage { items, total, next_start }
}

/// Licenses counted in `seats`, in every status.
fn licenses_counted(seats: &SeatCounts) -> u64 {
    seats.offered + seats.active + seats.suspended + seats.revoked + seats.expired
}

/// [`list_licenses`] by reading every license (schema 2's way): while the indexes are being
/// built after an upgrade, and as the reference the tests compare the indexed answer with.
pub fn list_licenses_by_scan<M: Memory>(s: &LicenseState<M>, q: &LicenseQuery, now: u64) -> LicensePage {
    let idle_days = s.idle_days();
    let matching = s.licenses.values().map(|c| effective(c.0, idle_days, now)).filter(|l| {
        q.program_id.is_none_or(|p| l.program_id == p)
            && q.holder.is_none_or(|h| l.holder == h)
            && q.status.is_none_or(|st| l.status == st)
    });
    let (items, total, next_start) = page_of(matching, &q.page);
    LicensePage { items, total, next_start }
}

/// Apps in id order: one license's from its `app_ids`, one program's through the index, all
/// from the map; `total` from the license, the program's count or the map's length.
pub fn list_apps<M: Memory>(s: &LicenseState<M>, q: &AppQuery) -> AppPage {
    let app = |id: u64| s.apps.get(&id).map(|c| c.0);
    let (items, total, next_start) = match (q.license_id, q.program_id) {
        (Some(license_id), program) => {
            let ids = s.license(license_id).map(|l| l.app_ids).unwrap_or_default();
            page_of(ids.into_iter().filter_map(app).filter(|a| a.license_id == license_id && program.is_none_or(|p| a.program_id == p)), &q.page)
        }
        (None, Some(program)) if s.indexes_ready() => {
            let ids = s.apps_by_program.keys_range((program, 0)..=(program, u64::MAX)).map(|(_, id)| id);
            page_counted(ids.filter_map(app), s.seats_of(program).apps, &q.page)
        }
        (None, Some(_)) => return list_apps_by_scan(s, q),
        (None, None) => page_counted(s.apps.values().map(|c| c.0), s.apps.len(), &q.page),
    };
    AppPage { items, total, next_start }
}

/// [`list_apps`] by reading every app (schema 2's way; see [`list_licenses_by_scan`]).
pub fn list_apps_by_scan<M: Memory>(s: &LicenseState<M>, q: &AppQuery) -> AppPage {
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

/// Active licenses (as of `now`) whose holder was active since the window began, by program:
/// the stored-`Active` licenses active since then (day counts, `indexes.rs`), less those whose
/// lapse is due at `now` but not yet recorded.
pub(crate) fn active_builders<M: Memory>(s: &LicenseState<M>, now: u64, lapses: &[Lapse]) -> BTreeMap<u64, u64> {
    let since = now.saturating_sub(ACTIVE_BUILDER_WINDOW_DAYS * DAY_NS);
    if !s.indexes_ready() {
        return active_builders_by_scan(s, now);
    }
    let mut by_program = s.active_since_by_program(since);
    for (before, after) in lapses {
        let counted = before.status == LicenseStatus::Active && before.last_activity_ns >= since;
        if counted && after.status != LicenseStatus::Active {
            if let Some(n) = by_program.get_mut(&before.program_id) {
                *n = n.saturating_sub(1);
            }
        }
    }
    by_program.retain(|_, n| *n > 0);
    by_program
}

/// [`active_builders`] by reading every license active in the window (schema 2's way).
pub fn active_builders_by_scan<M: Memory>(s: &LicenseState<M>, now: u64) -> BTreeMap<u64, u64> {
    let since = now.saturating_sub(ACTIVE_BUILDER_WINDOW_DAYS * DAY_NS);
    let idle_days = s.idle_days();
    let mut by_program = BTreeMap::new();
    for (_, license_id) in s.activity.keys_range((since, 0)..) {
        let Ok(l) = s.license(license_id) else { continue };
        let program_id = l.program_id;
        if effective(l, idle_days, now).status == LicenseStatus::Active {
            *by_program.entry(program_id).or_insert(0) += 1;
        }
    }
    by_program
}

/// One line's figures: seats, activation rate and active builders.
#[derive(Default, Clone)]
struct Line {
    seats: SeatCounts,
    builders: u64,
}

impl Line {
    fn add(&mut self, other: &Line) {
        add(&mut self.seats, &other.seats);
        self.builders += other.builders;
    }
}

/// The licensing checkpoint at `now`: seats by sector, institution and program, activation
/// rates, apps, and builders active in the last 30 days. Every line is computed from the
/// program lines below it, so the breakdowns add up to the totals exactly.
pub fn licensing_report<M: Memory>(s: &LicenseState<M>, now: u64) -> LicensingReport {
    let config = s.config();
    let lapses = s.due_lapses(now);
    let mut lapses_by_program: BTreeMap<u64, Vec<&Lapse>> = BTreeMap::new();
    for l in &lapses {
        lapses_by_program.entry(l.0.program_id).or_default().push(l);
    }
    let builders = active_builders(s, now, &lapses);
    let institutions: BTreeMap<u64, Institution> = s.institutions.iter().map(|e| (*e.key(), e.value().0)).collect();

    let mut by_program = Vec::new();
    let mut per_institution: BTreeMap<u64, (u64, u64, Line)> = BTreeMap::new(); // programs, quota, line
    for program in s.programs.values().map(|c| c.0) {
        let mut seats = s.seats_of(program.id);
        lapses_by_program.get(&program.id).into_iter().flatten().for_each(|l| count_lapse(&mut seats, l));
        let line = Line { seats, builders: builders.get(&program.id).copied().unwrap_or(0) };
        let sector = institutions.get(&program.institution_id).map(|i| i.sector).unwrap_or(Sector::Other);
        let inst = per_institution.entry(program.institution_id).or_default();
        inst.0 += 1;
        inst.1 += u64::from(program.seat_quota);
        inst.2.add(&line);
        by_program.push(ProgramReport {
            program_id: program.id,
            name: program.name,
            institution_id: program.institution_id,
            sector,
            seat_quota: program.seat_quota,
            activation_rate: rate(&line.seats),
            active_builders_30d: line.builders,
            seats: line.seats,
        });
    }

    let mut by_institution = Vec::new();
    let mut sectors: BTreeMap<Sector, (u64, u64, u64, Line)> = BTreeMap::new(); // institutions, programs, quota, line
    let mut all = Line::default();
    for institution in institutions.values() {
        let (programs, quota, line) = per_institution.remove(&institution.id).unwrap_or_default();
        let sector = sectors.entry(institution.sector).or_default();
        sector.0 += 1;
        sector.1 += programs;
        sector.2 += quota;
        sector.3.add(&line);
        all.add(&line);
        by_institution.push(InstitutionReport {
            institution_id: institution.id,
            name: institution.name.clone(),
            sector: institution.sector,
            verified: institution.verified,
            programs,
            seat_quota: quota,
            activation_rate: rate(&line.seats),
            active_builders_30d: line.builders,
            seats: line.seats,
        });
    }
    let by_sector = sectors
        .into_iter()
        .map(|(sector, (institutions, programs, seat_quota, line))| SectorReport {
            sector,
            institutions,
            programs,
            seat_quota,
            activation_rate: rate(&line.seats),
            active_builders_30d: line.builders,
            seats: line.seats,
        })
        .collect();

    // The totals are the sum of the lines, so they add up by construction; the global counters
    // (moved by the same lapses) must agree, which the unit and property tests check.
    let totals = all.seats;
    debug_assert_eq!(s.totals_with(&lapses), totals);
    LicensingReport {
        generated_at_ns: now,
        global_seat_cap: config.global_seat_cap,
        seats_in_use: totals.in_use,
        seats_available: u64::from(config.global_seat_cap).saturating_sub(totals.in_use),
        activation_rate: rate(&totals),
        apps_live: s.apps.len(),
        active_builders_30d: all.builders,
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
    use crate::state::page_of;
    use crate::licenses;
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
        let input = AppInput { license_id: app_license.id, name: "portal".into(), canister: canister(70), subnet_id: p(200) };
        assert_eq!(apps::check_registration(&s, app_license.holder, 4, p(8), &input), Ok(apps::Start::New));
        let reg = PendingApp { input, holder: app_license.holder, started_at_ns: 4, outcome_unknown: false, module_hash: None };
        apps::commit_app(&mut s, 5, &reg).unwrap();

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
        assert_eq!(r.totals, s.totals(), "the lines' sum equals the global counters");
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
        let page = list_licenses(&s, &q, 1);
        assert_eq!((page.items.len(), page.total, page.next_start), (2, 3, Some(2)));
        let q = LicenseQuery { page: PageRequest { start: Some(2), limit: Some(2) }, ..q };
        assert_eq!(list_licenses(&s, &q, 1).items.len(), 1);
        let mine = LicenseQuery { holder: Some(p(101)), ..Default::default() };
        assert_eq!(list_licenses(&s, &mine, 1).items[0].program_id, progs[1]);
        assert_eq!(list_programs(&s, &ProgramQuery::default()).total, 2);
    }

    #[test]
    fn a_zero_limit_returns_the_count_and_never_a_next_page() {
        let mut s = state_with_cap(20);
        let progs = with_programs(&mut s, &[(Sector::Government, 5)]);
        for h in 0..3u8 {
            licenses::offer_license(&mut s, p(MANAGER), 1, progs[0], p(100 + h)).unwrap();
        }
        for start in [None, Some(0), Some(1), Some(2), Some(3), Some(u64::MAX)] {
            let page = PageRequest { start, limit: Some(0) };
            let q = LicenseQuery { page: page.clone(), ..Default::default() };
            let l = list_licenses(&s, &q, 1);
            assert_eq!((l.items.len(), l.total, l.next_start), (0, 3, None), "{start:?}");
            let pol = list_policies(&s, &page);
            assert_eq!((pol.items.len(), pol.next_start), (0, None));
            let inst = list_institutions(&s, &page);
            assert_eq!((inst.items.len(), inst.next_start), (0, None));
            let prog = list_programs(&s, &ProgramQuery { institution_id: None, page: page.clone() });
            assert_eq!((prog.items.len(), prog.next_start), (0, None));
            let apps = list_apps(&s, &AppQuery { page, ..Default::default() });
            assert_eq!((apps.items.len(), apps.next_start), (0, None));
        }
        // Paging with limit 1 visits every item once and always advances.
        let (mut start, mut seen) = (Some(0), vec![]);
        while let Some(at) = start {
            let q = LicenseQuery { page: PageRequest { start: Some(at), limit: Some(1) }, ..Default::default() };
            let page = list_licenses(&s, &q, 1);
            assert!(page.next_start.is_none_or(|n| n > at));
            seen.extend(page.items.iter().map(|l| l.id));
            start = page.next_start;
        }
        assert_eq!(seen, vec![1, 2, 3]);
    }

    #[test]
    fn pages_stop_before_their_byte_bound_and_still_advance() {
        let items: Vec<String> = (0..20).map(|i| format!("{i}{}", "x".repeat(MAX_PAGE_BYTES / 8))).collect();
        let (page, total, next) = page_of(items.clone().into_iter(), &PageRequest::default());
        let bytes: usize = page.iter().map(crate::state::encoded_len).sum();
        assert_eq!(total, 20);
        assert!(page.len() < 8 && bytes <= MAX_PAGE_BYTES, "{} items, {bytes} bytes", page.len());
        assert_eq!(next, Some(page.len() as u64));
        // A single item over the bound still comes alone, so paging never stalls.
        let huge = vec!["y".repeat(MAX_PAGE_BYTES + 1), "z".into()];
        let (page, _, next) = page_of(huge.into_iter(), &PageRequest::default());
        assert_eq!((page.len(), next), (1, Some(1)));
    }

    #[test]
    fn the_report_counts_lapsed_licenses_as_ended_before_the_timer_runs() {
        let mut s = fresh(|a| {
            a.global_seat_cap = 10;
            a.idle_reclaim_days = Some(5);
            a.offer_ttl_seconds = Some(3 * 24 * 3600);
        });
        let progs = with_programs(&mut s, &[(Sector::Government, 5), (Sector::Education, 5)]);
        let m = p(MANAGER);
        let offered = licenses::offer_license(&mut s, m, 1, progs[0], p(100)).unwrap();
        let idle = licenses::offer_license(&mut s, m, 1, progs[0], p(101)).unwrap();
        licenses::accept_license(&mut s, p(101), 2, idle.id).unwrap();
        // One holder active in both programs.
        for prog in &progs {
            let l = licenses::offer_license(&mut s, m, 1, *prog, p(102)).unwrap();
            licenses::accept_license(&mut s, p(102), 2, l.id).unwrap();
        }
        let busy: Vec<u64> = s.licenses.values().map(|c| c.0).filter(|l| l.holder == p(102)).map(|l| l.id).collect();
        for id in busy {
            licenses::record_activity(&mut s, p(102), 4 * DAY_NS, id).unwrap();
        }
        let now = 2 + 5 * DAY_NS;
        assert!(now > offered.offer_expires_at_ns);
        let r = licensing_report(&s, now);
        assert_eq!((r.totals.offered, r.totals.active, r.totals.expired, r.totals.revoked), (0, 2, 1, 1));
        assert_eq!((r.totals.idle_reclaimed, r.seats_in_use, r.seats_available), (1, 2, 8));
        assert_eq!(r.active_builders_30d, 2, "per license: one principal in two programs counts in each");
        let lines: u64 = r.by_program.iter().map(|l| l.active_builders_30d).sum();
        assert_eq!(lines, r.active_builders_30d);
        // The timer records exactly what the report already showed.
        licenses::housekeeping(&mut s, now, p(99), 100);
        let mut after = licensing_report(&s, now);
        after.generated_at_ns = r.generated_at_ns;
        assert_eq!(after, r);
    }
}
