//! Feature engineering: the stored data loaded once into compact, interned
//! arrays, and everything models see derived from it **as of** a date:
//! monthly bookings per rep and along the hierarchy, the open pipeline on a
//! past day with its age and slips, rep indicators (tenure, quota, trailing
//! win rate). [`matrix`] is the one place that builds model matrices.
//!
//! Months are counted as `year * 12 + month - 1` ([`MonthIdx`]), so month
//! arithmetic is integer arithmetic.

pub mod deals;
pub mod hierarchy;
pub mod matrix;
pub mod measures;
pub mod org;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use crate::domain::{FiscalCalendar, OpportunityStatus, Period, Rep};
use crate::store::{Store, StoreError};

pub use hierarchy::{Entity, Hierarchy, Level, entity_label, person_label};

/// A month as `year * 12 + month - 1`.
pub type MonthIdx = i32;

/// The month a day falls in.
pub fn month_idx(date: NaiveDate) -> MonthIdx {
    date.year() * 12 + date.month0() as i32
}

/// First day of a month.
pub fn month_start(m: MonthIdx) -> NaiveDate {
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(NaiveDate::MIN)
}

/// Last day of a month.
pub fn month_end(m: MonthIdx) -> NaiveDate {
    month_start(m + 1).pred_opt().unwrap_or(NaiveDate::MIN)
}

/// The [`Period`] of a month.
pub fn month_period(m: MonthIdx) -> Period {
    Period::Month {
        year: m.div_euclid(12),
        month: m.rem_euclid(12) as u32 + 1,
    }
}

/// Why features could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds data that contradicts itself.
    #[error("inconsistent data: {0}")]
    Inconsistent(String),
    /// Nothing to learn from.
    #[error("no bookings and no won deals are stored: ingest data first")]
    Empty,
}

/// One booking, interned.
#[derive(Debug, Clone, Copy)]
pub struct BookingFact {
    /// Index into [`SalesData::reps`].
    pub rep: u32,
    /// Day booked.
    pub day: NaiveDate,
    /// Value in cents.
    pub cents: i64,
    /// Index into [`SalesData::opps`] of the deal it comes from.
    pub opp: Option<u32>,
}

/// A deal's lasting attributes.
#[derive(Debug, Clone)]
pub struct DealFacts {
    /// Deal id.
    pub id: String,
    /// Index of the owner in [`SalesData::reps`].
    pub rep: u32,
    /// Day created.
    pub created: NaiveDate,
    /// The rep's current call (Commit, Best Case, ...), if recorded.
    pub forecast_category: Option<String>,
    /// Index into [`SalesData::products`].
    pub product: Option<u32>,
    /// Account number (interned; only equality matters).
    pub account: Option<u32>,
    /// Its margin and contract value per unit of its current amount, when
    /// the data gives them.
    pub measure_ratios: [Option<f64>; 2],
}

/// One snapshot of a deal, interned.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Index into [`SalesData::opps`].
    pub opp: u32,
    /// First day the state held.
    pub as_of: NaiveDate,
    /// Index into [`SalesData::stages`].
    pub stage: u16,
    /// Status.
    pub status: OpportunityStatus,
    /// Amount in cents (0 when not sized).
    pub cents: i64,
    /// Expected close day.
    pub close: Option<NaiveDate>,
    /// Index into [`SalesData::categories`]: the forecast category the
    /// history recorded on that day, if it did.
    pub category: Option<u16>,
}

