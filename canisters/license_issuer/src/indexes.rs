//! Secondary indexes (schema 3) that let the page queries and the licensing report read only
//! what they return, and their migration from schema 1 and 2.
//!
//! - `licenses_by_program` (program, license) and `licenses_by_holder` (holder, license): every
//!   license, written once when it is offered (program and holder never change).
//! - `apps_by_program` (program, app): every app, written when it is committed. Apps of one
//!   license need no map: `License.app_ids` lists them in id order.
//! - `activity_program` (last activity, license) → program and `activity_days` (day of last
//!   activity, program) → count: the stored-`Active` licenses, kept beside `activity` by
//!   `index`/`unindex`, so the report counts the builders of the last 30 days from at most 31
//!   day counts per program plus the licenses active on the window's first (partial) day.
//!
//! Counts (`program_seats`, the global totals) give each list's `total` without a scan.
//! Read-time effects are applied on top: the lapses due and not yet recorded (`lapse.rs`) are
//! found through the deadline indexes, so their cost is that of what is due.
//!
//! Migration: a state written by schema 1 or 2 has none of these maps. `IndexBuild` records
//! how far they are built; the timer builds them in bounded batches in id order (licenses, then
//! apps), and until both are done every query that would need them reads by a full scan, as
//! schema 2 did, so answers are the same during the migration. Entries written by updates
//! meanwhile are idempotent with the build (an entry is inserted once, a count moved only when
//! the entry was absent).

use crate::lapse::DAY_NS;
use crate::state::LicenseState;
use ic_stable_structures::Memory;
use interfaces::license_issuer::{App, License, LicenseStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far the schema-3 indexes are built over records stored before them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexBuild {
    /// Every license with id below `next_license` is indexed; all are when `licenses_done`.
    pub licenses_done: bool,
    pub next_license: u64,
    /// Every app with id below `next_app` is indexed; all are when `apps_done`.
    pub apps_done: bool,
    pub next_app: u64,
}

impl IndexBuild {
    pub fn complete() -> Self {
        IndexBuild { licenses_done: true, next_license: 0, apps_done: true, next_app: 0 }
    }
    pub fn is_complete(&self) -> bool {
        self.licenses_done && self.apps_done
    }
}

/// The day (since the epoch) a time falls in.
pub fn day_of(t_ns: u64) -> u64 {
    t_ns / DAY_NS
}

impl<M: Memory> LicenseState<M> {
    /// Whether the schema-3 indexes cover every record (queries may use them).
    pub fn indexes_ready(&self) -> bool {
        self.index_build().is_complete()
    }

    /// Entries of a new license in the by-program and by-holder indexes.
    pub(crate) fn index_new_license(&mut self, l: &License) {
        self.licenses_by_program.insert((l.program_id, l.id), ());
        self.licenses_by_holder.insert((l.holder, l.id), ());
    }

    /// Entries of a new app in the by-program index.
    pub(crate) fn index_new_app(&mut self, app: &App) {
        self.apps_by_program.insert((app.program_id, app.id), ());
    }

    /// A stored-`Active` license enters the activity-by-program index and its day's count
    /// (once: a second call for the same entry changes nothing).
    pub(crate) fn index_activity(&mut self, l: &License) {
        if self.activity_program.insert((l.last_activity_ns, l.id), l.program_id).is_none() {
            let key = (day_of(l.last_activity_ns), l.program_id);
            let n = self.activity_days.get(&key).unwrap_or(0);
            self.activity_days.insert(key, n + 1);
        }
    }

    /// The license's activity entry leaves the index and its day's count, if it is there.
    pub(crate) fn unindex_activity(&mut self, l: &License) {
        if let Some(program_id) = self.activity_program.remove(&(l.last_activity_ns, l.id)) {
            let key = (day_of(l.last_activity_ns), program_id);
            match self.activity_days.get(&key).unwrap_or(0) {
                0 | 1 => self.activity_days.remove(&key),
                n => self.activity_days.insert(key, n - 1),
            };
        }
    }

    /// Stored-`Active` licenses whose last activity is at or after `since`, by program, from the
    /// day counts (whole days after `since`'s day) and the index (the rest of `since`'s day).
    /// Needs `indexes_ready`.
    pub fn active_since_by_program(&self, since: u64) -> BTreeMap<u64, u64> {
        let mut by_program = BTreeMap::new();
        let next_day = day_of(since).saturating_add(1);
        for e in self.activity_days.range((next_day, 0)..) {
            let ((_, program_id), n) = e.into_pair();
            *by_program.entry(program_id).or_insert(0) += n;
        }
        let boundary = next_day.saturating_mul(DAY_NS);
        for e in self.activity_program.range((since, 0)..(boundary, 0)) {
            *by_program.entry(e.value()).or_insert(0) += 1;
        }
        by_program
    }

    /// Builds the indexes over at most `budget` stored records, resuming where the last call
    /// stopped. Returns whether the build is complete.
    pub fn build_indexes(&mut self, budget: usize) -> bool {
        let mut b = self.index_build();
        let mut left = budget;
        if !b.licenses_done {
            let batch: Vec<License> = self.licenses.range(b.next_license..).take(left).map(|e| e.value().0).collect();
            left -= batch.len();
            for l in &batch {
                self.index_new_license(l);
                if l.status == LicenseStatus::Active {
                    self.index_activity(l);
                }
                b.next_license = l.id.saturating_add(1);
            }
            b.licenses_done = left > 0;
        }
        if b.licenses_done && !b.apps_done && left > 0 {
            let batch: Vec<App> = self.apps.range(b.next_app..).take(left).map(|e| e.value().0).collect();
            left -= batch.len();
            for app in &batch {
                self.index_new_app(app);
                b.next_app = app.id.saturating_add(1);
            }
            b.apps_done = left > 0;
        }
        let done = b.is_complete();
        self.set_index_build(b);
        done
    }
}
