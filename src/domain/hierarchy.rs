//! The reporting line: who manages whom, checked for cycles.

use std::collections::{HashMap, HashSet};

use super::{Rep, RepId};

/// Why a set of reps does not form a valid organisation chart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// Following `manager_id` from a rep comes back to it.
    #[error("manager cycle: {}", .0.iter().map(RepId::as_str).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<RepId>),
}

/// The organisation chart: each person's manager and direct reports.
#[derive(Debug, Clone, Default)]
pub struct OrgChart {
    manager_of: HashMap<RepId, RepId>,
    reports_of: HashMap<RepId, Vec<RepId>>,
}

impl OrgChart {
    /// Builds the chart from `(rep, manager)` pairs, refusing cycles.
    ///
    /// Every cycle is reported once, as the path that closes it (`a -> b -> a`).
    /// Managers that are not themselves in the list are allowed here (the
    /// ingest checks references separately).
    pub fn build<'a>(
        links: impl IntoIterator<Item = (&'a RepId, Option<&'a RepId>)>,
    ) -> Result<OrgChart, Vec<HierarchyError>> {
        let mut manager_of = HashMap::new();
        let mut reports_of: HashMap<RepId, Vec<RepId>> = HashMap::new();
        for (rep, manager) in links {
            if let Some(manager) = manager {
                manager_of.insert(rep.clone(), manager.clone());
                reports_of
                    .entry(manager.clone())
                    .or_default()
                    .push(rep.clone());
            }
        }
        for reports in reports_of.values_mut() {
            reports.sort();
        }
        let chart = OrgChart {
            manager_of,
            reports_of,
        };
        let cycles = chart.cycles();
        if cycles.is_empty() {
            Ok(chart)
        } else {
            Err(cycles)
        }
    }

    /// Builds the chart of a list of reps.
    pub fn from_reps(reps: &[Rep]) -> Result<OrgChart, Vec<HierarchyError>> {
        Self::build(reps.iter().map(|r| (&r.rep_id, r.manager_id.as_ref())))
    }

    fn cycles(&self) -> Vec<HierarchyError> {
        // Walk up from every rep; colour nodes done once their walk ended at
        // the top, so the whole check is linear in the number of reps.
        let mut done: HashSet<&RepId> = HashSet::new();
        let mut found = Vec::new();
        let mut starts: Vec<&RepId> = self.manager_of.keys().collect();
        starts.sort();
        for start in starts {
            let mut path: Vec<&RepId> = Vec::new();
            let mut on_path: HashMap<&RepId, usize> = HashMap::new();
            let mut current = start;
            loop {
                if done.contains(current) {
                    break;
                }
                if let Some(&at) = on_path.get(current) {
                    let mut cycle: Vec<RepId> = path[at..].iter().map(|r| (*r).clone()).collect();
                    cycle.push(current.clone());
                    found.push(HierarchyError::Cycle(cycle));
                    break;
                }
                on_path.insert(current, path.len());
                path.push(current);
                match self.manager_of.get(current) {
                    Some(manager) => current = manager,
                    None => break,
                }
            }
            done.extend(path);
        }
        found
    }

    /// The manager of a rep, if any.
    pub fn manager_of(&self, rep: &RepId) -> Option<&RepId> {
        self.manager_of.get(rep)
    }

    /// Direct reports of a manager, sorted by id.
    pub fn direct_reports(&self, manager: &RepId) -> &[RepId] {
        self.reports_of.get(manager).map_or(&[], Vec::as_slice)
    }

    /// Everyone under a manager, transitively (not the manager), sorted by id.
    pub fn all_reports(&self, manager: &RepId) -> Vec<RepId> {
        let mut out = Vec::new();
        let mut stack = vec![manager];
        while let Some(next) = stack.pop() {
            for report in self.direct_reports(next) {
                out.push(report.clone());
                stack.push(report);
            }
        }
        out.sort();
        out
    }

    /// Whether `rep` is `manager` or sits under them.
    pub fn is_under(&self, rep: &RepId, manager: &RepId) -> bool {
        let mut current = rep;
        loop {
            if current == manager {
                return true;
            }
            match self.manager_of.get(current) {
                Some(next) => current = next,
                None => return false,
            }
        }
    }

    /// Whether anyone reports to this person.
    pub fn is_manager(&self, rep: &RepId) -> bool {
        self.reports_of.contains_key(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> RepId {
        RepId::parse(s).unwrap()
    }

    #[test]
    fn walks_the_tree() {
        let (cro, m1, m2, r1, r2, r3) =
            (id("cro"), id("m1"), id("m2"), id("r1"), id("r2"), id("r3"));
        let chart = OrgChart::build([
            (&cro, None),
            (&m1, Some(&cro)),
            (&m2, Some(&cro)),
            (&r1, Some(&m1)),
            (&r2, Some(&m1)),
            (&r3, Some(&m2)),
        ])
        .unwrap();
        assert_eq!(chart.all_reports(&m1), vec![r1.clone(), r2.clone()]);
        assert_eq!(chart.all_reports(&cro).len(), 5);
        assert!(chart.is_under(&r3, &cro));
        assert!(!chart.is_under(&r3, &m1));
        assert!(chart.is_manager(&m2));
        assert!(!chart.is_manager(&r2));
    }

    #[test]
    fn finds_each_cycle_once() {
        let (a, b, c, d) = (id("a"), id("b"), id("c"), id("d"));
        let err = OrgChart::build([
            (&a, Some(&b)),
            (&b, Some(&c)),
            (&c, Some(&a)),
            (&d, Some(&a)),
        ])
        .unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].to_string(), "manager cycle: a -> b -> c -> a");
        let selfish = OrgChart::build([(&a, Some(&a))]).unwrap_err();
        assert_eq!(selfish[0].to_string(), "manager cycle: a -> a");
    }
}
