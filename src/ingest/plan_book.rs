//! `comp_plans.toml`: parsing and validation into a [`PlanBook`].
//!
//! Every problem is collected (not just the first) with the line it is on,
//! so a plan author fixes a file in one pass. Percent values are written as
//! strings with a `%` (`"8%"`) or as plain fractions (`0.08`); money as a
//! string or a number. Unknown keys are errors: a misspelt `treshold` must
//! not silently leave a plan without its threshold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::span_of;
use crate::domain::{
    AttainmentBonus, CompPlan, CreditSplit, Draw, FiscalCalendar, PlanAssignment, PlanBook,
    PlanPeriod, RepId, Spiff, Tier, TierMode,
};

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
    name: Option<String>,
    period: String,
    #[serde(default)]
    measure: Option<String>,
    products: Option<Vec<String>>,
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
/// not, so an assignment to a broken plan is not reported as unknown).
fn plans(raw: &RawBook, book: &mut PlanBook, problems: &mut Problems<'_>) -> HashSet<String> {
    let mut ids = HashSet::new();
    for spanned in &raw.plan {
        let span = spanned.span();
        let p = spanned.get_ref();
        let loc = format!("plan {:?}", p.id);
        if p.id.trim().is_empty() {
            problems.push(span.clone(), &loc, "plan id is empty");
        }
        if !ids.insert(p.id.clone()) {
            problems.push(span.clone(), &loc, "plan id used twice");
        }
        if let Some(plan) = check_plan(p, span, &loc, problems) {
            book.plans.push(plan);
        }
    }
    book.plans.sort_by(|a, b| a.id.cmp(&b.id));

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

fn check_plan(
    p: &RawPlan,
    span: std::ops::Range<usize>,
    loc: &str,
    problems: &mut Problems<'_>,
) -> Option<CompPlan> {
    let before = problems.found.len();
    let mut bad = |message: String| problems.push(span.clone(), loc, message);
    let period = match p.period.trim().to_ascii_lowercase().as_str() {
        "month" => PlanPeriod::Month,
        "quarter" => PlanPeriod::Quarter,
        "year" => PlanPeriod::Year,
        other => {
            bad(format!("period {other:?}: expected month, quarter or year"));
            PlanPeriod::Quarter
        }
    };
    if let Some(m) = &p.measure {
        if m.trim() != "bookings" {
            bad(format!("measure {m:?}: only \"bookings\" is credited"));
        }
    }
    let mode = match p.mode.as_deref().map(|m| m.trim().to_ascii_lowercase()) {
        None => TierMode::Marginal,
        Some(m) if m == "marginal" => TierMode::Marginal,
        Some(m) if m == "retroactive" => TierMode::Retroactive,
        Some(m) => {
            bad(format!("mode {m:?}: expected marginal or retroactive"));
            TierMode::Marginal
        }
    };
    let fraction = |v: &Option<Num>, field: &str, problems: &mut Problems<'_>| -> Option<Decimal> {
        let v = v.as_ref()?;
        match v.fraction() {
            Ok(d) if d >= Decimal::ZERO => Some(d),
            Ok(_) => {
                problems.push(span.clone(), loc, format!("{field} must not be negative"));
                None
            }
            Err(e) => {
                problems.push(span.clone(), loc, format!("{field}: {e}"));
                None
            }
        }
    };
    let base_rate = fraction(&p.base_rate, "base_rate", problems);
    let threshold = fraction(&p.threshold, "threshold", problems);
    let attainment_cap = fraction(&p.attainment_cap, "attainment_cap", problems);
    if let (Some(t), Some(c)) = (threshold, attainment_cap) {
        if c <= t {
            problems.push(
                span.clone(),
                loc,
                "attainment_cap must be above the threshold",
            );
        }
    }
    if attainment_cap == Some(Decimal::ZERO) {
        problems.push(span.clone(), loc, "attainment_cap of 0% pays nothing");
    }
    let payout_cap = p.payout_cap.as_ref().and_then(|v| match v.money() {
        Ok(d) if d >= Decimal::ZERO => Some(d),
        Ok(_) => {
            problems.push(span.clone(), loc, "payout_cap must not be negative");
            None
        }
        Err(e) => {
            problems.push(span.clone(), loc, format!("payout_cap: {e}"));
            None
        }
    });

    let tiers = check_tiers(p, base_rate, &span, loc, problems);
    let spiffs = check_spiffs(p, loc, problems);
    let bonuses = check_bonuses(p, loc, problems);

    let (draw, clawback_days) = check_draw_and_clawback(p, &span, loc, problems);
    if problems.found.len() > before {
        return None;
    }
    Some(CompPlan {
        id: p.id.trim().to_owned(),
        name: p.name.clone().unwrap_or_else(|| p.id.trim().to_owned()),
        period,
        products: p.products.clone(),
        mode,
        tiers,
        threshold,
        attainment_cap,
        payout_cap,
        spiffs,
        bonuses,
        draw,
        clawback_days,
    })
}

