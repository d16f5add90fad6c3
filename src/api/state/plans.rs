//! The planning forecast and the stored book's side of a comp scenario,
//! kept between requests: a planner tries several targets, methods and
//! candidate books over one forecast.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;

use super::{AppState, Loaded, Stamp, poisoned};
use crate::api::error::ApiError;
use crate::jobs::ValidTrainParams;

impl AppState {
    /// The forecast a plan reads: the last one made when asked for with the
    /// same parameters over the same data and models, else made now.
    pub async fn plan_forecast(
        &self,
        loaded: Arc<Loaded>,
        params: crate::jobs::plan::PlanParams,
        last_day: Option<NaiveDate>,
    ) -> Result<Arc<crate::jobs::plan::Forecasted>, ApiError> {
        let stamp = Stamp {
            data: loaded.version,
            models: self.registry.versions()?.len(),
        };
        let key = format!(
            "{:?}/{:?}/{}/{}/{last_day:?}",
            params.as_of,
            params.period,
            params.paths.get(),
            params.seed
        );
        if let Some((k, s, f)) = &*self.plan_paths.lock().map_err(poisoned)? {
            if *k == key && *s == stamp {
                return Ok(f.clone());
            }
        }
        let registry = self.registry.clone();
        let started = Instant::now();
        let made = tokio::task::spawn_blocking(move || {
            crate::jobs::plan::forecast_period(
                &loaded.data,
                &loaded.fingerprint,
                &registry,
                &params,
                ValidTrainParams::default(),
                last_day,
            )
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        self.metrics
            .job("plan", made.is_ok(), started.elapsed().as_secs_f64());
        let made = Arc::new(made?);
        *self.plan_paths.lock().map_err(poisoned)? = Some((key, stamp, made.clone()));
        Ok(made)
    }

    /// The stored book's side of a comp scenario over `forecast` (a
    /// planner tries several candidates against one current book): the
    /// last one projected while the forecast and the books (closes and
    /// adjustments, each an audit event) are the same, else projected now.
    pub async fn plan_current(
        &self,
        loaded: Arc<Loaded>,
        forecast: Arc<crate::jobs::plan::Forecasted>,
    ) -> Result<Arc<Vec<crate::planning::scenario::Projected>>, ApiError> {
        let books_at = self.store.audit_head().await?;
        if let Some((f, at, now)) = &*self.plan_current.lock().map_err(poisoned)? {
            if Arc::ptr_eq(f, &forecast) && *at == books_at {
                return Ok(now.clone());
            }
        }
        let books = crate::jobs::close::Books::load(&self.store).await?;
        let on = forecast.clone();
        let now = tokio::task::spawn_blocking(move || {
            let Some((current, ledger)) = &loaded.plans else {
                return Err(ApiError::conflict("no comp plans are stored"));
            };
            Ok(crate::jobs::plan::current_side(
                &loaded.data,
                (current, Some(ledger)),
                &books,
                &on,
            )?)
        })
        .await
        .map_err(|e| ApiError::internal(&e))??;
        let now = Arc::new(now);
        *self.plan_current.lock().map_err(poisoned)? = Some((forecast, books_at, now.clone()));
        Ok(now)
    }
}
