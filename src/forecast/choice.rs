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

/// Evaluations' worth of weight the team's errors carry in a rep's
/// spread: more than in its choice, since a rep's errors at the horizons
/// of one origin move together.
pub const SPREAD_SHRINK: f64 = 96.0;

/// Bounds of a rep's spread: its chosen models' errors over the team's.
pub const SPREAD_RANGE: (f64, f64) = (0.25, 4.0);

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
        let mut spread = Vec::with_capacity(self.sums.len());
        let reps = self
            .sums
            .iter()
            .zip(&self.counts)
            .map(|(sums, counts)| {
                if counts.iter().all(|c| *c == 0) {
                    spread.push(1.0);
                    return team_choice.clone();
                }
                // The rep's mean error for member `i`, with `k`
                // evaluations' worth of the team's mean added.
                let shrunk = |i: usize, k: f64| {
                    let t = team[i].unwrap_or(f64::INFINITY);
                    (sums[i] + k * t) / (f64::from(counts[i]) + k)
                };
                let chosen = pick(&|i| shrunk(i, SHRINK));
                // How far this rep's chosen models miss against how far
                // they miss the team's reps: its residual draws are
                // widened or narrowed by that ratio.
                let idx: Vec<usize> = chosen.iter().filter_map(|m| member_index(*m)).collect();
                let own: f64 = idx.iter().map(|&i| shrunk(i, SPREAD_SHRINK)).sum();
                let all: f64 = idx.iter().filter_map(|&i| team[i]).sum();
                spread.push(if own.is_finite() && all > 0.0 {
                    (own / all).clamp(SPREAD_RANGE.0, SPREAD_RANGE.1)
                } else {
                    1.0
                });
                chosen
            })
            .collect();
        Choices {
            team: team_choice,
            reps,
            spread,
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
    /// Per rep: its chosen models' backtest errors (shrunk towards the
    /// team's) over the team's errors of the same models, within
    /// [`SPREAD_RANGE`]; the rep's own residual draws are multiplied by
    /// it. Empty or short: 1.
    pub spread: Vec<f64>,
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

    /// Rep `r`'s spread (1 when unknown).
    pub fn spread_of(&self, r: usize) -> f64 {
        self.spread.get(r).copied().unwrap_or(1.0)
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
            spread: rep_ids
                .iter()
                .zip(&self.spread)
                .filter(|(_, s)| **s != 1.0)
                .map(|(id, s)| ((*id).to_owned(), *s))
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
    /// Rep id to its spread, where not 1.
    #[serde(default)]
    pub spread: BTreeMap<String, f64>,
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
            spread: rep_ids
                .iter()
                .map(|id| self.spread.get(*id).copied().unwrap_or(1.0))
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
    fn a_rep_whose_forecasts_miss_more_draws_wider_residuals() {
        let mut e = ChoiceErrors::new(4);
        for _ in 0..300 {
            for m in MEMBERS {
                // Rep 0 misses by 0.2 of its scale, rep 1 by 1.8; the
                // team's mean error is 1.
                e.add(0, m, 0.2);
                e.add(1, m, 1.8);
            }
        }
        // Rep 2 has four evaluations, all far off.
        for _ in 0..4 {
            for m in MEMBERS {
                e.add(2, m, 5.0);
            }
        }
        let c = e.choose();
        let (calm, noisy, thin) = (c.spread_of(0), c.spread_of(1), c.spread_of(2));
        // (300 x 0.2 + 96 x t) / (396 t) with t a shade above 1 (rep 2's
        // errors count in the team's mean).
        assert!(calm > 0.35 && calm < 0.45, "{calm}");
        assert!(noisy > 1.55 && noisy < 1.7, "{noisy}");
        // Four evaluations move the spread a little, not to 5.
        assert!(thin > 1.0 && thin < 1.25, "{thin}");
        // No evaluations: the team's spread; stored and read back by id.
        assert_eq!(c.spread_of(3), 1.0);
        let back = c
            .to_stored(&["a", "b", "c", "d"])
            .for_reps(&["d", "b", "new"]);
        assert_eq!(back.spread_of(0), 1.0);
        assert_eq!(back.spread_of(1), noisy);
        assert_eq!(back.spread_of(2), 1.0);
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
