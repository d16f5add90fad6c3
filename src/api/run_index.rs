//! Stored forecast runs held in memory by the server, indexed so a read of
//! one level or entity does not scan the whole run.

use std::collections::HashMap;

use crate::features::Level;
use crate::forecast::ForecastRun;

/// A stored forecast run in memory, indexed by level and by entity id
/// (runs never change once stored).
pub struct RunIndex {
    /// The run with every line, sorted by level, entity and period.
    pub run: ForecastRun,
    by_level: HashMap<Level, Vec<usize>>,
    by_id: HashMap<String, Vec<usize>>,
}

impl RunIndex {
    /// Indexes a run's lines.
    pub fn new(run: ForecastRun) -> RunIndex {
        let mut by_level: HashMap<Level, Vec<usize>> = HashMap::new();
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, row) in run.forecasts.iter().enumerate() {
            by_level.entry(row.level).or_default().push(i);
            by_id.entry(row.id.clone()).or_default().push(i);
        }
        RunIndex {
            run,
            by_level,
            by_id,
        }
    }

    /// The lines of one level and/or entity, in the run's order.
    pub fn select(
        &self,
        level: Option<Level>,
        id: Option<&str>,
    ) -> Vec<&crate::forecast::ForecastRow> {
        let rows = &self.run.forecasts;
        let pick = |ix: Option<&Vec<usize>>| -> Vec<usize> { ix.cloned().unwrap_or_default() };
        let chosen: Vec<usize> = match (level, id) {
            (_, Some(id)) => pick(self.by_id.get(id))
                .into_iter()
                .filter(|&i| level.is_none_or(|l| rows[i].level == l))
                .collect(),
            (Some(l), None) => pick(self.by_level.get(&l)),
            (None, None) => (0..rows.len()).collect(),
        };
        chosen.into_iter().map(|i| &rows[i]).collect()
    }
}
