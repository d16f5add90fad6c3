//! What a row cannot tell alone, checked per table: duplicates within the
//! call, references to other tables, manager cycles. Rows that fail are
//! dropped and their problems recorded.

use std::collections::HashMap;

use super::known::{Key, Known, Seen, content_key, key, with_day};
use super::load::{LoadStep, Parsed};
use super::{Problem, Problems, mapping};
use crate::domain::{HierarchyError, OrgChart, RepId};

impl LoadStep<'_> {
    /// Checks what a row cannot tell alone: duplicates, references to other
    /// tables, manager cycles. Drops rows that fail.
    pub(super) fn check(
        &self,
        parsed: Parsed,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Parsed {
        let mut checked = match parsed {
            Parsed::Territories(rows) => {
                Parsed::Territories(self.check_territories(rows, known, seen, problems))
            }
            Parsed::Reps(rows) => Parsed::Reps(self.check_reps(rows, known, seen, problems)),
            Parsed::Opportunities(rows) => {
                Parsed::Opportunities(self.check_opportunities(rows, known, seen, problems))
            }
            Parsed::History(rows) => {
                Parsed::History(self.check_history(rows, known, seen, problems))
            }
            Parsed::Bookings(rows) => {
                Parsed::Bookings(self.check_bookings(rows, known, seen, problems))
            }
            Parsed::Quotas(rows) => Parsed::Quotas(self.check_quotas(rows, known, seen, problems)),
        };
        known.last_activity = known.last_activity.max(checked.last_activity());
        self.note_currencies(&mut checked, known);
        checked
    }

    /// Rows in the organisation's currency are stored without one; for the
    /// others, records the earliest day each currency needs a rate for: a
    /// deal's created day, a booking's day, a quota period's first day.
    fn note_currencies(&self, parsed: &mut Parsed, known: &mut Known) {
        let org = known.currency.clone();
        let mut need = |code: &mut Option<String>, day: chrono::NaiveDate, row: usize| {
            if code.as_deref() == Some(org.as_str()) {
                *code = None;
            }
            let Some(code) = code.as_deref() else {
                return;
            };
            let earlier = known.currency_needs.get(code).is_none_or(|(d, _)| day < *d);
            if earlier {
                let problem = self.row_problem(row, "currency", code, String::new());
                known.currency_needs.insert(code.to_owned(), (day, problem));
            }
        };
        let fiscal = known.fiscal;
        match parsed {
            Parsed::Opportunities(rows) => {
                for (o, row) in rows {
                    need(&mut o.currency, o.created_date, *row);
                }
            }
            Parsed::Bookings(rows) => {
                for (b, row) in rows {
                    need(&mut b.currency, b.booked_date, *row);
                }
            }
            Parsed::Quotas(rows) => {
                for (q, row) in rows {
                    let start = fiscal.start(q.period);
                    need(&mut q.currency, start, *row);
                }
            }
            _ => {}
        }
    }

    /// Territories: ids unique in the call.
    fn check_territories(
        &self,
        rows: Vec<(crate::domain::Territory, usize)>,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Vec<(crate::domain::Territory, usize)> {
        let mut kept = Vec::with_capacity(rows.len());
        for (t, row) in rows {
            if !self.first_of_id(
                &t,
                t.territory_id.as_str(),
                "territory_id",
                row,
                seen,
                problems,
            ) {
                continue;
            }
            known.territories.insert(t.territory_id.as_str().to_owned());
            kept.push((t, row));
        }
        kept
    }

    /// People: ids unique, managers and territories known, no manager cycle.
    fn check_reps(
        &self,
        rows: Vec<(crate::domain::Rep, usize)>,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Vec<(crate::domain::Rep, usize)> {
        let mut kept = Vec::with_capacity(rows.len());
        for (r, row) in rows {
            if self.first_of_id(&r, r.rep_id.as_str(), "rep_id", row, seen, problems) {
                kept.push((r, row));
            }
        }
        for (r, _) in &kept {
            known
                .reps
                .insert(r.rep_id.as_str().to_owned(), r.manager_id.clone());
            match &r.plan_id {
                Some(p) => known
                    .plan_ids
                    .insert(r.rep_id.as_str().to_owned(), p.clone()),
                None => known.plan_ids.remove(r.rep_id.as_str()),
            };
        }
        let row_of: HashMap<String, usize> = kept
            .iter()
            .map(|(r, row)| (r.rep_id.as_str().to_owned(), *row))
            .collect();
        let mut valid = Vec::with_capacity(kept.len());
        for (r, row) in kept {
            // Every reference is checked (an array, not `&&`), so each
            // unknown one is reported.
            // A manager may be named in a later file of the call: decided
            // once every file of the table is read.
            if let Some(m) = r.manager_id.as_ref()
                && !known.reps.contains_key(m.as_str())
            {
                let problem = self.row_problem(
                    row,
                    "manager_id",
                    m.as_str(),
                    "unknown manager: no such rep_id",
                );
                seen.pending_managers.push((m.clone(), problem));
            }
            if self.territory_known(known, r.territory_id.as_ref(), row, problems) {
                valid.push((r, row));
            }
        }
        let ids: Vec<(RepId, Option<RepId>)> = known
            .reps
            .iter()
            .filter_map(|(id, m)| RepId::parse(id).ok().map(|id| (id, m.clone())))
            .collect();
        if let Err(cycles) = OrgChart::build(ids.iter().map(|(r, m)| (r, m.as_ref()))) {
            for HierarchyError::Cycle(path) in cycles {
                let names: Vec<&str> = path.iter().map(RepId::as_str).collect();
                // Point at the first person of the cycle this file sets.
                let at = path
                    .iter()
                    .find_map(|id| row_of.get(id.as_str()).map(|row| (id, *row)));
                let Some((id, row)) = at else { continue };
                let manager = known.reps.get(id.as_str()).cloned().flatten();
                problems.push(self.row_problem(
                    row,
                    "manager_id",
                    manager.as_ref().map_or("", RepId::as_str),
                    format!("manager cycle: {}", names.join(" -> ")),
                ));
            }
        }
        valid
    }

    /// Deals: ids unique, reps known.
    fn check_opportunities(
        &self,
        rows: Vec<(crate::domain::Opportunity, usize)>,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Vec<(crate::domain::Opportunity, usize)> {
        let mut kept = Vec::with_capacity(rows.len());
        for (o, row) in rows {
            let id = o.opportunity_id.as_str();
            let id_key = key(&[id]);
            if !seen.keys.insert(id_key) {
                problems.push(self.dup(row, "opportunity_id", id));
                continue;
            }
            if !known.reps.contains_key(o.rep_id.as_str()) {
                problems.push(self.row_problem(row, "rep_id", o.rep_id.as_str(), "unknown rep"));
                continue;
            }
            known.new_opportunities.insert(id_key);
            kept.push((o, row));
        }
        kept
    }

    /// Snapshots: one per deal and day (or the latest of a day, when the
    /// mapping says so), deals known.
    fn check_history(
        &self,
        rows: Vec<(crate::domain::HistoryRecord, chrono::NaiveDateTime, usize)>,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Vec<(crate::domain::HistoryRecord, chrono::NaiveDateTime, usize)> {
        let same_day_last = self.mapping.same_day == mapping::SameDay::Last;
        // One record per deal and day. In "last" mode the latest
        // moment (then the latest row) wins, within a chunk and
        // across chunks (a later chunk's row overwrites through the
        // upsert); otherwise a second record is a problem.
        let mut keep = vec![true; rows.len()];
        let mut index_in_chunk: HashMap<Key, usize> = HashMap::new();
        let mut day_keys = Vec::with_capacity(rows.len());
        for (i, (h, moment, row)) in rows.iter().enumerate() {
            let id_key = key(&[h.opportunity_id.as_str()]);
            let day_key = with_day(id_key, h.as_of);
            day_keys.push(id_key);
            if same_day_last {
                match seen.moments.get(&day_key) {
                    Some(earlier) if *earlier > *moment => keep[i] = false,
                    _ => {
                        seen.moments.insert(day_key, *moment);
                        if let Some(j) = index_in_chunk.insert(day_key, i) {
                            keep[j] = false;
                        }
                    }
                }
            } else if !seen.keys.insert(day_key) {
                problems.push(self.row_problem(
                    *row,
                    "as_of",
                    &h.as_of.to_string(),
                    "duplicate snapshot: an earlier row has this deal and day",
                ));
                keep[i] = false;
            }
        }
        let mut kept = Vec::with_capacity(rows.len());
        for (((h, moment, row), keep), id_key) in rows.into_iter().zip(keep).zip(day_keys) {
            if !keep {
                continue;
            }
            if !known.has_opportunity_key(id_key) {
                let id = h.opportunity_id.as_str();
                problems.push(self.row_problem(row, "opportunity_id", id, "unknown opportunity"));
                continue;
            }
            kept.push((h, moment, row));
        }
        kept
    }

    /// Bookings: ids unique, rep, deal and territory known.
    fn check_bookings(
        &self,
        rows: Vec<(crate::domain::Booking, usize)>,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Vec<(crate::domain::Booking, usize)> {
        let mut kept = Vec::with_capacity(rows.len());
        for (b, row) in rows {
            let id = b.booking_id.as_str();
            if !seen.keys.insert(key(&[id])) {
                problems.push(self.dup(row, "booking_id", id));
                continue;
            }
            let rep = b.rep_id.as_str();
            let found = [
                self.refers(
                    known.reps.contains_key(rep),
                    row,
                    "rep_id",
                    rep,
                    "unknown rep",
                    problems,
                ),
                b.opportunity_id.as_ref().is_none_or(|o| {
                    let known = known.has_opportunity(o.as_str());
                    self.refers(
                        known,
                        row,
                        "opportunity_id",
                        o.as_str(),
                        "unknown opportunity",
                        problems,
                    )
                }),
                self.territory_known(known, b.territory_id.as_ref(), row, problems),
            ];
            if found.iter().all(|f| *f) {
                kept.push((b, row));
            }
        }
        kept
    }

    /// Quotas: one per rep and period, reps known.
    fn check_quotas(
        &self,
        rows: Vec<(crate::domain::Quota, usize)>,
        known: &mut Known,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> Vec<(crate::domain::Quota, usize)> {
        let mut kept = Vec::with_capacity(rows.len());
        for (q, row) in rows {
            if !seen
                .keys
                .insert(key(&[q.rep_id.as_str(), &q.period.to_string()]))
            {
                problems.push(self.row_problem(
                    row,
                    "period",
                    &q.period.to_string(),
                    "duplicate quota for this rep and period",
                ));
                continue;
            }
            if !known.reps.contains_key(q.rep_id.as_str()) {
                problems.push(self.row_problem(row, "rep_id", q.rep_id.as_str(), "unknown rep"));
                continue;
            }
            kept.push((q, row));
        }
        kept
    }

    /// `known` passed through; when false, a problem saying `message` about
    /// the reference in `column`.
    fn refers(
        &self,
        known: bool,
        row: usize,
        column: &str,
        value: &str,
        message: &str,
        problems: &mut Problems,
    ) -> bool {
        if !known {
            problems.push(self.row_problem(row, column, value, message));
        }
        known
    }

    /// Whether a row's territory, when it names one, exists.
    fn territory_known(
        &self,
        known: &Known,
        territory: Option<&crate::domain::TerritoryId>,
        row: usize,
        problems: &mut Problems,
    ) -> bool {
        territory.is_none_or(|t| {
            let found = known.territories.contains(t.as_str());
            self.refers(
                found,
                row,
                "territory_id",
                t.as_str(),
                "unknown territory",
                problems,
            )
        })
    }

    /// Whether a row is the first with its id in the call (to be kept). A
    /// later row is a duplicate, unless the mapping merges repeated rows and
    /// it agrees with the first (then it is passed over quietly).
    fn first_of_id<T: std::fmt::Debug>(
        &self,
        record: &T,
        id: &str,
        key_field: &str,
        row: usize,
        seen: &mut Seen,
        problems: &mut Problems,
    ) -> bool {
        let id_key = key(&[id]);
        if self.mapping.repeated == mapping::Repeated::Merge {
            let content = content_key(record);
            match seen.merged.get(&id_key) {
                None => {
                    seen.merged.insert(id_key, (content, row));
                    seen.keys.insert(id_key);
                    true
                }
                Some((first, _)) if *first == content => false,
                Some((_, first_row)) => {
                    problems.push(self.row_problem(
                        row,
                        key_field,
                        id,
                        format!("repeated {key_field} disagrees with its first row ({first_row})"),
                    ));
                    false
                }
            }
        } else if seen.keys.insert(id_key) {
            true
        } else {
            problems.push(self.dup(row, key_field, id));
            false
        }
    }

    fn dup(&self, row: usize, key_field: &str, key: &str) -> Problem {
        self.row_problem(
            row,
            key_field,
            key,
            format!("duplicate {key_field}: it appears earlier in this call"),
        )
    }
}
