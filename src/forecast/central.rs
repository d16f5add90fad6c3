//! Central forecasts beside the means: a model fitted on logarithms
//! forecasts a mean above its median. The levels of the hierarchy sum the
//! means; a rep's own month is judged by the median (what MASE rewards).

use std::collections::BTreeMap;

use super::{ModelKind, choice};

/// One rep's forecasts at an origin: per model (indexed by `ModelKind as
/// usize`), its points and, for a model fitted on logarithms, its
/// medians; then its design rows.
pub(super) type RepForecasts = (Vec<Vec<f64>>, Vec<Option<Vec<f64>>>, Vec<f32>);

/// The central forecasts of the models whose points are means above them:
/// each rep's median from a model fitted on logarithms (`per_rep[r].1`,
/// made a month's forecast by `month`, as the points are), and the
/// combinations' means of their members' central forecasts. Only models
/// where some rep's central forecast differs from its point are listed.
pub(super) fn central_points(
    points: &BTreeMap<ModelKind, Vec<Vec<f64>>>,
    per_rep: &[RepForecasts],
    models: &[ModelKind],
    choices: &choice::Choices,
    month: impl Fn(usize, usize, f64) -> f64,
) -> BTreeMap<ModelKind, Vec<Vec<f64>>> {
    let mut out: BTreeMap<ModelKind, Vec<Vec<f64>>> = BTreeMap::new();
    for &m in models {
        let Some(p) = points.get(&m) else { continue };
        if per_rep
            .iter()
            .all(|(_, medians, _)| medians[m as usize].is_none())
        {
            continue;
        }
        let mut c = p.clone();
        for (r, (_, medians, _)) in per_rep.iter().enumerate() {
            if let Some(median) = &medians[m as usize] {
                for (h, slot) in c[r].iter_mut().enumerate() {
                    *slot = month(r, h + 1, median[h]);
                }
            }
        }
        out.insert(m, c);
    }
    // A combination's central forecast: the mean of its members' (the
    // combination's own where none has one).
    fn centred<'c>(
        out: &BTreeMap<ModelKind, Vec<Vec<f64>>>,
        points: &BTreeMap<ModelKind, Vec<Vec<f64>>>,
        p: &[Vec<f64>],
        members: &dyn Fn(usize) -> &'c [ModelKind],
    ) -> Vec<Vec<f64>> {
        let mut c = p.to_vec();
        let source = |m: ModelKind| out.get(&m).or_else(|| points.get(&m));
        for (r, row) in c.iter_mut().enumerate() {
            for (h, slot) in row.iter_mut().enumerate() {
                if let Some(v) = mean_of(source, members(r), (r, h))
                    .or_else(|| mean_of(source, &[ModelKind::Combination], (r, h)))
                {
                    *slot = v;
                }
            }
        }
        c
    }
    if let Some(p) = points.get(&ModelKind::Combination)
        && ModelKind::COMBINED.iter().any(|m| out.contains_key(m))
    {
        let c = centred(&out, points, p, &|_| &ModelKind::COMBINED);
        out.insert(ModelKind::Combination, c);
    }
    if let Some(p) = points.get(&ModelKind::PerRep)
        && !out.is_empty()
    {
        let c = centred(&out, points, p, &|r| choices.of(r));
        out.insert(ModelKind::PerRep, c);
    }
    out
}

/// The mean of `members`' finite forecasts for rep `r`, `h + 1` months
/// ahead, each read from `source` (`None` when none has one).
pub(super) fn mean_of<'a>(
    source: impl Fn(ModelKind) -> Option<&'a Vec<Vec<f64>>>,
    members: &[ModelKind],
    (r, h): (usize, usize),
) -> Option<f64> {
    let vals: Vec<f64> = members
        .iter()
        .filter_map(|m| source(*m))
        .map(|p| p[r][h])
        .filter(|v| v.is_finite())
        .collect();
    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_combination_is_centred_on_its_members_central_forecasts() {
        // One rep, one month: ETS's mean 10 over a median 7; Theta 20 and
        // the global model 30 have no median of their own.
        let points: BTreeMap<ModelKind, Vec<Vec<f64>>> = [
            (ModelKind::Ets, vec![vec![10.0]]),
            (ModelKind::Theta, vec![vec![20.0]]),
            (ModelKind::Global, vec![vec![30.0]]),
            (ModelKind::Combination, vec![vec![20.0]]),
        ]
        .into();
        let mut medians = vec![None; ModelKind::ALL.len()];
        medians[ModelKind::Ets as usize] = Some(vec![7.0]);
        let per_rep = vec![(Vec::new(), medians, Vec::new())];
        let models = [
            ModelKind::Ets,
            ModelKind::Theta,
            ModelKind::Global,
            ModelKind::Combination,
        ];
        let central = central_points(
            &points,
            &per_rep,
            &models,
            &choice::Choices::default(),
            |_, _, v| v,
        );
        assert_eq!(central[&ModelKind::Ets], vec![vec![7.0]]);
        assert_eq!(central[&ModelKind::Combination], vec![vec![19.0]]);
        // Models with no median are not listed: their points are central.
        assert!(!central.contains_key(&ModelKind::Theta));
        // Without any median, nothing is.
        let plain = vec![(Vec::new(), vec![None; ModelKind::ALL.len()], Vec::new())];
        let none = central_points(
            &points,
            &plain,
            &models,
            &choice::Choices::default(),
            |_, _, v| v,
        );
        assert!(none.is_empty());
    }
}
