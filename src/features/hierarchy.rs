//! The roll-up structure: every entity a forecast is reported for (rep,
//! manager, territory, region, company) and, for each rep, the entities
//! their bookings count towards. Summing rep values over this map is how
//! every level is computed, so levels add up by construction.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::SalesData;

/// A level of the hierarchy.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One person's own bookings.
    Rep,
    /// Everyone under a manager or leader, transitively, and their own.
    Manager,
    /// Reps assigned to a territory.
    Territory,
    /// Territories of a region.
    Region,
    /// Everyone.
    Company,
}

impl Level {
    /// Every level, finest first.
    pub const ALL: [Level; 5] = [
        Level::Rep,
        Level::Manager,
        Level::Territory,
        Level::Region,
        Level::Company,
    ];

    /// The lower-case name used on the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Rep => "rep",
            Level::Manager => "manager",
            Level::Territory => "territory",
            Level::Region => "region",
            Level::Company => "company",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        crate::domain::by_name(&Level::ALL, s, "level", Level::as_str)
    }
}

/// One entity of the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Its level.
    pub level: Level,
    /// Its id: a rep id, territory id, region name, or `company`.
    pub id: String,
}

/// Entities and which reps count towards each.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Every entity; reps first, in [`SalesData::reps`] order, so entity
    /// `i < reps` is rep `i`.
    pub entities: Vec<Entity>,
    /// For each rep, the entities (indices) their bookings count towards,
    /// including their own rep entity.
    pub rep_to_entities: Vec<Vec<u32>>,
    /// For each rep, whether anyone reports to them.
    pub has_reports: Vec<bool>,
}

impl Hierarchy {
    /// Builds the roll-up of the people in `data` as reps.csv has them
    /// today. Unknown managers or a cycle cannot occur here (ingest
    /// refuses them); a chain is still cut at its length, as a guard.
    pub fn build(data: &SalesData) -> Hierarchy {
        Self::build_with(data, None)
    }

    /// The roll-up as the organisation stood on `day`: each person under
    /// the manager and in the territory the organisation's history gives
    /// them that day (reps.csv where it says nothing). Without a history
    /// it is [`Hierarchy::build`].
    pub fn build_on(data: &SalesData, day: chrono::NaiveDate) -> Hierarchy {
        Self::build_with(data, (!data.org.is_empty()).then_some(day))
    }

    fn build_with(data: &SalesData, day: Option<chrono::NaiveDate>) -> Hierarchy {
        let n = data.reps.len();
        let mut entities: Vec<Entity> = data
            .reps
            .iter()
            .map(|r| Entity {
                level: Level::Rep,
                id: r.rep_id.to_string(),
            })
            .collect();
        let index = data.rep_positions();
        let listed = |i: usize| {
            data.reps[i]
                .manager_id
                .as_ref()
                .and_then(|m| index.get(m.as_str()).copied())
        };
        let manager_of = |i: usize| match day {
            None => listed(i),
            Some(day) => data
                .manager_on(i, day, listed(i).map(|m| m as u32))
                .map(|m| m as usize),
        };
        let territory_of = |i: usize| match day {
            None => data.reps[i].territory_id.as_ref().map(|t| t.as_str()),
            Some(day) => data.territory_on(i, day),
        };
        let mut lookup: HashMap<(Level, String), u32> = HashMap::new();
        let mut entity_of = |level: Level, id: &str, entities: &mut Vec<Entity>| -> u32 {
            *lookup.entry((level, id.to_owned())).or_insert_with(|| {
                entities.push(Entity {
                    level,
                    id: id.to_owned(),
                });
                (entities.len() - 1) as u32
            })
        };
        // Managers: anyone who is someone's manager.
        let is_manager: Vec<bool> = {
            let mut v = vec![false; n];
            for i in 0..n {
                if let Some(m) = manager_of(i) {
                    v[m] = true;
                }
            }
            v
        };
        let mut rep_to_entities = Vec::with_capacity(n);
        for i in 0..n {
            let mut mine = vec![i as u32];
            let mut current = Some(i);
            let mut steps = 0;
            while let Some(c) = current {
                if is_manager[c] {
                    mine.push(entity_of(
                        Level::Manager,
                        data.reps[c].rep_id.as_str(),
                        &mut entities,
                    ));
                }
                current = manager_of(c);
                steps += 1;
                if steps > n {
                    break;
                }
            }
            if let Some(t) = territory_of(i) {
                mine.push(entity_of(Level::Territory, t, &mut entities));
                if let Some(region) = data.regions.get(t) {
                    mine.push(entity_of(Level::Region, region, &mut entities));
                }
            }
            mine.push(entity_of(Level::Company, "company", &mut entities));
            rep_to_entities.push(mine);
        }
        Hierarchy {
            entities,
            rep_to_entities,
            has_reports: is_manager,
        }
    }

    /// Number of rep entities (the first entities).
    pub fn reps(&self) -> usize {
        self.rep_to_entities.len()
    }

    /// Rolls quotas (cents) up: each entity gets the quotas of the people
    /// under it who have no reports. The quota row of someone with reports
    /// is their team's number, counted on their own line only: adding it
    /// to the levels above would count the team twice.
    pub fn roll_quotas(&self, per_rep: &[i64]) -> Vec<i64> {
        let mut out = vec![0i64; self.entities.len()];
        for (rep, targets) in self.rep_to_entities.iter().enumerate() {
            let q = per_rep[rep];
            if q == 0 {
                continue;
            }
            out[rep] += q;
            if !self.has_reports[rep] {
                for &e in &targets[1..] {
                    out[e as usize] += q;
                }
            }
        }
        out
    }

    /// Sums a per-rep value into every entity.
    pub fn roll_up(&self, per_rep: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.entities.len()];
        for (rep, targets) in self.rep_to_entities.iter().enumerate() {
            let v = per_rep[rep];
            if v != 0.0 {
                for &e in targets {
                    out[e as usize] += v;
                }
            }
        }
        out
    }
}

/// A person's label: their name, once; the id follows only when another
/// person has the same name.
pub fn person_label(data: &SalesData, id: &str) -> String {
    let Some(r) = data.reps.iter().find(|r| r.rep_id.as_str() == id) else {
        return id.to_owned();
    };
    let shared = data
        .reps
        .iter()
        .any(|o| o.name == r.name && o.rep_id != r.rep_id);
    if shared {
        format!("{} ({id})", r.name)
    } else {
        r.name.clone()
    }
}

/// An entity's label in titles.
pub fn entity_label(data: &SalesData, level: Level, id: &str) -> String {
    match level {
        Level::Rep => person_label(data, id),
        Level::Manager => format!("team of {}", person_label(data, id)),
        Level::Territory => format!("territory {id}"),
        Level::Region => format!("region {id}"),
        Level::Company => "the company".to_owned(),
    }
}
