//! Reconciling the hierarchy: each level forecast by the model that does
//! best at that level, while every level still adds up.
//!
//! The rep forecasts come from the model selected for reps. For the levels
//! of the territory tree (company, region, territory) an *anchor* may be
//! chosen: the model with the lowest backtest MASE at that level, when it
//! beats the sum of the rep forecasts there. The company total is then its
//! anchor's; each region takes a share of its parent's total in proportion
//! to its anchor's forecast among its siblings; territories likewise
//! within their region; and each rep a share of its territory's in
//! proportion to its own forecast (top-down with shares from each level's
//! best model). Rep paths are scaled by their rep's ratio, so the sample
//! paths stay coherent: every entity's paths are still the sum of its
//! reps'. Managers cut across the tree and read the sum of their reps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::simulate::SimulationPlan;
use super::{ModelKind, OriginPoints};
use crate::features::{Hierarchy, Level};

/// The levels that can be anchored, top first.
pub const ANCHORED: [Level; 3] = [Level::Company, Level::Region, Level::Territory];

/// How much lower (as a share) a level's best MASE must be than the rep
/// model's sum there before the level is anchored to it: with a year or
/// two of origins, a smaller edge is as often noise as skill.
pub const ANCHOR_MARGIN: f64 = 0.2;

/// Per level, the model whose totals the level takes (absent: the sum of
/// the rep forecasts).
pub type Anchors = BTreeMap<Level, ModelKind>;

/// Per-horizon anchors as a trained model stores them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoredAnchors {
    /// Index `h - 1`: the anchors of horizon `h`.
    pub horizons: Vec<Anchors>,
}

impl StoredAnchors {
    /// The anchors of horizon `h` (none past the stored horizons).
    pub fn at(&self, h: usize) -> Anchors {
        self.horizons.get(h - 1).cloned().unwrap_or_default()
    }
}

/// The models that may anchor a level: the candidates and the baselines
/// (the pipeline model only covers some months and draws deals, which a
/// share cannot scale).
pub fn may_anchor(m: ModelKind) -> bool {
    (ModelKind::CANDIDATES.contains(&m) || ModelKind::BASELINES.contains(&m)) && !m.pipeline_only()
}