/// The whole store in memory, interned, ready for feature building
/// (`Default`: nothing loaded).
#[derive(Debug, Clone, Default)]
pub struct SalesData {
    /// People, sorted by id.
    pub reps: Vec<Rep>,
    /// Territory id -> region.
    pub regions: HashMap<String, String>,
    /// Bookings by day. When the store holds no bookings, won deals are the
    /// bookings (amount on the close day), as the data format says.
    pub bookings: Vec<BookingFact>,
    /// `booking_ids[i]` is the id of `bookings[i]` (the deal's id when won
    /// deals stand for bookings).
    pub booking_ids: Vec<String>,
    /// `booking_territory[i]`: the territory `bookings[i]` names, as an
    /// index into [`SalesData::territories`] (empty when none does).
    pub booking_territory: Vec<Option<u32>>,
    /// Territory ids bookings name, interned.
    pub territories: Vec<String>,
    /// `booking_source[i]`: the currency and cents of `bookings[i]` as
    /// booked, when not in the organisation's currency (`bookings[i].cents`
    /// is then converted at the rate of its day). Empty when none is.
    pub booking_source: Vec<Option<(Arc<str>, i64)>>,
    /// `quota_source[i]`: the same for `quotas[i]` (converted at the rate
    /// of its period's first day).
    pub quota_source: Vec<Option<(Arc<str>, i64)>>,
    /// `booking_measures[i]`: the margin and contract value of
    /// `bookings[i]`, when known. Empty when no booking has either.
    pub booking_measures: Vec<measures::BookingMeasures>,
    /// Margin and contract value per unit booked over the organisation.
    pub measure_ratios: [f64; 2],
    /// The stored exchange rates.
    pub rates: crate::domain::Rates,
    /// Quotas per rep and month, in cents (a quarter's quota is spread
    /// evenly over its months).
    pub monthly_quota: HashMap<(u32, MonthIdx), i64>,
    /// Quotas as stored: rep index, period, cents; sorted by rep.
    pub quotas: Vec<(u32, Period, i64)>,
    /// Deals by id.
    pub opps: Vec<DealFacts>,
    /// Stage names.
    pub stages: Vec<String>,
    /// Product names.
    pub products: Vec<String>,
    /// Forecast category names recorded in the history.
    pub categories: Vec<String>,
    /// Snapshots sorted by deal then day.
    pub snaps: Vec<Snapshot>,
    /// `snaps[snap_start[o]..snap_start[o + 1]]` are deal `o`'s snapshots.
    pub snap_start: Vec<u32>,
    /// First month with any booking or deal.
    pub first_month: MonthIdx,
    /// Last day with any recorded event.
    pub last_date: NaiveDate,
    /// Whether bookings name the deals they come from, so pipeline models
    /// can tell booked deals from new business.
    pub linked_bookings: bool,
    /// Whether some bookings have no deal behind them (renewals,
    /// expansion): only then can reasons speak of renewals.
    pub unlinked_bookings: bool,
    /// The fiscal calendar for quarters.
    pub fiscal: FiscalCalendar,
    /// Who reported to whom and covered which territory when.
    pub org: org::OrgHistory,
}

impl SalesData {
    /// Each person's position in [`SalesData::reps`], by id.
    pub fn rep_positions(&self) -> HashMap<&str, usize> {
        self.reps
            .iter()
            .enumerate()
            .map(|(i, r)| (r.rep_id.as_str(), i))
            .collect()
    }

