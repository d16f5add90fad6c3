//! One `[[plan]]` table checked into a [`CompPlan`]: its period and mode,
//! threshold and caps, tiers, SPIFFs, bonuses, draw and clawback window.

use rust_decimal::Decimal;

use super::{Num, Problems, RawPlan};
use crate::domain::{
    AttainmentBonus, CompPlan, CreditRule, Draw, Measure, PlanPeriod, Spiff, Tier, TierMode,
};

pub(super) fn check_plan(
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
    let measure = match p.measure.as_deref().map(|m| m.trim().to_ascii_lowercase()) {
        None => Measure::Bookings,
        Some(m) => match Measure::ALL.into_iter().find(|k| k.as_str() == m) {
            Some(k) => k,
            None => {
                bad(format!(
                    "measure {m:?}: expected bookings, deals, margin or acv"
                ));
                Measure::Bookings
            }
        },
    };
    let credit = match p.credit.as_deref().map(|c| c.trim().to_ascii_lowercase()) {
        None => CreditRule::Own,
        Some(c) if c == "own" => CreditRule::Own,
        Some(c) if c == "team" => CreditRule::Team,
        Some(c) if c == "territory" => CreditRule::Territory,
        Some(c) if c == "region" => CreditRule::Region,
        Some(c) => {
            bad(format!(
                "credit {c:?}: expected own, team, territory or region"
            ));
            CreditRule::Own
        }
    };
    let currency = p.currency.as_deref().map(|c| c.trim().to_ascii_uppercase());
    if let Some(code) = &currency {
        if iso_currency::Currency::from_code(code).is_none() {
            bad(format!(
                "currency {code:?}: not an ISO 4217 code (e.g. EUR, GBP, JPY)"
            ));
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

    let tiers = check_tiers(p, base_rate, measure, &span, loc, problems);
    let spiffs = check_spiffs(p, loc, problems);
    let bonuses = check_bonuses(p, loc, problems);

    let (draw, clawback_days) = check_draw_and_clawback(p, &span, loc, problems);
    let effective_from = p.effective_from.as_deref().and_then(|t| {
        match chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(
                    span.clone(),
                    loc,
                    format!("effective_from: {t:?} is not a date (YYYY-MM-DD)"),
                );
                None
            }
        }
    });
    if problems.found.len() > before {
        return None;
    }
    let mut plan = CompPlan {
        id: p.id.trim().to_owned(),
        name: p.name.clone().unwrap_or_else(|| p.id.trim().to_owned()),
        period,
        products: p.products.clone(),
        credit,
        territories: p.territories.clone(),
        regions: p.regions.clone(),
        measure,
        currency,
        mode,
        tiers,
        threshold,
        attainment_cap,
        payout_cap,
        spiffs,
        bonuses,
        draw,
        clawback_days,
        effective_from,
        version: String::new(),
    };
    plan.version = plan.digest();
    Some(plan)
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
    for (name, list) in [
        ("products", &p.products),
        ("territories", &p.territories),
        ("regions", &p.regions),
    ] {
        if list.as_ref().is_some_and(Vec::is_empty) {
            problems.push(
                span.clone(),
                loc,
                format!("`{name}` is empty: nothing would be credited"),
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
    measure: Measure,
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
            Ok(r) if r > Decimal::ONE && measure.is_money() => {
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
