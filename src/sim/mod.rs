//! The synthetic sales organisation: seeded, deterministic, with planted
//! ground truth, written in attain's native format.
//!
//! What it models, and why each piece is there:
//! - regions -> territories; a CRO -> regional leaders -> managers -> reps, so
//!   roll-ups and manager scoping have something to roll up;
//! - rep skill differences (win rate, deal size), new-hire ramp and monthly
//!   attrition with replacement hires, so models must cope with short and
//!   broken histories;
//! - seasonality: more deals created in autumn, closes bunched at quarter
//!   end, a Q4 budget flush;
//! - deals that move through stages with close-date pushes, amount changes
//!   and stage regressions, each recorded in `opportunity_history`, and end
//!   the simulated period still open when they would close later;
//! - renewal and expansion bookings without an opportunity, as most SaaS reps
//!   carry them;
//! - quarterly quotas set like a sales-ops team would: from the org's
//!   typical productivity, partly adjusted for a rep's known skill and ramp,
//!   so most reps land between 60% and 130% of quota;
//! - planted declining reps (fewer deals, falling win rate), listed with the
//!   month the decline starts in `truth.csv`;
//! - weekly forecast calls of reps, managers and leaders with planted
//!   habits (sandbaggers, optimists, accurate callers; managers who cut or
//!   raise their team's number), the habits in `truth.csv`;
//! - reps who changed teams mid-data (`org_history.csv`), and one region
//!   that sells in euros with monthly rates (`fx_rates.csv`).

mod calls;
mod deals;
mod flat;
mod fx;
mod moves;
mod plans;
mod write;

pub use calls::SimCall;
use deals::simulate_deal;

use std::path::Path;

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};

use crate::domain::{FiscalCalendar, Period};

pub use flat::{FLAT_MAPPING, write_flat};
pub use fx::SimRate;
pub use moves::SimMove;
pub use write::write_org;

/// Why generation could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Generator settings as given (see [`OrgParams::check`]).
#[derive(Debug, Clone)]
pub struct OrgParams {
    /// Quota-carrying headcount (reps in seat at any time).
    pub reps: usize,
    /// Months simulated.
    pub months: u32,
    /// Random seed: the same seed and settings give the same files.
    pub seed: u64,
    /// First month simulated.
    pub start: NaiveDate,
    /// Average deals a fully ramped rep creates per month.
    pub deals_per_rep_month: f64,
}

impl Default for OrgParams {
    fn default() -> Self {
        OrgParams {
            reps: 60,
            months: 36,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN),
            deals_per_rep_month: 3.0,
        }
    }
}

/// Checked generator settings.
#[derive(Debug, Clone)]
pub struct ValidOrgParams(OrgParams);

impl OrgParams {
    /// Refuses settings the generator cannot honour.
    pub fn check(self) -> Result<ValidOrgParams, SimError> {
        if !(5..=20_000).contains(&self.reps) {
            return Err(SimError::Invalid(format!(
                "--reps must be 5 to 20000 (got {})",
                self.reps
            )));
        }
        if !(6..=120).contains(&self.months) {
            return Err(SimError::Invalid(format!(
                "--months must be 6 to 120 (got {})",
                self.months
            )));
        }
        if !(0.2..=50.0).contains(&self.deals_per_rep_month) {
            return Err(SimError::Invalid(
                "deals per rep-month must be 0.2 to 50".into(),
            ));
        }
        if self.start.day() != 1 {
            return Err(SimError::Invalid(
                "start must be the first day of a month".into(),
            ));
        }
        Ok(ValidOrgParams(self))
    }
}

/// The stages an open deal moves through, in order.
pub const OPEN_STAGES: [&str; 4] = ["Prospecting", "Qualification", "Proposal", "Negotiation"];
/// Stage of a won deal.
pub const WON_STAGE: &str = "Closed Won";
/// Stage of a lost deal.
pub const LOST_STAGE: &str = "Closed Lost";

