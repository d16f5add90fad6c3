//! The generated organisation's comp plans: a `comp_plans.toml` that uses
//! most rules (marginal and retroactive tiers, an accelerator and a
//! decelerator, a threshold, caps, a SPIFF, bonuses, a ramp plan with a
//! recoverable draw for new hires, clawbacks, split deals and a mid-data
//! plan change), managers on team credit, a Platform overlay for one
//! region, a plan paying the euro region in euros, and each person's
//! default `plan_id`.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

use super::SimOrg;
use crate::features::{month_end, month_idx, month_start};

/// The plans every generated org shares.
const PLANS: &str = r#"# Comp plans of the generated organisation (see README, "Comp plans").
# Percentages are strings with a % sign; amounts are strings in the
# organisation's currency.

[[plan]]
id = "ae"
name = "Account Executive"
period = "quarter"
mode = "marginal"
base_rate = "10%"
threshold = "40%"          # below 40% of quota the tiers pay nothing
attainment_cap = "300%"    # credit above 300% of quota earns nothing
payout_cap = "150000"      # most paid in one quarter

  [[plan.tier]]
  from = "0%"
  to = "100%"
  multiplier = 1           # 10%

  [[plan.tier]]
  from = "100%"
  to = "150%"
  multiplier = 1.5         # accelerator: 15%

  [[plan.tier]]
  from = "150%"
  multiplier = 0.6         # decelerator: 6%

  [[plan.spiff]]
  name = "Platform deal"
  amount = "750"
  product = "Platform"
  min_amount = "50000"

  [[plan.bonus]]
  at = "100%"
  amount = "2000"

  [plan.clawback]
  days = 90

[[plan]]
id = "enterprise"
name = "Enterprise AE (Platform and Analytics only)"
period = "quarter"
mode = "retroactive"       # the rate of the tier reached applies to all credit
products = ["Platform", "Analytics"]

  [[plan.tier]]
  from = "0%"
  to = "80%"
  rate = "6%"

  [[plan.tier]]
  from = "80%"
  to = "120%"
  rate = "9%"

  [[plan.tier]]
  from = "120%"
  rate = "12%"

  [[plan.bonus]]
  at = "120%"
  amount = "5000"

  [plan.clawback]
  days = 120

[[plan]]
id = "manager"
name = "Front-line manager (team credit)"
period = "quarter"
credit = "team"            # every booking of the people under them, and their own

  [[plan.tier]]
  from = "0%"
  rate = "1.5%"

[[plan]]
id = "ramp"
name = "New-hire ramp (first three months)"
period = "month"

  [[plan.tier]]
  from = "0%"
  rate = "8%"

  [plan.draw]
  amount = "2500"
  recoverable = true
"#;