/// Chooses the anchors of one horizon from each level's mean MASE per
/// model (`level_mase(level, model)`): a level is anchored when its best
/// model beats the rep model's sum there by [`ANCHOR_MARGIN`].
pub fn choose(
    rep_model: ModelKind,
    level_mase: &dyn Fn(Level, ModelKind) -> Option<f64>,
) -> Anchors {
    let mut out = Anchors::new();
    if rep_model.pipeline_only() {
        return out;
    }
    for level in ANCHORED {
        let Some(own) = level_mase(level, rep_model) else {
            continue;
        };
        let best = ModelKind::ALL
            .iter()
            .filter(|m| may_anchor(**m))
            .filter_map(|m| level_mase(level, *m).map(|v| (*m, v)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((m, v)) = best
            && m != rep_model
            && v < own * (1.0 - ANCHOR_MARGIN)
        {
            out.insert(level, m);
        }
    }
    out
}

/// The parent of each tree node (territory -> region -> company) and the
/// node each rep hangs from, derived from the reps' entity lists.
struct Tree {
    /// Per entity: its parent in the tree, if it is a tree node below the
    /// company.
    parent: Vec<Option<usize>>,
    /// Per rep: the lowest tree node above it.
    rep_parent: Vec<Option<usize>>,
}

impl Tree {
    fn build(hierarchy: &Hierarchy) -> Tree {
        let mut parent = vec![None; hierarchy.entities.len()];
        let mut rep_parent = vec![None; hierarchy.reps()];
        for (r, targets) in hierarchy.rep_to_entities.iter().enumerate() {
            let at = |level: Level| {
                targets
                    .iter()
                    .map(|e| *e as usize)
                    .find(|e| hierarchy.entities[*e].level == level)
            };
            let chain: Vec<usize> = ANCHORED.iter().filter_map(|l| at(*l)).collect();
            for pair in chain.windows(2) {
                parent[pair[1]] = Some(pair[0]);
            }
            rep_parent[r] = chain.last().copied();
        }
        Tree { parent, rep_parent }
    }
}

/// Each rep's reconciled forecast for horizon `h` (zero for reps not
/// forecast), given the rep model and the level anchors.
pub fn rep_targets(
    hierarchy: &Hierarchy,
    points: &OriginPoints,
    rep_model: ModelKind,
    anchors: &Anchors,
    h: usize,
) -> Vec<f64> {
    let reps = hierarchy.reps();
    let value = |m: ModelKind| -> Option<Vec<f64>> {
        let p = points.points.get(&m)?;
        let per_rep: Vec<f64> = (0..reps)
            .map(|r| {
                let v = p[r][h - 1];
                if points.active[r] && v.is_finite() {
                    v.max(0.0)
                } else {
                    0.0
                }
            })
            .collect();
        Some(per_rep)
    };
    let Some(own) = value(rep_model) else {
        return vec![0.0; reps];
    };
    if anchors.is_empty() {
        return own;
    }
    let tree = Tree::build(hierarchy);
    // Each tree node's weight: its anchor's total, or the reps' sum.
    let own_totals = hierarchy.roll_up(&own);
    let mut weight = own_totals.clone();
    for (level, m) in anchors {
        let Some(v) = value(*m) else { continue };
        let totals = hierarchy.roll_up(&v);
        for (e, entity) in hierarchy.entities.iter().enumerate() {
            if entity.level == *level {
                weight[e] = totals[e];
            }
        }
    }
    // Sum of the weights of each node's children (tree nodes and reps).
    let mut child_weight = vec![0.0; hierarchy.entities.len()];
    let mut children = vec![0usize; hierarchy.entities.len()];
    for (e, w) in weight.iter().enumerate().skip(reps) {
        if let Some(p) = tree.parent[e] {
            child_weight[p] += w;
            children[p] += 1;
        }
    }
    for r in (0..reps).filter(|r| points.active[*r]) {
        if let Some(p) = tree.rep_parent[r] {
            child_weight[p] += own[r];
            children[p] += 1;
        }
    }
    // Targets top-down: the company keeps its weight; a child takes its
    // share of the parent's target (an even share when no sibling has
    // weight).
    let mut target = vec![0.0; hierarchy.entities.len()];
    let share = |parent_target: f64, w: f64, p: usize| -> f64 {
        if child_weight[p] > 0.0 {
            parent_target * w / child_weight[p]
        } else if children[p] > 0 {
            parent_target / children[p] as f64
        } else {
            0.0
        }
    };
    for level in ANCHORED {
        for e in reps..hierarchy.entities.len() {
            if hierarchy.entities[e].level != level {
                continue;
            }
            target[e] = match tree.parent[e] {
                Some(p) => share(target[p], weight[e], p),
                None => weight[e],
            };
        }
    }
    (0..reps)
        .map(|r| {
            if !points.active[r] {
                return 0.0;
            }
            match tree.rep_parent[r] {
                Some(p) => share(target[p], own[r], p),
                None => own[r],
            }
        })
        .collect()
}

/// Moves each rep's simulation at horizon `h` onto its reconciled
/// forecast: the point becomes the target (less what is booked), and the
/// residual spread is scaled by the same ratio.
pub fn apply(plan: &mut SimulationPlan<'_>, targets: &[f64], h: usize) {
    for (rep, target) in plan.reps.iter_mut().zip(targets) {
        let Some(rep) = rep else { continue };
        let booked = rep.booked[h - 1];
        let before = rep.point[h - 1];
        let after = (target - booked).max(0.0);
        if before > 0.0 {
            rep.scale[h - 1] *= (after / before).clamp(0.2, 5.0);
        }
        rep.point[h - 1] = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Entity;

    /// Four reps: two in territory T1, one in T2 (both in region R), one
    /// with no territory; and a manager over reps 0 and 2.
    fn org() -> Hierarchy {
        let entity = |level, id: &str| Entity {
            level,
            id: id.to_owned(),
        };
        Hierarchy {
            entities: vec![
                entity(Level::Rep, "a"),
                entity(Level::Rep, "b"),
                entity(Level::Rep, "c"),
                entity(Level::Rep, "d"),
                entity(Level::Manager, "m"),
                entity(Level::Territory, "T1"),
                entity(Level::Region, "R"),
                entity(Level::Territory, "T2"),
                entity(Level::Company, "company"),
            ],
            rep_to_entities: vec![
                vec![0, 4, 5, 6, 8],
                vec![1, 5, 6, 8],
                vec![2, 4, 7, 6, 8],
                vec![3, 8],
            ],
            has_reports: vec![false; 4],
        }
    }

    #[test]
    fn a_team_quota_counts_on_its_holders_line_only() {
        let mut h = org();
        // Rep a leads a team: their 500 is the team's number.
        h.has_reports[0] = true;
        let q = h.roll_quotas(&[500, 100, 200, 0]);
        assert_eq!(q, vec![500, 100, 200, 0, 200, 100, 300, 200, 300]);
    }

    fn points(models: &[(ModelKind, [f64; 4])]) -> OriginPoints {
        OriginPoints {
            active: vec![true; 4],
            scale: vec![1.0; 4],
            points: models
                .iter()
                .map(|(m, v)| (*m, v.iter().map(|x| vec![*x]).collect()))
                .collect(),
            central: BTreeMap::new(),
            deals: vec![Vec::new(); 4],
            other: vec![[0.0; 2]; 4],
            crm: vec![Default::default(); 4],
            design: vec![Vec::new(); 4],
            spread: vec![1.0; 4],
        }
    }

    #[test]
    fn levels_take_their_anchors_totals_and_still_add_up() {
        let h = org();
        let p = points(&[
            (ModelKind::Ets, [10.0, 30.0, 20.0, 40.0]),
            (ModelKind::SeasonalNaive, [20.0, 20.0, 40.0, 120.0]),
        ]);
        // Unanchored: the rep model as it is.
        let plain = rep_targets(&h, &p, ModelKind::Ets, &Anchors::new(), 1);
        assert_eq!(plain, vec![10.0, 30.0, 20.0, 40.0]);
        // The company anchored to seasonal naive: its total is 200, shared
        // between region R and rep d by their own forecasts (60 : 40).
        let company: Anchors = [(Level::Company, ModelKind::SeasonalNaive)].into();
        let t = rep_targets(&h, &p, ModelKind::Ets, &company, 1);
        let total: f64 = t.iter().sum();
        assert!((total - 200.0).abs() < 1e-9, "{t:?}");
        assert!((t[3] - 80.0).abs() < 1e-9, "{t:?}");
        // Inside T1, a and b keep their 1 : 3 split.
        assert!((t[1] / t[0] - 3.0).abs() < 1e-9, "{t:?}");
        // Territories anchored too: T1 : T2 = 40 : 40 under R's 120.
        let both: Anchors = [
            (Level::Company, ModelKind::SeasonalNaive),
            (Level::Territory, ModelKind::SeasonalNaive),
        ]
        .into();
        let t = rep_targets(&h, &p, ModelKind::Ets, &both, 1);
        assert!((t[0] + t[1] - 60.0).abs() < 1e-9, "{t:?}");
        assert!((t[2] - 60.0).abs() < 1e-9, "{t:?}");
        // Every level is the sum of its reps.
        let rolled = h.roll_up(&t);
        assert!((rolled[4] - (t[0] + t[2])).abs() < 1e-9);
        assert!((rolled[8] - 200.0).abs() < 1e-9);
    }

    #[test]
    fn an_anchor_needs_a_clear_edge() {
        let mase = |edge: f64| {
            move |level: Level, m: ModelKind| -> Option<f64> {
                match (level, m) {
                    (Level::Company, ModelKind::Ets) => Some(1.0),
                    (Level::Company, ModelKind::SeasonalNaive) => Some(1.0 - edge),
                    _ => None,
                }
            }
        };
        assert!(choose(ModelKind::Ets, &mase(0.1)).is_empty());
        assert_eq!(
            choose(ModelKind::Ets, &mase(0.5)).get(&Level::Company),
            Some(&ModelKind::SeasonalNaive)
        );
        // The pipeline months are never anchored.
        assert!(choose(ModelKind::Pipeline, &mase(0.5)).is_empty());
    }
}