/// The CRM forecast category a stage implies.
pub fn forecast_category(stage: &str) -> &'static str {
    match stage {
        "Prospecting" | "Qualification" => "Pipeline",
        "Proposal" => "Best Case",
        "Negotiation" => "Commit",
        WON_STAGE => "Closed",
        _ => "Omitted",
    }
}

/// A product line: its share of new deals, median deal size and how its win
/// rate differs from the average.
struct Product {
    name: &'static str,
    share: f64,
    median_amount: f64,
    win_factor: f64,
}

const PRODUCTS: [Product; 3] = [
    Product {
        name: "Core",
        share: 0.5,
        median_amount: 22_000.0,
        win_factor: 1.1,
    },
    Product {
        name: "Analytics",
        share: 0.3,
        median_amount: 35_000.0,
        win_factor: 0.95,
    },
    Product {
        name: "Platform",
        share: 0.2,
        median_amount: 65_000.0,
        win_factor: 0.8,
    },
];

const REGIONS: [&str; 8] = [
    "North America East",
    "EMEA North",
    "North America West",
    "EMEA South",
    "APAC",
    "LATAM",
    "DACH",
    "ANZ",
];

/// Relative deal creation by calendar month (autumn busy, summer and
/// January slow).
const CREATION_SEASON: [f64; 12] = [
    0.85, 0.95, 1.05, 0.95, 1.0, 1.05, 0.85, 0.85, 1.05, 1.1, 1.15, 1.0,
];

/// A territory.
#[derive(Debug, Clone)]
pub struct SimTerritory {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
}

/// A person.
#[derive(Debug, Clone)]
pub struct SimPerson {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Manager's id.
    pub manager_id: Option<String>,
    /// Territory id.
    pub territory_id: Option<String>,
    /// rep, manager or leader.
    pub role: &'static str,
    /// Hire day.
    pub hire_date: NaiveDate,
    /// Leaving day, for leavers.
    pub end_date: Option<NaiveDate>,
}

impl SimPerson {
    /// Whether this is the overlay specialist (`S...`): a rep who books
    /// nothing of their own and makes no call.
    pub fn is_overlay(&self) -> bool {
        self.role == "rep" && self.id.starts_with('S')
    }
}

/// One state of a deal, from `as_of` on.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSnapshot {
    /// First day of this state.
    pub as_of: NaiveDate,
    /// Stage.
    pub stage: &'static str,
    /// open, won or lost.
    pub status: &'static str,
    /// Amount in whole currency units (multiples of 100).
    pub amount: i64,
    /// Expected or actual close day.
    pub close_date: NaiveDate,
}

/// A deal with its history up to the end of the simulated period.
#[derive(Debug, Clone)]
pub struct SimDeal {
    /// Id.
    pub id: String,
    /// Owner.
    pub rep_id: String,
    /// Account.
    pub account: String,
    /// Product.
    pub product: &'static str,
    /// Created.
    pub created: NaiveDate,
    /// Snapshots in date order, at most one per day; the last is the current state.
    pub history: Vec<SimSnapshot>,
    /// The deal's currency when it is not the organisation's.
    pub currency: Option<&'static str>,
}

/// A booking.
#[derive(Debug, Clone)]
pub struct SimBooking {
    /// Id.
    pub id: String,
    /// Credited rep.
    pub rep_id: String,
    /// Amount in whole units.
    pub amount: i64,
    /// Day booked.
    pub date: NaiveDate,
    /// The won deal, or none for a renewal.
    pub opportunity_id: Option<String>,
    /// Territory.
    pub territory_id: String,
    /// The booking's currency when it is not the organisation's.
    pub currency: Option<&'static str>,
}

/// A quota.
#[derive(Debug, Clone)]
pub struct SimQuota {
    /// Rep.
    pub rep_id: String,
    /// Quarter.
    pub period: Period,
    /// Amount in whole units (multiples of 1,000).
    pub amount: i64,
    /// The quota's currency when it is not the organisation's.
    pub currency: Option<&'static str>,
}