/// The draw (a positive guarantee) and the clawback window (1..=3650
/// days); an empty product list is refused here too.
fn check_draw_and_clawback(
    p: &RawPlan,
    span: &std::ops::Range<usize>,
    loc: &str,
    problems: &mut Problems<'_>,
) -> (Option<Draw>, Option<u32>) {
    let draw = p.draw.as_ref().and_then(|d| match d.amount.money() {
        Ok(a) if a > Decimal::ZERO => Some(Draw {
            amount: a,
            recoverable: d.recoverable,
        }),
        Ok(_) => {
            problems.push(span.clone(), loc, "draw amount must be above zero");
            None
        }
        Err(e) => {
            problems.push(span.clone(), loc, format!("draw amount: {e}"));
            None
        }
    });
    let clawback_days = match &p.clawback {
        Some(c) if (1..=3650).contains(&c.days) => Some(c.days as u32),
        Some(c) => {
            problems.push(
                span.clone(),
                loc,
                format!("clawback days {} is not in 1..=3650", c.days),
            );
            None
        }
        None => None,
    };
    if let Some(products) = &p.products {
        if products.is_empty() {
            problems.push(
                span.clone(),
                loc,
                "`products` is empty: nothing would be credited",
            );
        }
    }
    (draw, clawback_days)
}

/// The tiers of a plan: each one's bounds and rate (or multiplier of the
/// base rate), the last open-ended, no gap or overlap between them.
fn check_tiers(
    p: &RawPlan,
    base_rate: Option<Decimal>,
    span: &std::ops::Range<usize>,
    loc: &str,
    problems: &mut Problems<'_>,
) -> Vec<Tier> {
    let mut tiers = Vec::new();
    if p.tier.is_empty() {
        problems.push(span.clone(), loc, "a plan needs at least one [[plan.tier]]");
    }
    let count = p.tier.len();
    for (i, spanned) in p.tier.iter().enumerate() {
        let tspan = spanned.span();
        let t = spanned.get_ref();
        let tloc = format!("{loc} tier {}", i + 1);
        let Some(from) = problems.value(t.from.fraction(), &tspan, &tloc, "from") else {
            continue;
        };
        let to = t.to.as_ref().map(Num::fraction).transpose();
        let Some(to) = problems.value(to, &tspan, &tloc, "to") else {
            continue;
        };
        let rate = match (&t.rate, &t.multiplier, base_rate) {
            (Some(r), None, _) => r.fraction(),
            (None, Some(m), Some(base)) => m
                .fraction()
                .map(|m| base * m)
                .map_err(|e| format!("multiplier: {e}")),
            (None, Some(_), None) => Err("a multiplier needs the plan's base_rate".into()),
            (Some(_), Some(_), _) => Err("give `rate` or `multiplier`, not both".into()),
            (None, None, _) => Err("give `rate` (or `multiplier` with a base_rate)".into()),
        };
        let rate = match rate {
            Ok(r) if r < Decimal::ZERO => {
                problems.push(tspan, &tloc, "rate must not be negative");
                continue;
            }
            Ok(r) if r > Decimal::ONE => {
                problems.push(
                    tspan,
                    &tloc,
                    format!(
                        "rate {}% is above 100% of the credit",
                        (r * Decimal::ONE_HUNDRED).normalize()
                    ),
                );
                continue;
            }
            Ok(r) => r,
            Err(e) => {
                problems.push(tspan, &tloc, e);
                continue;
            }
        };
        if to.is_some_and(|to| to <= from) {
            problems.push(tspan.clone(), &tloc, "`to` must be above `from`");
        }
        if to.is_none() && i + 1 < count {
            problems.push(
                tspan.clone(),
                &tloc,
                "only the last tier may be open-ended (no `to`)",
            );
        }
        if to.is_some() && i + 1 == count {
            problems.push(
                tspan.clone(),
                &tloc,
                "the last tier must be open-ended (no `to`); stop paying with attainment_cap",
            );
        }
        let previous_end = if i == 0 {
            Some(Decimal::ZERO)
        } else {
            tiers.last().and_then(|t: &Tier| t.to)
        };
        check_tier_start(i, from, previous_end, tspan.clone(), &tloc, problems);
        tiers.push(Tier { from, to, rate });
    }

    tiers
}

