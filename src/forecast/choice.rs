//! Model choice per rep: each rep (each series, in bookings-only mode) is
//! forecast by the mean of the few models that forecast *it* best in the
//! walk-forward backtest, its own errors shrunk towards the whole team's
//! when it has few of them.
//!
//! The score of model `m` for rep `r` is
//! `(sum of r's scaled absolute errors + K x team mean) / (r's count + K)`:
//! a rep with no evaluations gets the team's ranking, one with many gets
//! its own. Inside the backtest the choice at an origin reads only errors
//! whose month had ended by then, so what is scored is what could have
//! been published.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ModelKind;

/// The models a rep's choice is made from.
pub const MEMBERS: [ModelKind; 8] = [
    ModelKind::Ets,
    ModelKind::Theta,
    ModelKind::TeamSeasonal,
    ModelKind::Global,
    ModelKind::Combination,
    ModelKind::Naive,
    ModelKind::SeasonalNaive,
    ModelKind::TrailingMean,
];

/// Evaluations' worth of weight the team's errors carry in a rep's score.
pub const SHRINK: f64 = 24.0;

/// How many of the best-scored models are averaged.
pub const TOP: usize = 3;

fn member_index(m: ModelKind) -> Option<usize> {
    MEMBERS.iter().position(|x| *x == m)
}

/// Scaled absolute backtest errors per rep and member.
#[derive(Debug, Clone)]
pub struct ChoiceErrors {
    sums: Vec<[f64; MEMBERS.len()]>,
    counts: Vec<[u32; MEMBERS.len()]>,
}

impl ChoiceErrors {
    /// No errors yet, for `reps` reps.
    pub fn new(reps: usize) -> ChoiceErrors {
        ChoiceErrors {
            sums: vec![[0.0; MEMBERS.len()]; reps],
            counts: vec![[0; MEMBERS.len()]; reps],
        }
    }

    /// Records one evaluation of `model` for `rep` (a model that is not a
    /// member is ignored).
    pub fn add(&mut self, rep: usize, model: ModelKind, scaled_abs_error: f64) {
        if let Some(i) = member_index(model)
            && scaled_abs_error.is_finite()
        {
            self.sums[rep][i] += scaled_abs_error;
            self.counts[rep][i] += 1;
        }
    }

    /// The team's mean error per member (`None` where never evaluated).
    fn team_means(&self) -> [Option<f64>; MEMBERS.len()] {
        let mut out = [None; MEMBERS.len()];
        for (i, slot) in out.iter_mut().enumerate() {
            let n: u64 = self.counts.iter().map(|c| u64::from(c[i])).sum();
            if n > 0 {
                let s: f64 = self.sums.iter().map(|v| v[i]).sum();
                *slot = Some(s / n as f64);
            }
        }
        out
    }

    /// The choice for every rep.
    pub fn choose(&self) -> Choices {
        let team = self.team_means();
        // Only members evaluated as often as the most-evaluated one take
        // part, so a model absent at the hard origins is not favoured.
        let most: u64 = (0..MEMBERS.len())
            .map(|i| self.counts.iter().map(|c| u64::from(c[i])).sum::<u64>())
            .max()
            .unwrap_or(0);
        let eligible: Vec<usize> = (0..MEMBERS.len())
            .filter(|&i| {
                most > 0 && self.counts.iter().map(|c| u64::from(c[i])).sum::<u64>() == most
            })
            .collect();
        if eligible.is_empty() {
            return Choices::default();
        }
        let pick = |score: &dyn Fn(usize) -> f64| -> Vec<ModelKind> {
            let mut ranked = eligible.clone();
            ranked.sort_by(|&a, &b| score(a).total_cmp(&score(b)));
            ranked.truncate(TOP);
            ranked.sort_unstable();
            ranked.into_iter().map(|i| MEMBERS[i]).collect()
        };
        let team_choice = pick(&|i| team[i].unwrap_or(f64::INFINITY));
        let reps = self
            .sums
            .iter()
            .zip(&self.counts)
            .map(|(sums, counts)| {
                if counts.iter().all(|c| *c == 0) {
                    return team_choice.clone();
                }
                pick(&|i| {
                    let t = team[i].unwrap_or(f64::INFINITY);
                    (sums[i] + SHRINK * t) / (f64::from(counts[i]) + SHRINK)
                })
            })
            .collect();
        Choices {
            team: team_choice,
            reps,
        }
    }
}

