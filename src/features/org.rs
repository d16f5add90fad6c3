//! The organisation as it was on a day: each person's manager and
//! territory from `org_history` (the latest value their rows name on or
//! before the day), else the current one from reps.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::store::OrgMove;

/// `reps` as the organisation stood on `day`: each person's manager and
/// territory the latest `moves` give them on or before it, else the ones
/// they have (reps.csv's, today's).
pub fn reps_on(
    mut reps: Vec<crate::domain::Rep>,
    moves: &[OrgMove],
    day: NaiveDate,
) -> Vec<crate::domain::Rep> {
    if moves.is_empty() {
        return reps;
    }
    let index: HashMap<String, usize> = reps
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rep_id.as_str().to_owned(), i))
        .collect();
    // Per person: the latest (day, manager) and (day, territory) so far.
    type Latest<'m> = Option<(NaiveDate, &'m str)>;
    let mut latest: Vec<(Latest, Latest)> = vec![(None, None); reps.len()];
    for m in moves.iter().filter(|m| m.from <= day) {
        let Some(&i) = index.get(&m.rep_id) else {
            continue;
        };
        let later = |slot: &Latest| slot.is_none_or(|(d, _)| d <= m.from);
        if let Some(id) = m.manager_id.as_deref().filter(|_| later(&latest[i].0)) {
            latest[i].0 = Some((m.from, id));
        }
        if let Some(id) = m.territory_id.as_deref().filter(|_| later(&latest[i].1)) {
            latest[i].1 = Some((m.from, id));
        }
    }
    for (r, (manager, territory)) in reps.iter_mut().zip(latest) {
        if let Some(id) = manager.and_then(|(_, id)| crate::domain::RepId::parse(id).ok()) {
            r.manager_id = Some(id);
        }
        if let Some(id) = territory.and_then(|(_, id)| crate::domain::TerritoryId::parse(id).ok()) {
            r.territory_id = Some(id);
        }
    }
    reps
}

/// One dated change of a person's place (indices into
/// [`super::SalesData::reps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    from: NaiveDate,
    manager: Option<u32>,
    territory: Option<String>,
}

/// Every person's dated changes; empty when the data has no history.
#[derive(Debug, Clone, Default)]
pub struct OrgHistory {
    /// Per person (empty for most): their changes by day.
    steps: Vec<Vec<Step>>,
}

impl OrgHistory {
    /// Indexes stored changes by person; ids not in `rep_index` (which
    /// ingest refuses) are left out.
    pub fn new(moves: Vec<OrgMove>, rep_index: &HashMap<&str, u32>, people: usize) -> OrgHistory {
        if moves.is_empty() {
            return OrgHistory::default();
        }
        let mut steps: Vec<Vec<Step>> = vec![Vec::new(); people];
        for m in moves {
            let Some(&rep) = rep_index.get(m.rep_id.as_str()) else {
                continue;
            };
            steps[rep as usize].push(Step {
                from: m.from,
                manager: m
                    .manager_id
                    .as_deref()
                    .and_then(|id| rep_index.get(id).copied()),
                territory: m.territory_id,
            });
        }
        for list in &mut steps {
            list.sort_by_key(|s| s.from);
        }
        OrgHistory { steps }
    }

    /// Whether any change is known.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether person `rep` has dated changes.
    pub fn moved(&self, rep: usize) -> bool {
        self.steps.get(rep).is_some_and(|s| !s.is_empty())
    }

    /// The manager the history gives `rep` on `day` (`None`: the history
    /// says nothing then, so the current manager holds).
    pub fn manager_on(&self, rep: usize, day: NaiveDate) -> Option<u32> {
        self.latest(rep, day, |s| s.manager)
    }

    /// The territory the history gives `rep` on `day` (`None`: the current
    /// one holds).
    pub fn territory_on(&self, rep: usize, day: NaiveDate) -> Option<&str> {
        let list = self.steps.get(rep)?;
        let known = list.partition_point(|s| s.from <= day);
        list[..known]
            .iter()
            .rev()
            .find_map(|s| s.territory.as_deref())
    }

    /// Every territory `rep` ever covered by the history.
    pub fn territories_of(&self, rep: usize) -> impl Iterator<Item = &str> {
        self.steps
            .get(rep)
            .into_iter()
            .flatten()
            .filter_map(|s| s.territory.as_deref())
    }

    fn latest(&self, rep: usize, day: NaiveDate, f: impl Fn(&Step) -> Option<u32>) -> Option<u32> {
        let list = self.steps.get(rep)?;
        let known = list.partition_point(|s| s.from <= day);
        list[..known].iter().rev().find_map(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_latest_named_value_on_or_before_the_day_holds() {
        let index: HashMap<&str, u32> = [("R1", 0), ("M1", 1), ("M2", 2)].into();
        let moves = vec![
            OrgMove {
                rep_id: "R1".into(),
                from: day("2025-03-01"),
                manager_id: Some("M2".into()),
                territory_id: None,
            },
            OrgMove {
                rep_id: "R1".into(),
                from: day("2024-01-01"),
                manager_id: Some("M1".into()),
                territory_id: Some("T1".into()),
            },
        ];
        let org = OrgHistory::new(moves, &index, 3);
        assert!(org.moved(0) && !org.moved(1));
        assert_eq!(org.manager_on(0, day("2023-12-31")), None);
        assert_eq!(org.manager_on(0, day("2025-02-28")), Some(1));
        assert_eq!(org.manager_on(0, day("2025-03-01")), Some(2));
        // The move named no territory: T1 still holds.
        assert_eq!(org.territory_on(0, day("2025-06-01")), Some("T1"));
        assert_eq!(org.territory_on(0, day("2023-06-01")), None);
        assert_eq!(org.territories_of(0).collect::<Vec<_>>(), ["T1"]);
    }
}
