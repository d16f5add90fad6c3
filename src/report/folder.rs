//! The choices shared by `attain report` and `GET /v1/reports/...`
//! (default periods and days, which reps a chart covers), and the report
//! folder: every chart as SVG and PNG plus an `index.html` that holds the
//! SVGs inline, so it opens anywhere without the other files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};

use super::data::{self, RunInfo, entity_index, entity_label, reps_in};
use super::{Chart, ImageFormat, ReportError, render};
use crate::calls::changes::Changes;
use crate::config::Settings;
use crate::domain::{DEFAULT_SEED, Horizon, Paths, Period};
use crate::features::{Hierarchy, Level, SalesData};
use crate::forecast::{Engine, ForecastRow, ForecastRun};
use crate::jobs::ValidTrainParams;
use crate::jobs::changes::ChangesParams;
use crate::jobs::coach::{CoachParams, coach_data};
use crate::jobs::commissions::{CommissionParams, load_book, projection_data};
use crate::jobs::{self, ForecastParams, JobError, registered_models};
use crate::store::{ForecastFilter, Store};

/// The period the attainment chart covers by default: the fiscal quarter
/// of the as-of day (over on its last day, under way before).
pub fn attainment_period(data: &SalesData, as_of: NaiveDate) -> Period {
    data.fiscal.quarter_of(as_of)
}

/// The waterfall's period and days: by default the fiscal quarter of the
/// as-of day, from its first day (or 90 days back when that is the as-of
/// day itself) to the as-of day.
pub fn waterfall_span(
    data: &SalesData,
    as_of: NaiveDate,
    period: Option<Period>,
    from: Option<NaiveDate>,
) -> (Period, NaiveDate, NaiveDate) {
    let period = period.unwrap_or_else(|| data.fiscal.quarter_of(as_of));
    let from = from.unwrap_or_else(|| {
        let start = data.fiscal.start(period);
        if start < as_of {
            start
        } else {
            as_of - Duration::days(90)
        }
    });
    (period, from, as_of)
}

/// Forecast fan of an entity from a run's lines.
pub fn fan(
    data: &SalesData,
    hierarchy: &Hierarchy,
    run: &RunInfo,
    rows: &[ForecastRow],
    level: Level,
    id: &str,
) -> Result<Chart, ReportError> {
    let mine: Vec<&ForecastRow> = rows
        .iter()
        .filter(|r| r.level == level && r.id == id)
        .collect();
    data::fan(data, hierarchy, run, level, id, &mine)
}

/// Attainment of the reps of an entity for `period`; a period under way
/// uses the run's rep means of that period.
pub fn attainment(
    data: &SalesData,
    hierarchy: &Hierarchy,
    rows: &[ForecastRow],
    level: Level,
    id: &str,
    period: Period,
    as_of: NaiveDate,
) -> Result<Chart, ReportError> {
    let e = entity_index(hierarchy, level, id)?;
    let name = period.to_string();
    let means: HashMap<String, f64> = rows
        .iter()
        .filter(|r| r.level == Level::Rep && r.period == name)
        .map(|r| (r.id.clone(), r.mean.cents() as f64 / 100.0))
        .collect();
    data::attainment(
        data,
        &reps_in(hierarchy, e),
        &entity_label(data, level, id),
        period,
        as_of,
        &means,
    )
}

/// What changed for an entity over the waterfall's span (pipeline moves,
/// forecast and calls), for the waterfall chart.
pub async fn waterfall_changes(
    store: &Store,
    data: &SalesData,
    (level, id): (Level, &str),
    (period, from, to): (Period, NaiveDate, NaiveDate),
) -> Result<Changes, ReportError> {
    if from >= to {
        return Err(ReportError::Param(format!(
            "the waterfall's first day {from} must be before its last {to}"
        )));
    }
    let params = ChangesParams {
        id: Some(id.to_owned()),
        level: Some(level),
        period: Some(period),
        from: Some(from),
        to: Some(to),
    };
    Ok(jobs::changes::changes(store, data, &params).await?)
}

/// Settings of `attain report`.
#[derive(Debug, Clone)]
pub struct ReportParams {
    /// Where the files go.
    pub out: PathBuf,
    /// As-of day (default: the last day of data).
    pub as_of: Option<NaiveDate>,
    /// Period of the attainment, coaching, waterfall and payout charts
    /// (default: each chart's own, see [`attainment_period`] and
    /// [`waterfall_span`]; coaching and payouts: the next quarter).
    pub period: Option<Period>,
    /// Months forecast when no run as of the day is stored.
    pub horizon: Horizon,
}