    /// Loads and interns every table of the store.
    pub async fn load(store: &Store, fiscal: FiscalCalendar) -> Result<SalesData, FeatureError> {
        let reps = store.reps().await?;
        let rep_index: HashMap<&str, u32> = reps
            .iter()
            .enumerate()
            .map(|(i, r)| (r.rep_id.as_str(), i as u32))
            .collect();
        let rep_of = |id: &str| {
            rep_index
                .get(id)
                .copied()
                .ok_or_else(|| FeatureError::Inconsistent(format!("unknown rep {id:?}")))
        };
        let regions = store
            .load_territories()
            .await?
            .into_iter()
            .map(|t| (t.territory_id, t.region))
            .collect();

        let opp_rows = store.load_opportunities().await?;
        let mut opps = Vec::with_capacity(opp_rows.len());
        let mut opp_index: HashMap<String, u32> = HashMap::with_capacity(opp_rows.len());
        let mut products: Vec<String> = Vec::new();
        let mut product_index: HashMap<String, u32> = HashMap::new();
        let mut account_index: HashMap<&str, u32> = HashMap::new();
        for row in &opp_rows {
            opp_index.insert(row.opportunity_id.clone(), opps.len() as u32);
            let product = row.product.as_ref().map(|p| {
                *product_index.entry(p.clone()).or_insert_with(|| {
                    products.push(p.clone());
                    (products.len() - 1) as u32
                })
            });
            let next_account = account_index.len() as u32;
            let account = row
                .account
                .as_deref()
                .map(|a| *account_index.entry(a).or_insert(next_account));
            opps.push(DealFacts {
                id: row.opportunity_id.clone(),
                rep: rep_of(&row.rep_id)?,
                created: row.created_date,
                forecast_category: row.forecast_category.clone(),
                product,
                account,
                measure_ratios: row.measures.map(|m| {
                    let amount = row.amount_cents.filter(|a| *a > 0)?;
                    Some(m? as f64 / amount as f64)
                }),
            });
        }
        drop(account_index);

        let mut stage_index: HashMap<String, u16> = HashMap::new();
        let mut stages = Vec::new();
        let mut category_index: HashMap<String, u16> = HashMap::new();
        let mut categories: Vec<String> = Vec::new();
        let history = store.load_history().await?;
        let mut snaps = Vec::with_capacity(history.len());
        for row in history {
            let opp = *opp_index.get(&row.opportunity_id).ok_or_else(|| {
                FeatureError::Inconsistent(format!(
                    "history of unknown deal {:?}",
                    row.opportunity_id
                ))
            })?;
            let stage = match stage_index.get(&row.stage) {
                Some(&s) => s,
                None => {
                    let s = stages.len() as u16;
                    stages.push(row.stage.clone());
                    stage_index.insert(row.stage, s);
                    s
                }
            };
            let status = row.status.parse().map_err(|_| {
                FeatureError::Inconsistent(format!(
                    "status {:?} of {:?}",
                    row.status, row.opportunity_id
                ))
            })?;
            let category = row.forecast_category.map(|c| match category_index.get(&c) {
                Some(&i) => i,
                None => {
                    let i = categories.len() as u16;
                    categories.push(c.clone());
                    category_index.insert(c, i);
                    i
                }
            });
            snaps.push(Snapshot {
                opp,
                as_of: row.as_of,
                stage,
                status,
                cents: row.amount_cents.unwrap_or(0),
                close: row.close_date,
                category,
            });
        }
        snaps.sort_by_key(|s| (s.opp, s.as_of));
        let mut snap_start = vec![0u32; opps.len() + 1];
        for s in &snaps {
            snap_start[s.opp as usize + 1] += 1;
        }
        for i in 0..opps.len() {
            snap_start[i + 1] += snap_start[i];
        }

        let rates = crate::domain::Rates::new(
            store
                .fx_rates()
                .await?
                .into_iter()
                .map(|r| (r.currency, r.from, r.rate)),
        );
        let missing = |e: crate::domain::MissingRate| FeatureError::Inconsistent(e.to_string());
        // Deals' amounts in the organisation's currency at one rate per
        // deal, its created day's: a deal moves in the pipeline when its
        // amount does, not when a rate or its close day does.
        let opp_currency: Vec<Option<&str>> =
            opp_rows.iter().map(|o| o.currency.as_deref()).collect();
        if opp_currency.iter().any(Option::is_some) {
            for s in &mut snaps {
                if let Some(code) = opp_currency[s.opp as usize] {
                    let day = opps[s.opp as usize].created;
                    s.cents = rates
                        .to_org_cents(s.cents, Some(code), day)
                        .map_err(missing)?;
                }
            }
        }
        let booking_rows = store.load_bookings().await?;
        let mut booking_source = Vec::new();
        let mut bookings = Vec::with_capacity(booking_rows.len());
        let mut booking_ids = Vec::with_capacity(booking_rows.len());
        let mut booking_territory = Vec::with_capacity(booking_rows.len());
        let mut territories: Vec<String> = Vec::new();
        let mut territory_index: HashMap<String, u32> = HashMap::new();
        let mut own_measures = Vec::with_capacity(booking_rows.len());
        for b in booking_rows {
            booking_ids.push(b.booking_id);
            own_measures.push(b.measures);
            let cents = match b.currency.as_deref() {
                None => b.amount_cents,
                Some(code) => {
                    if booking_source.is_empty() {
                        booking_source = vec![None; bookings.len()];
                    }
                    let cents = rates
                        .to_org_cents(b.amount_cents, Some(code), b.booked_date)
                        .map_err(missing)?;
                    booking_source.resize(bookings.len(), None);
                    booking_source.push(rates.code(code).map(|c| (c, b.amount_cents)));
                    cents
                }
            };
            booking_territory.push(b.territory_id.map(|t| {
                *territory_index.entry(t).or_insert_with_key(|t| {
                    territories.push(t.clone());
                    (territories.len() - 1) as u32
                })
            }));
            bookings.push(BookingFact {
                rep: rep_of(&b.rep_id)?,
                day: b.booked_date,
                cents,
                opp: b.opportunity_id.and_then(|id| opp_index.get(&id).copied()),
            });
        }
        let linked_bookings = if bookings.is_empty() {
            // Won deals become the bookings, linked by construction.
            for (i, row) in opp_rows.iter().enumerate() {
                if row.status == OpportunityStatus::Won.as_str() {
                    if let (Some(day), Some(cents)) = (row.close_date, row.amount_cents) {
                        let code = row.currency.as_deref();
                        bookings.push(BookingFact {
                            rep: opps[i].rep,
                            day,
                            cents: rates.to_org_cents(cents, code, day).map_err(missing)?,
                            opp: Some(i as u32),
                        });
                    }
                }
            }
            bookings.sort_by_key(|b| (b.day, b.opp));
            booking_ids = bookings
                .iter()
                .filter_map(|b| b.opp.map(|o| opps[o as usize].id.clone()))
                .collect();
            booking_territory = vec![None; bookings.len()];
            if opp_currency.iter().any(Option::is_some) {
                booking_source = bookings
                    .iter()
                    .map(|b| {
                        let o = b.opp? as usize;
                        let code = rates.code(opp_rows[o].currency.as_deref()?)?;
                        Some((code, opp_rows[o].amount_cents?))
                    })
                    .collect();
            }
            !bookings.is_empty()
        } else {
            let linked = bookings.iter().filter(|b| b.opp.is_some()).count();
            !snaps.is_empty() && linked * 10 >= bookings.len()
        };
        if bookings.is_empty() {
            return Err(FeatureError::Empty);
        }
        let booking_measures =
            measures::of_bookings(&bookings, &own_measures, &booking_source, &opp_rows, &rates)
                .map_err(missing)?;
        let measure_ratios = measures::ratios(&bookings, &booking_measures);

        let mut quotas = Vec::new();
        let mut quota_source = Vec::new();
        let mut monthly_quota = HashMap::new();
        for mut q in store.load_quotas().await? {
            let rep = rep_of(&q.rep_id)?;
            let period = Period::parse(&q.period).map_err(|e| {
                FeatureError::Inconsistent(format!("quota period {:?}: {e}", q.period))
            })?;
            if let Some(code) = q.currency.as_deref() {
                quota_source.resize(quotas.len(), None);
                quota_source.push(rates.code(code).map(|c| (c, q.amount_cents)));
                q.amount_cents = rates
                    .to_org_cents(q.amount_cents, Some(code), fiscal.start(period))
                    .map_err(missing)?;
            }
            quotas.push((rep, period, q.amount_cents));
            let start = month_idx(fiscal.start(period));
            let end = month_idx(fiscal.end(period));
            // Spread evenly; the first months take the odd cents, so the
            // months add up to the stored amount exactly.
            let n = (end - start + 1) as i64;
            let (base, odd) = (q.amount_cents.div_euclid(n), q.amount_cents.rem_euclid(n));
            for (i, m) in (start..=end).enumerate() {
                let extra = i64::from((i as i64) < odd);
                *monthly_quota.entry((rep, m)).or_insert(0) += base + extra;
            }
        }

        // By rep (stable), so one rep's quotas are found by binary search.
        if !quotas.is_sorted_by_key(|q: &(u32, Period, i64)| q.0) {
            let mut order: Vec<usize> = (0..quotas.len()).collect();
            order.sort_by_key(|&k| quotas[k].0);
            quotas = order.iter().map(|&k| quotas[k]).collect();
            if !quota_source.is_empty() {
                quota_source.resize(order.len(), None);
                quota_source = order.iter().map(|&k| quota_source[k].clone()).collect();
            }
        }
        let first_day = bookings
            .iter()
            .map(|b| b.day)
            .chain(opps.iter().map(|o| o.created))
            .min()
            .ok_or(FeatureError::Empty)?;
        let last_date = bookings
            .iter()
            .map(|b| b.day)
            .chain(snaps.iter().map(|s| s.as_of))
            .chain(opps.iter().map(|o| o.created))
            .max()
            .ok_or(FeatureError::Empty)?;
        let unlinked_bookings = bookings.iter().any(|b| b.opp.is_none());
        let org = org::OrgHistory::new(store.org_history().await?, &rep_index, reps.len());
        Ok(SalesData {
            reps,
            regions,
            bookings,
            booking_ids,
            booking_territory,
            territories,
            booking_source,
            measure_ratios,
            booking_measures,
            quota_source,
            rates,
            monthly_quota,
            quotas,
            opps,
            stages,
            products,
            categories,
            snaps,
            snap_start,
            first_month: month_idx(first_day),
            last_date,
            linked_bookings,
            unlinked_bookings,
            fiscal,
            org,
        })
    }

