//! `comp_plans.toml`: parsing and validation into a [`PlanBook`].
//!
//! Every problem is collected (not just the first) with the line it is on,
//! so a plan author fixes a file in one pass. Percent values are written as
//! strings with a `%` (`"8%"`) or as plain fractions (`0.08`); money as a
//! string or a number. Unknown keys are errors: a misspelt `treshold` must
//! not silently leave a plan without its threshold.

mod plan;

use plan::check_plan;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::span_of;
use crate::domain::{CreditSplit, FiscalCalendar, PlanAssignment, PlanBook, RepId};

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanProblem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Where in the document (`plan "ae" tier 2`).
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.location, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// A number written as `"8%"`, `"0.08"`, `0.08` or `8`: kept as text until
/// read as a fraction or as money, so no binary float ever rounds it.
#[derive(Debug, Clone)]
struct Num(String);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or a string such as \"8%\" or \"1500.00\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Num, E> {
                // Rust prints the shortest text that reads back as the same
                // float: 0.08 prints as "0.08", the number the author wrote.
                Ok(Num(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Num {
    /// As a fraction: `"8%"` is 0.08, `0.08` is 0.08.
    fn fraction(&self) -> Result<Decimal, String> {
        let (text, scale) = match self.0.strip_suffix('%') {
            Some(t) => (t.trim(), Decimal::ONE_HUNDRED),
            None => (self.0.as_str(), Decimal::ONE),
        };
        Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map(|v| v / scale)
            .map_err(|_| format!("{:?} is not a number or a percentage", self.0))
    }

    /// As money (no `%`).
    fn money(&self) -> Result<Decimal, String> {
        if self.0.ends_with('%') {
            return Err(format!(
                "{:?} is a percentage; an amount is expected",
                self.0
            ));
        }
        let cleaned: String = self.0.chars().filter(|c| *c != ',' && *c != '_').collect();
        Decimal::from_str(&cleaned)
            .or_else(|_| Decimal::from_scientific(&cleaned))
            .map_err(|_| format!("{:?} is not an amount", self.0))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBook {
    #[serde(default)]
    plan: Vec<Spanned<RawPlan>>,
    #[serde(default)]
    assignment: Vec<Spanned<RawAssignment>>,
    #[serde(default)]
    split: Vec<Spanned<RawSplit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    id: String,
    effective_from: Option<String>,
    name: Option<String>,
    period: String,
    #[serde(default)]
    measure: Option<String>,
    credit: Option<String>,
    products: Option<Vec<String>>,
    territories: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    currency: Option<String>,
    mode: Option<String>,
    base_rate: Option<Num>,
    threshold: Option<Num>,
    attainment_cap: Option<Num>,
    payout_cap: Option<Num>,
    #[serde(default)]
    tier: Vec<Spanned<RawTier>>,
    #[serde(default)]
    spiff: Vec<Spanned<RawSpiff>>,
    #[serde(default)]
    bonus: Vec<Spanned<RawBonus>>,
    draw: Option<RawDraw>,
    clawback: Option<RawClawback>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    from: Num,
    to: Option<Num>,
    rate: Option<Num>,
    multiplier: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpiff {
    name: String,
    amount: Num,
    product: Option<String>,
    min_amount: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBonus {
    at: Num,
    amount: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDraw {
    amount: Num,
    recoverable: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClawback {
    days: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssignment {
    rep_id: String,
    plan: String,
    from: String,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    booking: Option<String>,
    opportunity: Option<String>,
    shares: BTreeMap<String, Num>,
}

/// Collects problems with line numbers.
struct Problems<'a> {
    text: &'a str,
    found: Vec<PlanProblem>,
}

impl Problems<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1
    }

    fn push(&mut self, span: std::ops::Range<usize>, location: &str, message: impl Into<String>) {
        let line = Some(self.line_of(span.start));
        self.found.push(PlanProblem {
            line,
            location: location.to_owned(),
            message: message.into(),
        });
    }

    /// The value, or `None` with a problem naming `field`.
    fn value<T>(
        &mut self,
        parsed: Result<T, String>,
        span: &std::ops::Range<usize>,
        location: &str,
        field: &str,
    ) -> Option<T> {
        parsed
            .map_err(|e| self.push(span.clone(), location, format!("{field}: {e}")))
            .ok()
    }
}

/// Parses and checks a plan file. `fiscal` places quarter and year
/// boundaries (assignments must start and end on them).
pub fn parse_plan_book(text: &str, fiscal: FiscalCalendar) -> Result<PlanBook, Vec<PlanProblem>> {
    let raw: RawBook = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| {
            text[..s.start.min(text.len())]
                .bytes()
                .filter(|&b| b == b'\n')
                .count()
                + 1
        });
        vec![PlanProblem {
            line,
            location: "document".into(),
            message: e.message().to_owned(),
        }]
    })?;
    let mut problems = Problems {
        text,
        found: Vec::new(),
    };
    let mut book = PlanBook::default();
    let ids = plans(&raw, &mut book, &mut problems);
    book.assignments = assignments(&raw, &book, &ids, fiscal, &mut problems);
    book.splits = splits(&raw, &mut problems);
    if problems.found.is_empty() {
        Ok(book)
    } else {
        Err(problems.found)
    }
}

/// The plans of the book, each checked; returns every id given (valid or
/// not, so an assignment to a broken plan is not reported as unknown). One
/// id may be given several times as versions, each from its own
/// `effective_from` (at most one without), all of one period kind.
fn plans(raw: &RawBook, book: &mut PlanBook, problems: &mut Problems<'_>) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut versions: HashMap<(String, Option<String>), usize> = HashMap::new();
    for spanned in &raw.plan {
        let span = spanned.span();
        let p = spanned.get_ref();
        let loc = match &p.effective_from {
            Some(d) => format!("plan {:?} from {}", p.id, d.trim()),
            None => format!("plan {:?}", p.id),
        };
        if p.id.trim().is_empty() {
            problems.push(span.clone(), &loc, "plan id is empty");
        }
        ids.insert(p.id.clone());
        let key = (
            p.id.clone(),
            p.effective_from.as_ref().map(|d| d.trim().to_owned()),
        );
        let line = problems.line_of(span.start);
        if let Some(first) = versions.insert(key, line) {
            let message = match &p.effective_from {
                Some(_) => format!("a version of this plan from this day is on line {first}"),
                None => format!(
                    "plan id used twice without effective_from (also on line {first}): give each later version the day it takes effect"
                ),
            };
            problems.push(span.clone(), &loc, message);
        }
        if let Some(plan) = check_plan(p, span, &loc, problems) {
            book.plans.push(plan);
        }
    }
    book.plans
        .sort_by(|a, b| (&a.id, a.effective_from).cmp(&(&b.id, b.effective_from)));
    for pair in book.plans.windows(2) {
        if pair[0].id == pair[1].id && pair[0].period != pair[1].period {
            problems.found.push(PlanProblem {
                line: None,
                location: format!("plan {:?}", pair[1].id),
                message: format!(
                    "the version from {} is {}ly, the one before {}ly: a version keeps the plan's period (assign reps to a new plan instead)",
                    pair[1]
                        .effective_from
                        .map_or("the start".to_owned(), |d| d.to_string()),
                    pair[1].period.as_str(),
                    pair[0].period.as_str()
                ),
            });
        }
    }

    ids
}

/// Who is on which plan when: dates on the plan's period boundaries, no
/// overlap per rep, known plans.
fn assignments(
    raw: &RawBook,
    book: &PlanBook,
    ids: &HashSet<String>,
    fiscal: FiscalCalendar,
    problems: &mut Problems<'_>,
) -> Vec<PlanAssignment> {
    let mut out = Vec::new();
    let mut by_rep: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>, usize)>> = HashMap::new();
    for spanned in &raw.assignment {
        let span = spanned.span();
        let a = spanned.get_ref();
        let loc = format!("assignment of {:?} to {:?}", a.rep_id, a.plan);
        let rep_id = match RepId::parse(&a.rep_id) {
            Ok(r) => r,
            Err(e) => {
                problems.push(span, &loc, format!("rep_id: {e}"));
                continue;
            }
        };
        let day = |raw: &str, field: &str, problems: &mut Problems<'_>| {
            let parsed = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d");
            if parsed.is_err() {
                problems.push(
                    span.clone(),
                    &loc,
                    format!("{field}: {raw:?} is not a date (YYYY-MM-DD)"),
                );
            }
            parsed.ok()
        };
        let from = day(&a.from, "from", problems);
        let to = match a.to.as_deref() {
            Some(t) => match day(t, "to", problems) {
                Some(d) => Some(d),
                None => continue,
            },
            None => None,
        };
        let Some(from) = from else { continue };
        if to.is_some_and(|t| t < from) {
            problems.push(span.clone(), &loc, "`to` is before `from`");
            continue;
        }
        let Some(plan) = book.plan(&a.plan) else {
            if !ids.contains(&a.plan) {
                problems.push(span.clone(), &loc, format!("unknown plan {:?}", a.plan));
            }
            continue;
        };
        let first = span_of(fiscal, plan.period, from);
        if first.start != from {
            problems.push(
                span.clone(),
                &loc,
                format!(
                    "`from` {from} is not the first day of a {} of plan {:?} (the {} starts {})",
                    plan.period.as_str(),
                    plan.id,
                    first.label,
                    first.start
                ),
            );
        }
        if let Some(t) = to {
            let last = span_of(fiscal, plan.period, t);
            if last.end != t {
                problems.push(
                    span.clone(),
                    &loc,
                    format!(
                        "`to` {t} is not the last day of a {} of plan {:?} (the {} ends {})",
                        plan.period.as_str(),
                        plan.id,
                        last.label,
                        last.end
                    ),
                );
            }
        }
        let line = problems.line_of(span.start);
        let earlier = by_rep.entry(rep_id.as_str().to_owned()).or_default();
        for (f, t, other_line) in earlier.iter() {
            let overlaps =
                from <= t.unwrap_or(NaiveDate::MAX) && *f <= to.unwrap_or(NaiveDate::MAX);
            if overlaps {
                problems.push(
                    span.clone(),
                    &loc,
                    format!("overlaps the assignment on line {other_line}"),
                );
            }
        }
        earlier.push((from, to, line));
        out.push(PlanAssignment {
            rep_id,
            plan_id: plan.id.clone(),
            from,
            to,
        });
    }
    out.sort_by(|a, b| (&a.rep_id, a.from).cmp(&(&b.rep_id, b.from)));

    out
}

/// Credit splits: one of booking or deal, shares in (0, 100%] adding up to
/// 100%, each source split once.
fn splits(raw: &RawBook, problems: &mut Problems<'_>) -> Vec<CreditSplit> {
    let mut out = Vec::new();
    let mut sources = HashSet::new();
    for spanned in &raw.split {
        let span = spanned.span();
        let s = spanned.get_ref();
        let source = match (&s.booking, &s.opportunity) {
            (Some(b), None) => b.trim().to_owned(),
            (None, Some(o)) => o.trim().to_owned(),
            _ => {
                problems.push(
                    span,
                    "split",
                    "give exactly one of `booking` or `opportunity`",
                );
                continue;
            }
        };
        let loc = format!("split of {source:?}");
        if !sources.insert(source.clone()) {
            problems.push(span.clone(), &loc, "this booking or deal is split twice");
        }
        if s.shares.is_empty() {
            problems.push(span.clone(), &loc, "no shares");
            continue;
        }
        let mut shares = Vec::new();
        let mut total = Decimal::ZERO;
        for (rep, share) in &s.shares {
            let rep_id = match RepId::parse(rep) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(span.clone(), &loc, format!("rep {rep:?}: {e}"));
                    continue;
                }
            };
            match share.fraction() {
                Ok(v) if v > Decimal::ZERO && v <= Decimal::ONE => {
                    total += v;
                    shares.push((rep_id, v));
                }
                Ok(_) => problems.push(
                    span.clone(),
                    &loc,
                    format!(
                        "share of {rep}: {:?} must be above 0% and at most 100%",
                        share.0
                    ),
                ),
                Err(e) => problems.push(span.clone(), &loc, format!("share of {rep}: {e}")),
            }
        }
        if shares.len() == s.shares.len() && total != Decimal::ONE {
            problems.push(
                span.clone(),
                &loc,
                format!(
                    "shares add up to {}%, not 100%",
                    (total * Decimal::ONE_HUNDRED).normalize()
                ),
            );
        }
        out.push(CreditSplit {
            source_id: source,
            shares,
        });
    }
    out.sort_by(|a, b| a.source_id.cmp(&b.source_id));

    out
}

/// Problems with the people a plan book names: reps that do not exist, and
/// reps whose `plan_id` names no plan.
pub fn check_references(
    book: &PlanBook,
    rep_exists: impl Fn(&str) -> bool,
    rep_plans: &[(String, String)],
) -> Vec<PlanProblem> {
    let mut found = Vec::new();
    for a in &book.assignments {
        if !rep_exists(a.rep_id.as_str()) {
            found.push(PlanProblem {
                line: None,
                location: format!("assignment of {:?} to {:?}", a.rep_id.as_str(), a.plan_id),
                message: format!("unknown rep {:?}", a.rep_id.as_str()),
            });
        }
    }
    for s in &book.splits {
        for (rep, _) in &s.shares {
            if !rep_exists(rep.as_str()) {
                found.push(PlanProblem {
                    line: None,
                    location: format!("split of {:?}", s.source_id),
                    message: format!("unknown rep {:?}", rep.as_str()),
                });
            }
        }
    }
    for (rep, plan) in rep_plans {
        if book.plan(plan).is_none() {
            found.push(PlanProblem {
                line: None,
                location: format!("reps.csv rep {rep:?}"),
                message: format!("plan_id {plan:?} is not in comp_plans.toml"),
            });
        }
    }
    found
}