/// Each rep's members (indexed like the data's reps), and the team's for
/// reps without evaluations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choices {
    /// The team's choice.
    pub team: Vec<ModelKind>,
    /// Per rep.
    pub reps: Vec<Vec<ModelKind>>,
}

impl Choices {
    /// The members averaged for rep `r` (the combination when nothing
    /// has been evaluated yet).
    pub fn of(&self, r: usize) -> &[ModelKind] {
        match self.reps.get(r).filter(|m| !m.is_empty()) {
            Some(m) => m,
            None if !self.team.is_empty() => &self.team,
            None => &[ModelKind::Combination],
        }
    }

    /// Every model some rep's choice needs.
    pub fn models(&self) -> Vec<ModelKind> {
        let mut out: Vec<ModelKind> = self
            .reps
            .iter()
            .flatten()
            .chain(&self.team)
            .copied()
            .collect();
        out.push(ModelKind::Combination);
        out.sort();
        out.dedup();
        out
    }

    /// The form a trained model keeps: by rep id.
    pub fn to_stored(&self, rep_ids: &[&str]) -> StoredChoices {
        StoredChoices {
            team: self.team.clone(),
            reps: rep_ids
                .iter()
                .zip(&self.reps)
                .filter(|(_, m)| !m.is_empty())
                .map(|(id, m)| ((*id).to_owned(), m.clone()))
                .collect(),
        }
    }
}

/// Per-rep choices as a trained model stores them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoredChoices {
    /// For reps not listed (hired after training).
    pub team: Vec<ModelKind>,
    /// Rep id to the models averaged.
    pub reps: BTreeMap<String, Vec<ModelKind>>,
}

impl StoredChoices {
    /// The choices for the reps `rep_ids`, in that order.
    pub fn for_reps(&self, rep_ids: &[&str]) -> Choices {
        Choices {
            team: self.team.clone(),
            reps: rep_ids
                .iter()
                .map(|id| self.reps.get(*id).cloned().unwrap_or_default())
                .collect(),
        }
    }
}

/// The name of a rep's forecast under the per-rep choice, e.g.
/// `per_rep(ets+theta)`.
pub fn describe(members: &[ModelKind]) -> String {
    let names: Vec<&str> = members.iter().map(|m| m.as_str()).collect();
    format!("{}({})", ModelKind::PerRep.as_str(), names.join("+"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reps_of_different_shape_get_different_models_and_thin_reps_the_team() {
        let mut e = ChoiceErrors::new(3);
        // Rep 0: seasonal naive is right every time; rep 1: trailing
        // mean is. Both have many evaluations; rep 2 has none.
        for _ in 0..200 {
            for (i, m) in MEMBERS.iter().enumerate() {
                let base = 1.0 + i as f64 * 0.01;
                let r0 = if *m == ModelKind::SeasonalNaive {
                    0.1
                } else {
                    base
                };
                let r1 = if *m == ModelKind::TrailingMean {
                    0.1
                } else {
                    base
                };
                e.add(0, *m, r0);
                e.add(1, *m, r1);
            }
        }
        let c = e.choose();
        assert!(c.of(0).contains(&ModelKind::SeasonalNaive), "{:?}", c.of(0));
        assert!(c.of(1).contains(&ModelKind::TrailingMean), "{:?}", c.of(1));
        assert_ne!(c.of(0), c.of(1));
        assert_eq!(c.of(2), c.team.as_slice());
        assert_eq!(c.of(0).len(), TOP);
    }

    #[test]
    fn one_lucky_evaluation_does_not_outweigh_the_team() {
        let mut e = ChoiceErrors::new(2);
        for _ in 0..100 {
            for (i, m) in MEMBERS.iter().enumerate() {
                e.add(0, *m, 1.0 + i as f64);
            }
        }
        // Rep 1 has one evaluation where the team's worst model was best.
        for (i, m) in MEMBERS.iter().enumerate() {
            let v = if i == MEMBERS.len() - 1 { 0.0 } else { 1.0 };
            e.add(1, *m, v);
        }
        let c = e.choose();
        assert_eq!(c.of(1), c.team.as_slice());
        // Stored by id and read back.
        let stored = c.to_stored(&["a", "b"]);
        assert_eq!(stored.for_reps(&["b", "a", "new"]).of(2), c.team.as_slice());
        assert_eq!(stored.for_reps(&["b", "a"]).of(1), c.of(0));
    }
}