/// Keeps a chart, or notes why it was not drawn (missing data is not a
/// failure of the report; a drawing or writing error is).
fn keep(
    name: String,
    made: Result<Chart, ReportError>,
    charts: &mut Vec<(String, Chart)>,
    skipped: &mut Vec<(String, String)>,
) -> Result<(), ReportError> {
    match made {
        Ok(chart) => charts.push((name, chart)),
        Err(ReportError::NoData(why) | ReportError::Param(why)) => skipped.push((name, why)),
        Err(other) => return Err(other),
    }
    Ok(())
}

/// The whole-organisation report (`attain report`): every chart for the
/// company (and each region's forecast fan), written to `params.out`. Uses
/// the latest forecast run stored for the day, forecasting (and training,
/// when no model is registered) first when there is none.
pub async fn report(
    store: &Store,
    settings: &Settings,
    params: &ReportParams,
    train: ValidTrainParams,
) -> Result<Written, ReportError> {
    let (data, fingerprint) = jobs::load(store, settings).await?;
    let as_of = params.as_of.unwrap_or(data.last_date);
    let run: ForecastRun = match store
        .latest_forecast_run(Some(as_of))
        .await
        .map_err(JobError::from)?
    {
        Some(header) => {
            jobs::stored(store, Some(header.run_id), &ForecastFilter::default()).await?
        }
        None => {
            jobs::forecast(
                store,
                settings,
                ForecastParams {
                    as_of: Some(as_of),
                    horizon: params.horizon,
                    paths: Paths::DEFAULT,
                    seed: DEFAULT_SEED,
                },
                train,
            )
            .await?
            .run
        }
    };
    let books = crate::jobs::close::Books::load(store).await?;
    let book = match load_book(store, settings).await {
        Ok(book) => Some(book),
        Err(JobError::Commission(crate::commission::CommissionError::NoPlans)) => None,
        Err(e) => return Err(e.into()),
    };
    let registry = crate::jobs::registry::shared(store, settings).await?;
    let changes = waterfall_changes(
        store,
        &data,
        (Level::Company, "company"),
        waterfall_span(&data, as_of, params.period, None),
    )
    .await;
    let params = params.clone();
    tokio::task::block_in_place(|| {
        let engine = Engine::new(&data);
        let hierarchy = engine.hierarchy_on(run.as_of);
        let hierarchy = &*hierarchy;
        let info = RunInfo {
            run_id: run.run_id,
            as_of: run.as_of,
            model_version: run.model_version.clone(),
        };
        let rows = &run.forecasts;
        let mut charts = Vec::new();
        let mut skipped = Vec::new();
        keep(
            "forecast-company".into(),
            fan(&data, hierarchy, &info, rows, Level::Company, "company"),
            &mut charts,
            &mut skipped,
        )?;
        let mut regions: Vec<&String> = hierarchy
            .entities
            .iter()
            .filter(|e| e.level == Level::Region)
            .map(|e| &e.id)
            .collect();
        regions.sort();
        for region in regions {
            keep(
                format!("forecast-region-{}", file_safe(region)),
                fan(&data, hierarchy, &info, rows, Level::Region, region),
                &mut charts,
                &mut skipped,
            )?;
        }
        // One read of the registry: the forecast model and, when the data
        // had deal history, its win-probability model.
        let models = registered_models(&registry, as_of, false)?;
        match &models {
            Some((model, _)) => keep(
                "backtest".into(),
                data::backtest(model),
                &mut charts,
                &mut skipped,
            )?,
            None => skipped.push((
                "backtest".into(),
                format!("no model trained on or before {as_of}"),
            )),
        }
        let period = params.period;
        keep(
            "attainment".into(),
            attainment(
                &data,
                hierarchy,
                rows,
                Level::Company,
                "company",
                period.unwrap_or_else(|| attainment_period(&data, as_of)),
                as_of,
            ),
            &mut charts,
            &mut skipped,
        )?;
        let coach = coach_data(
            &data,
            &fingerprint,
            &registry,
            &CoachParams {
                as_of: Some(as_of),
                period,
                ..CoachParams::default()
            },
            train,
        )?;
        keep(
            "coaching".into(),
            data::quadrant(&coach, "every rep"),
            &mut charts,
            &mut skipped,
        )?;
        keep(
            "waterfall".into(),
            changes.and_then(|c| data::waterfall(&c)),
            &mut charts,
            &mut skipped,
        )?;
        match &book {
            Some(book) => {
                for (name, level) in [
                    ("payouts-reps", Level::Rep),
                    ("payouts-teams", Level::Manager),
                ] {
                    let projection = projection_data(
                        &data,
                        &fingerprint,
                        &registry,
                        book,
                        &books,
                        &CommissionParams {
                            as_of: Some(as_of),
                            period,
                            level,
                            ..CommissionParams::default()
                        },
                        train,
                    )?;
                    let lines: Vec<_> = projection
                        .payouts
                        .iter()
                        .filter(|p| p.level == level)
                        .cloned()
                        .collect();
                    keep(
                        name.into(),
                        data::payouts(
                            &data,
                            &lines,
                            &projection.period,
                            projection.as_of,
                            &projection.model_version,
                            &format!("per {level}"),
                        ),
                        &mut charts,
                        &mut skipped,
                    )?;
                }
            }
            None => skipped.push(("payouts".into(), "no comp plans are stored".into())),
        }
        match &models {
            Some((model, Some(scoring))) => keep(
                "calibration".into(),
                data::calibration(scoring, &model.version),
                &mut charts,
                &mut skipped,
            )?,
            _ => skipped.push((
                "calibration".into(),
                "no win-probability model is registered (the data has no deal history)".into(),
            )),
        }
        let heading = format!("attain report as of {as_of}");
        write_report(&params.out, &heading, &charts, &skipped)
    })
}

