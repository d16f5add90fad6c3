//! Charts over HTTP: `GET /v1/reports/{chart}.svg|png`.
//!
//! A chart is built from the same results as the list routes (and from
//! their cache entries, so the dashboard's charts and lists cost one
//! computation), cut to the caller's reach before any number is drawn.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ANYONE, COACHES, COMMISSIONS, OPERATORS, need_models, reach_of, team_asked};
use crate::api::auth::{Principal, Reach, Role};
use crate::api::error::ApiError;
use crate::api::error::ReadProblems;
use crate::api::extract::{Caller, Q, parse_period};
use crate::api::state::{AppState, coach_list, projected};
use crate::domain::Paths;
use crate::features::Level;
use crate::forecast::Engine;
use crate::jobs::commissions::CommissionParams;
use crate::jobs::registered_models;
use crate::report::data::{self, RunInfo, entity_label};
use crate::report::{ChartKind, ImageFormat, folder, render};

/// Filters of a chart.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// forecast, attainment, waterfall: the entity's level (default: company,
    /// or the token's own rep or team); payouts: the level of the lines
    /// (default rep); coaching: `manager` with `id`.
    level: Option<Level>,
    /// The entity (rep id, manager's rep id, territory id, region name).
    id: Option<String>,
    /// `YYYY-MM` or `YYYY-Qn` (defaults: the as-of day's quarter for
    /// attainment and waterfall, the next quarter for coaching and payouts).
    period: Option<String>,
    /// As of this day (default: the last day of data; forecast charts: the
    /// latest run).
    as_of: Option<NaiveDate>,
    /// Waterfall: the first day (default: the period's first day).
    from: Option<NaiveDate>,
}

fn parse_file(file: &str) -> Result<(ChartKind, ImageFormat), ApiError> {
    let not_found = || {
        ApiError::not_found(format!(
            "no chart {file:?}: ask for NAME.svg or NAME.png, NAME one of {}",
            ChartKind::ALL.map(|k| k.as_str()).join(", ")
        ))
    };
    let (stem, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
    let kind = stem.parse().map_err(|_| not_found())?;
    let format = ext.parse().map_err(|_| not_found())?;
    Ok((kind, format))
}

/// The entity a chart covers: asked for, or the caller's own by default;
/// 403 outside the caller's reach.
fn entity(
    who: &Principal,
    reach: &Reach,
    level: Option<Level>,
    id: Option<&str>,
) -> Result<(Level, String), ApiError> {
    let own = || match (who.role, &who.scope) {
        (Role::Manager, Some(s)) => Some((Level::Manager, s.clone())),
        (Role::Rep, Some(s)) => Some((Level::Rep, s.clone())),
        _ => None,
    };
    let chosen = match (level, id) {
        (Some(Level::Company), _) => (Level::Company, "company".to_owned()),
        (l, Some(id)) => (l.unwrap_or(Level::Rep), id.to_owned()),
        (None, None) => own().unwrap_or((Level::Company, "company".to_owned())),
        (Some(l), None) => match own() {
            Some((own_level, own_id)) if own_level == l => (l, own_id),
            _ => {
                return Err(ApiError::bad_field("id", format!("name the {l} with id")));
            }
        },
    };
    if !reach.is_all() {
        let (l, id) = &chosen;
        if !matches!(l, Level::Rep | Level::Manager) || !reach.sees_rep(id) {
            return Err(ApiError::forbidden(format!(
                "a {} token's charts cover its own reps and teams, not {l} {id:?}",
                who.role.as_str()
            )));
        }
    }
    Ok(chosen)
}

fn image(bytes: Vec<u8>, format: ImageFormat) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// A chart, drawn as SVG or PNG from the caller's share of the data.
#[utoipa::path(get, path = "/v1/reports/{file}", tag = "reports", security(("bearer" = [])),
    params(
        ("file" = String, Path, description = "`CHART.svg` or `CHART.png`; CHART = forecast, backtest, attainment, coaching, waterfall, payouts or calibration", example = "forecast.svg",
            pattern = r"^(forecast|backtest|attainment|coaching|waterfall|payouts|calibration)\.(svg|png)$"),
        ReportQuery,
    ),
    responses(
        (status = 200, description = "The chart", content(
            (String = "image/svg+xml"), (String = "image/png"))),
        ReadProblems,
    ))]