/// A planted pattern.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Rep.
    pub rep_id: String,
    /// What was planted (`declining`).
    pub pattern: &'static str,
    /// Month it starts.
    pub from: Period,
    /// In words.
    pub detail: String,
    /// The planted size, when it has one (a caller's bias as a share).
    pub value: Option<f64>,
}

/// A whole generated organisation.
#[derive(Debug, Clone)]
pub struct SimOrg {
    /// Territories.
    pub territories: Vec<SimTerritory>,
    /// People (leaders, managers, reps, leavers included).
    pub people: Vec<SimPerson>,
    /// Deals.
    pub deals: Vec<SimDeal>,
    /// Bookings.
    pub bookings: Vec<SimBooking>,
    /// Quotas.
    pub quotas: Vec<SimQuota>,
    /// Weekly forecast calls of the last four quarters.
    pub calls: Vec<SimCall>,
    /// Planted ground truth.
    pub truth: Vec<Truth>,
    /// Last simulated day: the data's "today".
    pub end: NaiveDate,
    /// Exchange rates of the currencies some rows are in.
    pub fx_rates: Vec<SimRate>,
    /// Reps who changed teams: where they were from which day.
    pub org_history: Vec<SimMove>,
}

/// A quota-carrying seat's occupant during the simulation.
struct Seller {
    id: String,
    territory: String,
    hire: NaiveDate,
    end: Option<NaiveDate>,
    skill: f64,
    size: f64,
    decline_from: Option<u32>,
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new((-n) as u64)).unwrap_or(d)
    }
}

fn month_start(start: NaiveDate, m: u32) -> NaiveDate {
    start.checked_add_months(Months::new(m)).unwrap_or(start)
}

/// Fraction of full productivity `months` after hire (four-month ramp).
fn ramp(months_in_seat: i64) -> f64 {
    match months_in_seat {
        i64::MIN..=0 => 0.25,
        1 => 0.5,
        2 => 0.75,
        _ => 1.0,
    }
}

/// Share of a ramped rep's bookings a new rep books in a month: nothing
/// in the first two (deals take about two months to close, renewals start
/// in the third), then renewals plus new business at the creation ramp of
/// two months earlier. Ramped quotas follow it, as sales operations set
/// them.
fn booking_ramp(months_in_seat: i64) -> f64 {
    if months_in_seat < 2 {
        0.0
    } else {
        0.31 + 0.69 * ramp(months_in_seat - 2)
    }
}

fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to.year() as i64 - from.year() as i64) * 12 + to.month() as i64 - from.month() as i64
}