/// A name safe in a file name: letters, digits, `-` and `_` kept, the rest `_`.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a report folder holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Every file written, `index.html` last.
    pub files: Vec<PathBuf>,
    /// Charts left out and why.
    pub skipped: Vec<(String, String)>,
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    // Written beside and renamed, so a reader never sees half a file.
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// Writes each chart as `NAME.svg` and `NAME.png` into `dir` (made if
/// missing) and an `index.html` showing them all, with the charts that
/// could not be made listed with their reasons.
pub fn write_report(
    dir: &Path,
    heading: &str,
    charts: &[(String, Chart)],
    skipped: &[(String, String)],
) -> Result<Written, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files = Vec::new();
    let mut sections = String::new();
    for (name, chart) in charts {
        let svg = render(chart, ImageFormat::Svg)?;
        let png = render(chart, ImageFormat::Png)?;
        for (ext, bytes) in [("svg", &svg), ("png", &png)] {
            let path = dir.join(format!("{name}.{ext}"));
            write_file(&path, bytes)?;
            files.push(path);
        }
        let inline = String::from_utf8_lossy(&svg);
        sections.push_str(&format!(
            "<section id=\"{id}\"><h2>{title}</h2>\n<figure>{inline}</figure>\n\
             <p class=\"files\"><a href=\"{id}.svg\">{id}.svg</a> · <a href=\"{id}.png\">{id}.png</a></p></section>\n",
            id = html_escape(name),
            title = html_escape(&chart.title),
        ));
    }
    let mut missing = String::new();
    if !skipped.is_empty() {
        missing.push_str("<section><h2>Not drawn</h2><ul>");
        for (name, why) in skipped {
            missing.push_str(&format!(
                "<li><b>{}</b>: {}</li>",
                html_escape(name),
                html_escape(why)
            ));
        }
        missing.push_str("</ul></section>");
    }
    let toc: String = charts
        .iter()
        .map(|(name, chart)| {
            format!(
                "<li><a href=\"#{}\">{}</a></li>",
                html_escape(name),
                html_escape(&chart.title)
            )
        })
        .collect();
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{heading}</title><style>{css}</style></head><body>\
         <header><h1>{heading}</h1><p>attain {version}: every chart below is also written as SVG and PNG beside this page.</p></header>\
         <nav><ol>{toc}</ol></nav>{sections}{missing}</body></html>\n",
        heading = html_escape(heading),
        css = INDEX_CSS,
        version = env!("CARGO_PKG_VERSION"),
    );
    let index = dir.join("index.html");
    write_file(&index, page.as_bytes())?;
    files.push(index);
    Ok(Written {
        files,
        skipped: skipped.to_vec(),
    })
}

const INDEX_CSS: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:0 auto;max-width:1060px;\
padding:0 16px 48px;color:#212529}h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:2rem}\
figure{margin:0;border:1px solid #dee2e6;border-radius:6px;overflow:hidden}\
figure svg{display:block;width:100%;height:auto}.files{font-size:.85rem;color:#6c757d}\
nav ol{columns:2}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            html_escape("<b>\"R&D\"</b>'"),
            "&lt;b&gt;&quot;R&amp;D&quot;&lt;/b&gt;&#39;"
        );
    }
}