pub async fn report(
    Caller { state, who }: Caller,
    Path(file): Path<String>,
    Q(q): Q<ReportQuery>,
) -> Result<Response, ApiError> {
    let (kind, format) = parse_file(&file)?;
    let roles: &[Role] = match kind {
        ChartKind::Backtest => OPERATORS,
        ChartKind::Attainment => &[Role::Admin, Role::Leader, Role::Finance, Role::Manager],
        ChartKind::Coaching => COACHES,
        ChartKind::Payouts => COMMISSIONS,
        ChartKind::Forecast | ChartKind::Waterfall | ChartKind::Calibration => ANYONE,
    };
    who.require(roles, &format!("draw the {kind} chart"))?;
    let period = parse_period("period", &q.period)?;
    let reach = reach_of(&state, &who).await?;
    let asked = Asked {
        state: &state,
        who: &who,
        reach: &reach,
        q: &q,
        period,
    };
    let chart = match kind {
        ChartKind::Forecast | ChartKind::Attainment | ChartKind::Waterfall => {
            entity_chart(&asked, kind).await?
        }
        ChartKind::Backtest | ChartKind::Calibration => {
            let loaded = state.loaded().await?;
            let as_of = q.as_of.unwrap_or(loaded.data.last_date);
            let scoring = kind == ChartKind::Calibration;
            need_models(&state, as_of, scoring)?;
            let registry = state.registry.clone();
            tokio::task::spawn_blocking(move || {
                let Some((model, scorer)) = registered_models(&registry, as_of, scoring)? else {
                    return Err(ApiError::conflict("no model is registered"));
                };
                match (kind, scorer) {
                    (ChartKind::Calibration, Some(s)) => Ok(data::calibration(&s, &model.version)?),
                    (ChartKind::Calibration, None) => {
                        Err(ApiError::conflict("no win-probability model is registered"))
                    }
                    _ => Ok(data::backtest(&model)?),
                }
            })
            .await
            .map_err(|e| ApiError::internal(&e))??
        }
        ChartKind::Coaching => coaching_chart(&asked).await?,
        ChartKind::Payouts => payout_chart(&asked).await?,
    };
    let bytes = tokio::task::spawn_blocking(move || render(&chart, format))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    Ok(image(bytes, format))
}

/// What a chart is asked for, by whom, within what reach.
#[derive(Clone, Copy)]
struct Asked<'a> {
    state: &'a Arc<AppState>,
    who: &'a Principal,
    reach: &'a Reach,
    q: &'a ReportQuery,
    period: Option<crate::domain::Period>,
}