/// The plan file text and each quota-carrying rep's default plan.
pub fn plan_book(org: &SimOrg) -> (String, BTreeMap<String, String>) {
    let mut text = PLANS.to_owned();
    // The first region's reps sell enterprise deals from the second
    // calendar year of data on (fiscal years start in January here).
    let enterprise_region = org.territories.first().map(|t| t.region.as_str());
    // Reps of a region booking in another currency are paid in it.
    let local_region = local_region(org);
    if let Some((_, code)) = local_region {
        let _ = write!(text, "{}", local_plan(code));
    }
    let region_of: BTreeMap<&str, &str> = org
        .territories
        .iter()
        .map(|t| (t.id.as_str(), t.region.as_str()))
        .collect();
    let first_day = org
        .people
        .iter()
        .map(|p| p.hire_date)
        .min()
        .unwrap_or(org.end);
    let data_start = org
        .deals
        .iter()
        .map(|d| d.created)
        .chain(org.bookings.iter().map(|b| b.date))
        .min()
        .unwrap_or(first_day);
    let switch = NaiveDate::from_ymd_opt(data_start.year() + 1, 1, 1).unwrap_or(data_start);
    let mut defaults = BTreeMap::new();
    if let Some(region) = enterprise_region {
        let _ = write!(
            text,
            r#"
[[plan]]
id = "platform_overlay"
name = "Platform overlay ({region})"
period = "quarter"
credit = "region"          # every booking in these regions...
regions = ["{region}"]
products = ["Platform"]    # ...of this product

  [[plan.tier]]
  from = "0%"
  rate = "1%"
"#
        );
        defaults.insert("S001".to_owned(), "platform_overlay".to_owned());
    }
    for p in org.people.iter().filter(|p| p.role == "manager") {
        defaults.insert(p.id.clone(), "manager".to_owned());
    }
    let mut assignments = String::new();
    for p in org
        .people
        .iter()
        .filter(|p| p.role == "rep" && !p.is_overlay())
    {
        let enterprise = p
            .territory_id
            .as_deref()
            .and_then(|t| region_of.get(t))
            .is_some_and(|r| Some(*r) == enterprise_region);
        let local = p
            .territory_id
            .as_deref()
            .and_then(|t| region_of.get(t))
            .is_some_and(|r| local_region.is_some_and(|(l, _)| l == *r));
        let default = if enterprise {
            "enterprise"
        } else if local {
            "ae_local"
        } else {
            "ae"
        };
        defaults.insert(p.id.clone(), default.to_owned());
        let hired_late = p.hire_date > data_start;
        let mut ramp_end = None;
        if hired_late {
            let hired = month_idx(p.hire_date);
            let (from, to) = (month_start(hired), month_end(hired + 2));
            ramp_end = Some(to);
            let _ = writeln!(
                assignments,
                "\n[[assignment]]\nrep_id = \"{}\"\nplan = \"ramp\"\nfrom = \"{from}\"\nto = \"{to}\"",
                p.id
            );
        }
        // A change of plan mid-data: enterprise reps hired before the
        // switch were on the standard plan until it.
        if enterprise && p.hire_date < switch && ramp_end.is_none_or(|e| e < switch) {
            let from = ramp_end
                .and_then(|e| e.succ_opt())
                .unwrap_or(NaiveDate::from_ymd_opt(data_start.year(), 1, 1).unwrap_or(data_start));
            // Quarter-aligned start for the quarterly plan.
            let q_month = (from.month() - 1) / 3 * 3 + 1;
            let mut q_start = NaiveDate::from_ymd_opt(from.year(), q_month, 1).unwrap_or(from);
            if q_start < from {
                q_start = q_start
                    .checked_add_months(chrono::Months::new(3))
                    .unwrap_or(q_start);
            }
            if q_start < switch {
                let to = switch.pred_opt().unwrap_or(switch);
                let _ = writeln!(
                    assignments,
                    "\n[[assignment]]\nrep_id = \"{}\"\nplan = \"ae\"\nfrom = \"{q_start}\"\nto = \"{to}\"",
                    p.id
                );
            }
        }
    }
    text.push_str("\n# Effective-dated assignments: they override a rep's plan_id on the\n# days they cover (new hires ramp first; one region changed plans).\n");
    text.push_str(&assignments);

    // Split credit: every 97th booking from a deal is shared 60/40 with
    // another rep of the same territory.
    let mut by_territory: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in org
        .people
        .iter()
        .filter(|p| p.role == "rep" && !p.is_overlay())
    {
        if let Some(t) = &p.territory_id {
            by_territory
                .entry(t.as_str())
                .or_default()
                .push(p.id.as_str());
        }
    }
    text.push_str("\n# Split credit: shares must add up to 100%.\n");
    for (i, b) in org
        .bookings
        .iter()
        .filter(|b| b.opportunity_id.is_some())
        .enumerate()
    {
        if i % 97 != 0 {
            continue;
        }
        let Some(mates) = by_territory.get(b.territory_id.as_str()) else {
            continue;
        };
        let Some(other) = mates.iter().find(|m| **m != b.rep_id) else {
            continue;
        };
        let source = if i % 2 == 0 {
            format!("booking = \"{}\"", b.id)
        } else {
            format!(
                "opportunity = \"{}\"",
                b.opportunity_id.as_deref().unwrap_or_default()
            )
        };
        let _ = writeln!(
            text,
            "\n[[split]]\n{source}\nshares = {{ \"{}\" = \"60%\", \"{other}\" = \"40%\" }}",
            b.rep_id
        );
    }
    (text, defaults)
}

/// The region whose records are in another currency, and that currency.
fn local_region(org: &SimOrg) -> Option<(&str, &'static str)> {
    let code = org.fx_rates.first()?.currency;
    let territories: Vec<&str> = org
        .bookings
        .iter()
        .filter(|b| b.currency == Some(code))
        .map(|b| b.territory_id.as_str())
        .collect();
    let first = territories.first()?;
    org.territories
        .iter()
        .find(|t| t.id == *first)
        .map(|t| (t.region.as_str(), code))
}

/// The standard AE plan, paid in `code` with its amounts in `code`.
fn local_plan(code: &str) -> String {
    format!(
        r#"
[[plan]]
id = "ae_local"
name = "Account Executive ({code})"
period = "quarter"
mode = "marginal"
currency = "{code}"        # quota, credit and payout in {code}
base_rate = "10%"
threshold = "40%"
payout_cap = "140000"

  [[plan.tier]]
  from = "0%"
  to = "100%"
  multiplier = 1

  [[plan.tier]]
  from = "100%"
  multiplier = 1.5

  [[plan.bonus]]
  at = "100%"
  amount = "1800"

  [plan.clawback]
  days = 90
"#
    )
}