    /// Person `rep`'s manager on `day`: the organisation's history, else
    /// `current` (their manager in reps).
    pub fn manager_on(&self, rep: usize, day: NaiveDate, current: Option<u32>) -> Option<u32> {
        self.org.manager_on(rep, day).or(current)
    }

    /// Person `rep`'s territory on `day`: the organisation's history, else
    /// their territory in reps.
    pub fn territory_on(&self, rep: usize, day: NaiveDate) -> Option<&str> {
        self.org
            .territory_on(rep, day)
            .or(self.reps[rep].territory_id.as_ref().map(|t| t.as_str()))
    }

    /// Snapshots of deal `opp`, oldest first.
    pub fn snapshots(&self, opp: u32) -> &[Snapshot] {
        let lo = self.snap_start[opp as usize] as usize;
        let hi = self.snap_start[opp as usize + 1] as usize;
        &self.snaps[lo..hi]
    }

    /// Each rep's quota over the months `from..=to`, in cents.
    pub fn quotas_between(&self, from: MonthIdx, to: MonthIdx) -> Vec<i64> {
        (0..self.reps.len() as u32)
            .map(|r| {
                (from..=to)
                    .filter_map(|m| self.monthly_quota.get(&(r, m)))
                    .sum()
            })
            .collect()
    }