/// A tier starts where the one below ends (the first at 0%).
fn check_tier_start(
    i: usize,
    from: Decimal,
    previous_end: Option<Decimal>,
    tspan: std::ops::Range<usize>,
    tloc: &str,
    problems: &mut Problems<'_>,
) {
    let Some(end) = previous_end else { return };
    let pct = |d: Decimal| (d * Decimal::ONE_HUNDRED).normalize();
    let message = if from == end {
        return;
    } else if i == 0 {
        format!("the first tier must start at 0%, not {}%", pct(from))
    } else if from < end {
        format!(
            "overlaps the tier below: starts at {}% but the tier below runs to {}%",
            pct(from),
            pct(end)
        )
    } else {
        format!(
            "gap between tiers: the tier below ends at {}% and this one starts at {}%",
            pct(end),
            pct(from)
        )
    };
    problems.push(tspan, tloc, message);
}

/// The plan's SPIFFs: a positive amount, an optional minimum deal size.
fn check_spiffs(p: &RawPlan, loc: &str, problems: &mut Problems<'_>) -> Vec<Spiff> {
    let mut spiffs = Vec::new();
    for spanned in &p.spiff {
        let sspan = spanned.span();
        let s = spanned.get_ref();
        let sloc = format!("{loc} spiff {:?}", s.name);
        let amount = match s.amount.money() {
            Ok(a) if a > Decimal::ZERO => a,
            Ok(_) => {
                problems.push(sspan, &sloc, "amount must be above zero");
                continue;
            }
            Err(e) => {
                problems.push(sspan, &sloc, format!("amount: {e}"));
                continue;
            }
        };
        let min_amount = s.min_amount.as_ref().map(Num::money).transpose();
        let Some(min_amount) = problems.value(min_amount, &sspan, &sloc, "min_amount") else {
            continue;
        };
        spiffs.push(Spiff {
            name: s.name.clone(),
            amount,
            product: s.product.clone(),
            min_amount,
        });
    }

    spiffs
}

/// The plan's attainment bonuses: one per attainment level, positive.
fn check_bonuses(p: &RawPlan, loc: &str, problems: &mut Problems<'_>) -> Vec<AttainmentBonus> {
    let mut bonuses: Vec<AttainmentBonus> = Vec::new();
    for spanned in &p.bonus {
        let bspan = spanned.span();
        let b = spanned.get_ref();
        let bloc = format!("{loc} bonus");
        match (b.at.fraction(), b.amount.money()) {
            (Ok(at), Ok(amount)) if at >= Decimal::ZERO && amount > Decimal::ZERO => {
                if bonuses.iter().any(|x| x.at == at) {
                    problems.push(bspan, &bloc, "two bonuses at the same attainment");
                    continue;
                }
                bonuses.push(AttainmentBonus { at, amount });
            }
            (Ok(_), Ok(_)) => problems.push(
                bspan,
                &bloc,
                "`at` must not be negative and `amount` must be above zero",
            ),
            (Err(e), _) => problems.push(bspan, &bloc, format!("at: {e}")),
            (_, Err(e)) => problems.push(bspan, &bloc, format!("amount: {e}")),
        }
    }
    bonuses.sort_by_key(|a| a.at);

    bonuses
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