async fn entity_chart(
    asked: &Asked<'_>,
    kind: ChartKind,
) -> Result<crate::report::Chart, ApiError> {
    let (state, who, reach, q) = (asked.state, asked.who, asked.reach, asked.q);
    let period = asked.period;
    let (level, id) = entity(who, reach, q.level, q.id.as_deref())?;
    let loaded = state.loaded().await?;
    let index = match kind {
        // The forecast fan is a stored run; attainment reads the run of
        // its as-of day when the period is under way.
        ChartKind::Forecast => Some(state.run_index(None, q.as_of).await?.ok_or_else(|| {
            ApiError::not_found(match q.as_of {
                Some(day) => format!("no forecast run as of {day} is stored"),
                None => "no forecast run is stored: train with POST /v1/models/train".to_owned(),
            })
        })?),
        ChartKind::Attainment => {
            let day = q.as_of.unwrap_or(loaded.data.last_date);
            state.run_index(None, Some(day)).await?
        }
        _ => None,
    };
    let (as_of, from) = (q.as_of, q.from);
    let changes = match kind {
        ChartKind::Waterfall => {
            let data = &loaded.data;
            let span = folder::waterfall_span(data, as_of.unwrap_or(data.last_date), period, from);
            Some(folder::waterfall_changes(&state.store, data, (level, &id), span).await?)
        }
        _ => None,
    };
    tokio::task::spawn_blocking(move || {
        let data = &loaded.data;
        let engine = Engine::new(data);
        let day = as_of.unwrap_or(data.last_date);
        let hierarchy = engine.hierarchy_on(day);
        let hierarchy = &*hierarchy;
        let rows = index.as_ref().map_or(&[][..], |ix| &ix.run.forecasts[..]);
        Ok(match kind {
            ChartKind::Forecast => {
                let Some(ix) = &index else {
                    return Err(ApiError::not_found("no forecast run is stored"));
                };
                let run = RunInfo {
                    run_id: ix.run.run_id,
                    as_of: ix.run.as_of,
                    model_version: ix.run.model_version.clone(),
                };
                folder::fan(data, hierarchy, &run, rows, level, &id)?
            }
            ChartKind::Attainment => {
                let p = period.unwrap_or_else(|| folder::attainment_period(data, day));
                folder::attainment(data, hierarchy, rows, level, &id, p, day)?
            }
            _ => match &changes {
                Some(c) => data::waterfall(c)?,
                None => {
                    return Err(ApiError::internal_fault(
                        "the waterfall's changes were not read",
                    ));
                }
            },
        })
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
}

async fn coaching_chart(asked: &Asked<'_>) -> Result<crate::report::Chart, ApiError> {
    let (state, who, reach, q) = (asked.state, asked.who, asked.reach, asked.q);
    let period = asked.period;
    if let Some(l) = q.level {
        if l != Level::Manager {
            return Err(ApiError::bad_field(
                "level",
                "the coaching chart covers a manager's reps: level=manager&id=MANAGER",
            ));
        }
    }
    // The same parameters, hence the same cache entry, as GET /v1/coaching.
    let manager = team_asked(who, reach, q.id.as_ref())?;
    let loaded = state.loaded().await?;
    let as_of = q.as_of.unwrap_or(loaded.data.last_date);
    need_models(state, as_of, !loaded.data.snaps.is_empty())?;
    let team = match &manager {
        Some(m) => entity_label(&loaded.data, Level::Manager, m),
        None => "every rep".to_owned(),
    };
    let list = coach_list(state, loaded, as_of, manager, period).await?;
    let mut view = (*list).clone();
    view.reps.retain(|r| reach.sees_rep(&r.rep_id));
    Ok(data::quadrant(&view, &team)?)
}

async fn payout_chart(asked: &Asked<'_>) -> Result<crate::report::Chart, ApiError> {
    let (state, who, reach, q) = (asked.state, asked.who, asked.reach, asked.q);
    let period = asked.period;
    let level = q.level.unwrap_or(Level::Rep);
    if !reach.is_all() {
        if !matches!(level, Level::Rep | Level::Manager) {
            return Err(ApiError::forbidden(format!(
                "a {} token sees reps and managers' teams only, not {level} payouts",
                who.role.as_str()
            )));
        }
        if let Some(id) = &q.id {
            if !reach.sees_rep(id) {
                return Err(ApiError::forbidden(format!(
                    "id {id:?} is outside this token's scope"
                )));
            }
        }
    }
    let loaded = state.loaded().await?;
    if loaded.plans.is_none() {
        return Err(ApiError::conflict(
            "no comp plans are stored: PUT /v1/plans/{id} or ingest a comp_plans.toml",
        ));
    }
    let as_of = q.as_of.unwrap_or(loaded.data.last_date);
    need_models(state, as_of, false)?;
    let whose = match (&q.id, reach.is_all()) {
        (Some(id), _) => entity_label(&loaded.data, level, id),
        (None, true) => format!("per {level}"),
        (None, false) => match &who.scope {
            Some(s) if who.role == Role::Manager => {
                format!(
                    "{}, per {level}",
                    entity_label(&loaded.data, Level::Manager, s)
                )
            }
            Some(s) => entity_label(&loaded.data, Level::Rep, s),
            None => "your reach".to_owned(),
        },
    };
    // The same parameters, hence the same cache entry, as
    // GET /v1/commissions/projections with these filters.
    let projection = projected(
        state,
        loaded.clone(),
        CommissionParams {
            as_of: Some(as_of),
            period,
            id: q.id.clone(),
            level,
            paths: Paths::DEFAULT,
            seed: crate::domain::DEFAULT_SEED,
            what_if: None,
        },
    )
    .await?;
    let lines: Vec<_> = projection
        .payouts
        .iter()
        .filter(|p| p.level == level && reach.sees_entity(p.level, &p.id))
        .cloned()
        .collect();
    Ok(data::payouts(
        &loaded.data,
        &lines,
        &projection.period,
        projection.as_of,
        &projection.model_version,
        &whose,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_files_parse() {
        assert_eq!(
            parse_file("forecast.svg").expect("a chart file"),
            (ChartKind::Forecast, ImageFormat::Svg)
        );
        assert_eq!(
            parse_file("calibration.png").expect("a chart file"),
            (ChartKind::Calibration, ImageFormat::Png)
        );
        for bad in ["forecast", "pie.svg", "forecast.gif", ".svg"] {
            assert_eq!(parse_file(bad).unwrap_err().status.as_u16(), 404, "{bad}");
        }
    }
}
