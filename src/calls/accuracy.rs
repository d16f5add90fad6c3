//! Whose calls to trust: for finished periods, each person's calls at each
//! week of the period against what was booked, beside the model's forecast
//! on the same days.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{ModelRange, latest_as_of};
use crate::domain::{Call, Money};

/// One person's record over the periods asked for.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PersonAccuracy {
    /// The person.
    pub person_id: String,
    /// Finished periods with at least one of their calls.
    pub periods: usize,
    /// Weekly points scored (a point: the call standing at a week's end).
    pub points: usize,
    /// Mean of |commit - booked| / booked over the points.
    pub call_mape: Option<f64>,
    /// Mean of (commit - booked) / booked: above 0 calls high (optimist),
    /// below 0 low (sandbagger).
    pub call_bias: Option<f64>,
    /// The same for the model's P50 on the same days.
    pub model_mape: Option<f64>,
    /// The model's bias on the same days.
    pub model_bias: Option<f64>,
    /// Share of points where what was booked fell inside the model's
    /// P10-P90 of that day.
    pub inside_model_band: Option<f64>,
    /// Share of points where the call was nearer what was booked than the
    /// model's P50.
    pub call_beat_model: Option<f64>,
}

/// One finished period of one person: their calls, what was booked, and
/// the model's range on the days scored.
pub struct PeriodRecord<'a> {
    /// The calls made for the period (any submitter).
    pub calls: &'a [Call],
    /// First and last day of the period.
    pub span: (NaiveDate, NaiveDate),
    /// What the person's entity booked in the period.
    pub booked: Money,
    /// The model's range for the person's entity and period on a scored
    /// day, from the newest run on or before it (days without a run absent).
    pub model: &'a HashMap<NaiveDate, ModelRange>,
}

/// The days a period's calls are scored on: the end of each of its weeks
/// (counted from its first day), and its last day.
pub fn week_days((start, end): (NaiveDate, NaiveDate)) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut day = start + chrono::Duration::days(6);
    while day < end {
        out.push(day);
        day += chrono::Duration::days(7);
    }
    out.push(end);
    out
}

/// Scores `person`'s calls over their finished periods.
pub fn person_accuracy(person: &str, periods: &[PeriodRecord<'_>]) -> PersonAccuracy {
    let mut call_err = Vec::new();
    let mut call_signed = Vec::new();
    let mut model_err = Vec::new();
    let mut model_signed = Vec::new();
    let mut inside = Vec::new();
    let mut beat = Vec::new();
    let mut with_calls = 0;
    for record in periods {
        let booked = record.booked.cents() as f64;
        let mine: Vec<Call> = record
            .calls
            .iter()
            .filter(|c| c.person_id == person)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        with_calls += 1;
        for day_now in week_days(record.span) {
            if let Some(call) = latest_as_of(&mine, day_now).get(person) {
                let commit = call.commit.cents() as f64;
                if booked > 0.0 {
                    call_err.push((commit - booked).abs() / booked);
                    call_signed.push((commit - booked) / booked);
                }
                if let Some(range) = record.model.get(&day_now) {
                    let p50 = range.p50.cents() as f64;
                    if booked > 0.0 {
                        model_err.push((p50 - booked).abs() / booked);
                        model_signed.push((p50 - booked) / booked);
                    }
                    let b = record.booked;
                    inside.push(f64::from(u8::from(range.p10 <= b && b <= range.p90)));
                    beat.push(f64::from(u8::from(
                        (commit - booked).abs() < (p50 - booked).abs(),
                    )));
                }
            }
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    PersonAccuracy {
        person_id: person.to_owned(),
        periods: with_calls,
        points: call_signed.len().max(call_err.len()),
        call_mape: mean(&call_err),
        call_bias: mean(&call_signed),
        model_mape: mean(&model_err),
        model_bias: mean(&model_signed),
        inside_model_band: mean(&inside),
        call_beat_model: mean(&beat),
    }
}

/// Everyone's accuracy, best callers (lowest error) first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CallAccuracy {
    /// The finished periods scored.
    pub periods: Vec<String>,
    /// One line a person who called any of them.
    pub people: Vec<PersonAccuracy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: i64, person: &str, day: &str, commit: i64) -> Call {
        Call::commit_only(id, person, "2025-Q1", &format!("{day}T09:00:00Z"), commit)
    }

    #[test]
    fn a_sandbagger_and_an_optimist_show_their_bias_and_the_model_its_band() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let calls = vec![
            call(1, "LOW", "2024-12-30", 8000),
            call(2, "HIGH", "2024-12-30", 12000),
            // The optimist comes down halfway through.
            call(3, "HIGH", "2025-02-15", 11000),
        ];
        let span = (d("2025-01-01"), d("2025-03-31"));
        let model: HashMap<NaiveDate, ModelRange> = week_days(span)
            .into_iter()
            .map(|day| {
                let range = ModelRange {
                    p10: Money::from_cents(9000),
                    p50: Money::from_cents(10500),
                    p90: Money::from_cents(11500),
                };
                (day, range)
            })
            .collect();
        let record = || PeriodRecord {
            calls: &calls,
            span,
            booked: Money::from_cents(10000),
            model: &model,
        };
        let low = person_accuracy("LOW", &[record()]);
        assert_eq!(low.periods, 1);
        // Week ends from Jan 7 to Mar 25, then the period's last day.
        assert_eq!(low.points, 13);
        assert!((low.call_bias.unwrap() + 0.2).abs() < 1e-12, "{low:?}");
        assert!((low.call_mape.unwrap() - 0.2).abs() < 1e-12);
        assert!((low.model_bias.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(low.inside_model_band, Some(1.0));
        assert_eq!(low.call_beat_model, Some(0.0));
        let high = person_accuracy("HIGH", &[record()]);
        let bias = high.call_bias.unwrap();
        assert!(bias > 0.1 && bias < 0.2, "{bias}");
        let nobody = person_accuracy("NONE", &[record()]);
        assert_eq!((nobody.periods, nobody.call_mape), (0, None));
    }
}
