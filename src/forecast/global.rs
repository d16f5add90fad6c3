//! The global model: one elastic-net regression (linfa) across every rep
//! and horizon, on the scaled design rows of [`crate::features::matrix`].
//! Fitting across the team lets a rep with a short history borrow the
//! shape (seasonality, ramp, pipeline conversion) of everyone else.

use linfa::prelude::*;
use linfa_elasticnet::ElasticNet;
use serde::{Deserialize, Serialize};

use crate::features::MonthIdx;
use crate::features::matrix::{FEATURES, TrainingRows};

/// Penalty strength (on scaled features, so one value fits every org).
const PENALTY: f64 = 0.002;
/// Mix of L1 in the penalty.
const L1_RATIO: f64 = 0.5;

/// Why the global model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum GlobalError {
    /// Too few rows whose outcome is known.
    #[error("the global model needs at least {needed} training rows, found {found}")]
    TooFewRows {
        /// Required.
        needed: usize,
        /// Available.
        found: usize,
    },
    /// linfa refused the fit.
    #[error("elastic net: {0}")]
    Fit(String),
}

/// A fitted global model: intercept and one weight per feature.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlobalModel {
    /// Intercept (in scale units).
    pub intercept: f64,
    /// Weights, in [`crate::features::matrix::FEATURE_NAMES`] order.
    pub weights: Vec<f64>,
    /// Rows it was fitted on.
    pub rows: usize,
}

impl GlobalModel {
    /// Fits on the rows whose target month ended by `through`.
    pub fn fit(rows: &TrainingRows, through: MonthIdx) -> Result<GlobalModel, GlobalError> {
        Self::fit_at_most(rows, through, usize::MAX)
    }

    /// Fits on at most `max_rows` of those rows, evenly thinned (the
    /// backtest refits at every origin; 28 weights need far fewer rows
    /// than a large organisation has).
    pub fn fit_at_most(
        rows: &TrainingRows,
        through: MonthIdx,
        max_rows: usize,
    ) -> Result<GlobalModel, GlobalError> {
        let (x, y) = rows.matrices_at_most(through, max_rows);
        let needed = 4 * FEATURES;
        if y.len() < needed {
            return Err(GlobalError::TooFewRows {
                needed,
                found: y.len(),
            });
        }
        let n = y.len();
        let dataset = Dataset::new(x, y);
        let model = ElasticNet::params()
            .penalty(PENALTY)
            .l1_ratio(L1_RATIO)
            .max_iterations(200)
            .tolerance(1e-5)
            .fit(&dataset)
            .map_err(|e| GlobalError::Fit(e.to_string()))?;
        Ok(GlobalModel {
            intercept: model.intercept(),
            weights: model.hyperplane().to_vec(),
            rows: n,
        })
    }

    /// Prediction for one design row, in scale units, not below zero.
    pub fn predict(&self, row: &[f32]) -> f64 {
        let v = self.intercept
            + self
                .weights
                .iter()
                .zip(row)
                .map(|(w, x)| w * f64::from(*x))
                .sum::<f64>();
        v.max(0.0)
    }
}