    /// The forecast category the history recorded for a deal as of a day
    /// (its latest snapshot on or before the day that names one).
    pub fn category_on(&self, opp: u32, day: NaiveDate) -> Option<&str> {
        let snaps = self.snapshots(opp);
        let known = snaps.partition_point(|s| s.as_of <= day);
        snaps[..known]
            .iter()
            .rev()
            .find_map(|s| s.category)
            .map(|c| self.categories[c as usize].as_str())
    }

    /// The month a rep starts counting: their hire month, or the first month
    /// of data when hired earlier or unknown.
    pub fn seat_start(&self, rep: u32) -> MonthIdx {
        self.reps[rep as usize]
            .hire_date
            .map(month_idx)
            .unwrap_or(self.first_month)
            .max(self.first_month)
    }

    /// A rep's quota over the months `from..=to` fall in, in currency units.
    pub fn quota_between(&self, rep: u32, from: NaiveDate, to: NaiveDate) -> f64 {
        self.quota_cents_between(rep, from, to) as f64 / 100.0
    }

    /// The indices into [`SalesData::quotas`] of rep `rep`'s quotas.
    pub fn quotas_of(&self, rep: u32) -> std::ops::Range<usize> {
        let lo = self.quotas.partition_point(|q| q.0 < rep);
        lo..lo + self.quotas[lo..].partition_point(|q| q.0 == rep)
    }

    /// A rep's quota over the months `from..=to` fall in, exactly, in cents.
    pub fn quota_cents_between(&self, rep: u32, from: NaiveDate, to: NaiveDate) -> i64 {
        (month_idx(from)..=month_idx(to))
            .map(|m| self.monthly_quota.get(&(rep, m)).copied().unwrap_or(0))
            .sum()
    }

    /// Whether a rep is in seat on a day (hired by then, not yet left).
    pub fn in_seat(&self, rep: u32, day: NaiveDate) -> bool {
        let r = &self.reps[rep as usize];
        r.hire_date.is_none_or(|h| h <= day) && r.end_date.is_none_or(|e| e > day)
    }
}

/// Monthly bookings per rep: `values[rep][m - first_month]` in currency
/// units (not cents), for every month from the first of the data to the
/// last. Slicing it at an origin month gives the series as of that month's
/// end; nothing later is in the slice.
#[derive(Debug, Clone)]
pub struct MonthlyBookings {
    /// The month of column 0.
    pub first_month: MonthIdx,
    /// Months covered.
    pub months: usize,
    /// Per rep, per month.
    pub values: Vec<Vec<f64>>,
}