impl ValidOrgParams {
    /// Simulates the organisation.
    pub fn generate(&self) -> SimOrg {
        let p = &self.0;
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let end = add_days(month_start(p.start, p.months), -1);
        let team_size = 8;
        let managers = p.reps.div_ceil(team_size);
        let regions = managers.div_ceil(4).max(1);

        let mut territories = Vec::new();
        let mut people = vec![SimPerson {
            id: "CRO".into(),
            name: "Chief Revenue Officer".into(),
            manager_id: None,
            territory_id: None,
            role: "leader",
            hire_date: add_days(p.start, -900),
            end_date: None,
        }];
        for r in 0..regions {
            let region_name = if r < REGIONS.len() {
                REGIONS[r].to_owned()
            } else {
                format!("{} {}", REGIONS[r % REGIONS.len()], r / REGIONS.len() + 1)
            };
            people.push(SimPerson {
                id: format!("L{:03}", r + 1),
                name: format!("Leader {region_name}"),
                manager_id: Some("CRO".into()),
                territory_id: None,
                role: "leader",
                hire_date: add_days(p.start, -700),
                end_date: None,
            });
            territories.push(region_name);
        }
        let region_names = territories;
        let mut territories = Vec::new();
        for m in 0..managers {
            let region = m * regions / managers;
            let id = format!("T{:03}", m + 1);
            territories.push(SimTerritory {
                id: id.clone(),
                name: format!("{} {}", region_names[region], m + 1),
                region: region_names[region].clone(),
            });
            people.push(SimPerson {
                id: format!("M{:03}", m + 1),
                name: format!("Manager {}", m + 1),
                manager_id: Some(format!("L{:03}", region + 1)),
                territory_id: Some(id),
                role: "manager",
                hire_date: add_days(p.start, -500 - rng.random_range(0..400)),
                end_date: None,
            });
        }

        // Seats: each starts with a ramped rep; a leaver is replaced a month later.
        let skill_dist = LogNormal::new(0.0, 0.22).unwrap_or_else(|_| unreachable!());
        let size_dist = LogNormal::new(0.0, 0.15).unwrap_or_else(|_| unreachable!());
        let planted = if p.reps >= 10 {
            (p.reps as f64 * 0.06).round().max(1.0) as usize
        } else {
            0
        };
        let mut next_rep = 1;
        let mut sellers: Vec<Seller> = Vec::new();
        let mut seat_of: Vec<usize> = Vec::new();
        for seat in 0..p.reps {
            let territory = format!("T{:03}", seat / team_size + 1);
            let mut hire = add_days(p.start, -(rng.random_range(120..1500)));
            let mut first = true;
            loop {
                // Planted decliners are the first reps of evenly spread seats
                // and never leave, so the decline is visible.
                let declines = first
                    && planted > 0
                    && seat % (p.reps / planted).max(1) == 0
                    && seat / (p.reps / planted).max(1) < planted;
                let decline_from = declines.then(|| {
                    let lo = p.months / 2;
                    let hi = (p.months * 3 / 4).max(lo + 1);
                    rng.random_range(lo..hi)
                });
                // Monthly attrition of 1.2%: draw the leaving month.
                let mut leave = None;
                if decline_from.is_none() {
                    let mut month = hire;
                    while month <= end {
                        if month >= p.start && rng.random::<f64>() < 0.012 {
                            leave = Some(add_days(month, rng.random_range(0..28)));
                            break;
                        }
                        month = month.checked_add_months(Months::new(1)).unwrap_or(end);
                        if month == end {
                            break;
                        }
                    }
                }
                sellers.push(Seller {
                    id: format!("R{:05}", next_rep),
                    territory: territory.clone(),
                    hire,
                    end: leave,
                    skill: skill_dist.sample(&mut rng),
                    size: size_dist.sample(&mut rng),
                    decline_from,
                });
                seat_of.push(seat);
                next_rep += 1;
                first = false;
                match leave {
                    Some(day) => {
                        hire = add_days(day, rng.random_range(20..60));
                        if hire > end {
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
        for (s, seat) in sellers.iter().zip(&seat_of) {
            people.push(SimPerson {
                id: s.id.clone(),
                name: format!("Rep {}", &s.id[1..]),
                manager_id: Some(format!("M{:03}", seat / team_size + 1)),
                territory_id: Some(s.territory.clone()),
                role: "rep",
                hire_date: s.hire,
                end_date: s.end,
            });
        }
        // An overlay: a Platform specialist seated in the first territory,
        // paid on the first region's Platform deals, who books none.
        people.push(SimPerson {
            id: "S001".into(),
            name: format!("Platform specialist {}", region_names[0]),
            manager_id: Some("L001".into()),
            territory_id: Some("T001".into()),
            role: "rep",
            hire_date: add_days(p.start, -600),
            end_date: None,
        });

        let mut deals = Vec::new();
        let mut bookings = Vec::new();
        let fiscal = FiscalCalendar::default();
        let mut deal_no = 0u64;
        // Expected monthly new-business bookings of a ramped average rep,
        // used for renewals and quotas.
        let mean_amount: f64 = PRODUCTS
            .iter()
            .map(|p| p.share * p.median_amount * (0.45f64 * 0.45 / 2.0).exp())
            .sum();
        let typical_monthly = p.deals_per_rep_month * 0.33 * mean_amount;
        for (index, seller) in sellers.iter().enumerate() {
            let mut rep_rng = ChaCha8Rng::seed_from_u64(
                p.seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(index as u64 + 1)),
            );
            for m in 0..p.months {
                let first_day = month_start(p.start, m);
                let last_day = add_days(month_start(p.start, m + 1), -1);
                if seller.hire > last_day || seller.end.is_some_and(|e| e < first_day) {
                    continue;
                }
                let r = ramp(months_between(seller.hire, first_day));
                let decline = seller.decline_from.map_or(1.0, |d| {
                    if m < d {
                        1.0
                    } else {
                        (1.0 - 0.09 * f64::from(m - d + 1)).max(0.45)
                    }
                });
                let season = CREATION_SEASON[first_day.month0() as usize];
                let lambda = p.deals_per_rep_month
                    * r
                    * season
                    * seller.skill.powf(0.3)
                    * (0.55 + 0.45 * decline);
                let count = Poisson::new(lambda.max(0.01))
                    .map(|d| d.sample(&mut rep_rng) as u32)
                    .unwrap_or(0);
                for _ in 0..count {
                    let day = rep_rng.random_range(0..=(last_day - first_day).num_days());
                    let created = add_days(first_day, day);
                    if seller.end.is_some_and(|e| created > e) || created < seller.hire {
                        continue;
                    }
                    deal_no += 1;
                    let deal = simulate_deal(
                        &mut rep_rng,
                        deal_no,
                        seller,
                        created,
                        decline,
                        (end, p.seed),
                        &fiscal,
                    );
                    if let Some(last) = deal.history.last() {
                        if last.status == "won" {
                            bookings.push(SimBooking {
                                id: format!("B{deal_no:08}"),
                                rep_id: seller.id.clone(),
                                amount: last.amount,
                                date: last.close_date,
                                opportunity_id: Some(deal.id.clone()),
                                territory_id: seller.territory.clone(),
                                currency: None,
                            });
                        }
                    }
                    deals.push(deal);
                }
                // Renewals and expansion: a steady third of a typical rep's
                // new business, noisy month to month, booked mid-month.
                if months_between(seller.hire, first_day) >= 2 {
                    // A declining rep also loses renewals and expansion.
                    let renewal = typical_monthly
                        * 0.45
                        * seller.skill.sqrt()
                        * decline.sqrt()
                        * LogNormal::new(0.0, 0.35)
                            .map(|d| d.sample(&mut rep_rng))
                            .unwrap_or(1.0);
                    let date = add_days(first_day, rep_rng.random_range(5..25));
                    if seller.end.is_none_or(|e| date <= e) && date <= end {
                        bookings.push(SimBooking {
                            id: format!("RN{}-{}", &seller.id[1..], first_day.format("%Y%m")),
                            rep_id: seller.id.clone(),
                            amount: (renewal / 100.0).round() as i64 * 100,
                            date,
                            opportunity_id: None,
                            territory_id: seller.territory.clone(),
                            currency: None,
                        });
                    }
                }
            }
        }
        bookings.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));

        let quotas = set_quotas(p, &sellers, &bookings, end, &fiscal, &mut rng);
        let truth = sellers
            .iter()
            .filter_map(|s| {
                s.decline_from.map(|d| Truth {
                    rep_id: s.id.clone(),
                    pattern: "declining",
                    from: Period::month_of(month_start(p.start, d)),
                    detail:
                        "creates fewer deals, wins less and renews less, falling over six months to about half"
                            .into(),
                    value: None,
                })
            })
            .collect();
        let (calls, habits) =
            calls::simulate_calls(p.seed, &people, &bookings, p.start, end, &fiscal);
        let mut truth: Vec<Truth> = truth;
        truth.extend(habits);
        let mut org = SimOrg {
            territories,
            people,
            deals,
            bookings,
            quotas,
            calls,
            truth,
            end,
            fx_rates: Vec::new(),
            org_history: Vec::new(),
        };
        moves::move_reps(&mut org, p.start, p.months);
        // Calls were made in the organisation's currency; the euro region's
        // own records are restated last.
        fx::localise(&mut org, p.seed, p.start);
        org
    }
}

/// Quarterly quotas: the org's typical bookings per ramped rep in that
/// quarter (realised, since sales ops sets quotas from last year's run-rate
/// plus growth), scaled by the rep's ramp and half their known skill
/// advantage, with a little negotiation noise. Quotas cover the quarter after
/// the last simulated day too, so the current quarter has a target.
fn set_quotas(
    p: &OrgParams,
    sellers: &[Seller],
    bookings: &[SimBooking],
    end: NaiveDate,
    fiscal: &FiscalCalendar,
    rng: &mut ChaCha8Rng,
) -> Vec<SimQuota> {
    use std::collections::HashMap;
    let mut per_rep_quarter: HashMap<(&str, Period), i64> = HashMap::new();
    for b in bookings {
        *per_rep_quarter
            .entry((b.rep_id.as_str(), fiscal.quarter_of(b.date)))
            .or_default() += b.amount;
    }
    let first_q = fiscal.quarter_of(p.start);
    let last_q = fiscal.quarter_of(
        add_days(end, 1)
            .checked_add_months(Months::new(3))
            .unwrap_or(end),
    );
    let mut quarters = vec![first_q];
    while let Some(&q) = quarters.last() {
        if q >= last_q {
            break;
        }
        let next = fiscal.quarter_of(add_days(fiscal.end(q), 1));
        quarters.push(next);
    }
    // Typical bookings of a ramped, non-declining rep, per quarter; quarters
    // after the data use the same quarter a year earlier grown by 5% (so a
    // seasonal quarter keeps its season), or the mean so far grown by 5%
    // without a year of data.
    let mut typical: Vec<f64> = Vec::new();
    for &q in &quarters {
        let (start, stop) = (fiscal.start(q), fiscal.end(q));
        let ramped: Vec<&Seller> = sellers
            .iter()
            .filter(|s| {
                months_between(s.hire, start) >= 4
                    && s.end.is_none_or(|e| e > stop)
                    && s.decline_from.is_none()
                    && stop <= end
            })
            .collect();
        let value = if ramped.is_empty() {
            if typical.len() >= 4 {
                typical[typical.len() - 4] * 1.05
            } else {
                let n = typical.len().max(1);
                typical.iter().sum::<f64>() / n as f64 * 1.05
            }
        } else {
            ramped
                .iter()
                .map(|s| *per_rep_quarter.get(&(s.id.as_str(), q)).unwrap_or(&0) as f64)
                .sum::<f64>()
                / ramped.len() as f64
        };
        typical.push(value);
    }
    let noise = LogNormal::new(0.0, 0.06).unwrap_or_else(|_| unreachable!());
    let mut out = Vec::new();
    for (q, base) in quarters.iter().zip(&typical) {
        let (start, stop) = (fiscal.start(*q), fiscal.end(*q));
        for s in sellers {
            if s.hire > stop || s.end.is_some_and(|e| e < start) {
                continue;
            }
            let months_in = months_between(s.hire, start);
            let ramp_avg = (0..3).map(|k| booking_ramp(months_in + k)).sum::<f64>() / 3.0;
            if ramp_avg <= 0.0 {
                // No quota before a new rep can have booked anything.
                continue;
            }
            let amount = base * ramp_avg * s.skill.sqrt() * noise.sample(rng);
            out.push(SimQuota {
                rep_id: s.id.clone(),
                period: *q,
                amount: ((amount / 1000.0).round() as i64).max(1) * 1000,
                currency: None,
            });
        }
    }
    out
}

/// Generates an organisation and writes it to `out` (see [`write_org`]).
pub fn generate_to(params: OrgParams, out: &Path) -> Result<SimOrg, SimError> {
    let org = params.check()?.generate();
    write_org(&org, out)?;
    Ok(org)
}