impl MonthlyBookings {
    /// Sums the bookings of each rep and month up to `last_month`.
    pub fn build(data: &SalesData, last_month: MonthIdx) -> MonthlyBookings {
        let first = data.first_month;
        let months = (last_month - first + 1).max(0) as usize;
        let mut values = vec![vec![0.0; months]; data.reps.len()];
        for b in &data.bookings {
            let m = month_idx(b.day) - first;
            if m >= 0 && (m as usize) < months {
                values[b.rep as usize][m as usize] += b.cents as f64 / 100.0;
            }
        }
        MonthlyBookings {
            first_month: first,
            months,
            values,
        }
    }

    /// A rep's series from their seat start through `origin` (inclusive).
    pub fn history(&self, data: &SalesData, rep: u32, origin: MonthIdx) -> &[f64] {
        let lo = (data.seat_start(rep) - self.first_month).max(0) as usize;
        let hi = ((origin - self.first_month + 1).max(0) as usize).min(self.months);
        if lo >= hi {
            &[]
        } else {
            &self.values[rep as usize][lo..hi]
        }
    }

    /// A rep's bookings in one month (0 outside the covered range).
    pub fn get(&self, rep: u32, m: MonthIdx) -> f64 {
        let i = m - self.first_month;
        if i < 0 || i as usize >= self.months {
            0.0
        } else {
            self.values[rep as usize][i as usize]
        }
    }
}

/// A deal open on the as-of day, with what was known about it then.
#[derive(Debug, Clone, Copy)]
pub struct OpenDeal {
    /// Index into [`SalesData::opps`].
    pub opp: u32,
    /// Owner.
    pub rep: u32,
    /// Stage index.
    pub stage: u16,
    /// Amount in currency units.
    pub amount: f64,
    /// Expected close month (`None` when no close date was recorded).
    pub close_month: Option<MonthIdx>,
    /// Days since creation.
    pub age_days: i64,
    /// How many times the expected close date moved later.
    pub pushes: u32,
}

/// The open pipeline on `day`: every deal whose latest snapshot at or
/// before `day` is open. Built from snapshots only, so nothing after `day`
/// is seen.
pub fn open_pipeline(data: &SalesData, day: NaiveDate) -> Vec<OpenDeal> {
    let mut out = Vec::new();
    for (o, facts) in data.opps.iter().enumerate() {
        if facts.created > day {
            continue;
        }
        let snaps = data.snapshots(o as u32);
        let known = snaps.partition_point(|s| s.as_of <= day);
        if known == 0 {
            continue;
        }
        let last = snaps[known - 1];
        if last.status != OpportunityStatus::Open {
            continue;
        }
        let mut pushes = 0;
        for w in snaps[..known].windows(2) {
            if let (Some(a), Some(b)) = (w[0].close, w[1].close) {
                if b > a {
                    pushes += 1;
                }
            }
        }
        out.push(OpenDeal {
            opp: o as u32,
            rep: facts.rep,
            stage: last.stage,
            amount: last.cents as f64 / 100.0,
            close_month: last.close.map(month_idx),
            age_days: (day - facts.created).num_days(),
            pushes,
        });
    }
    out
}

/// Bookings per rep on days `from..=to`, in currency units.
pub fn booked_between(data: &SalesData, from: NaiveDate, to: NaiveDate) -> Vec<f64> {
    let mut out = vec![0.0; data.reps.len()];
    let lo = data.bookings.partition_point(|b| b.day < from);
    for b in &data.bookings[lo..] {
        if b.day > to {
            break;
        }
        out[b.rep as usize] += b.cents as f64 / 100.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_arithmetic_round_trips() {
        let d = NaiveDate::from_ymd_opt(2024, 12, 15).unwrap();
        let m = month_idx(d);
        assert_eq!(month_start(m).to_string(), "2024-12-01");
        assert_eq!(month_end(m).to_string(), "2024-12-31");
        assert_eq!(month_start(m + 1).to_string(), "2025-01-01");
        assert_eq!(month_end(m + 2).to_string(), "2025-02-28");
        assert_eq!(month_period(m + 1).to_string(), "2025-01");
    }
}
