//! Who is credited with a booking besides the rep who booked it: managers
//! and leaders on team credit, territory and region payees, overlays.
//!
//! A plan's `credit` rule says whose bookings count for the person on it,
//! on each booking's day (the plan in force that day decides):
//!
//! - `own`: their own bookings and split shares;
//! - `team`: the credit of everyone under them, transitively, and their
//!   own, the split shares of one booking added up, so a booking counts
//!   once per person however many of their people share it;
//! - `territory` / `region`: every booking in their territory (region), or
//!   in the plan's `territories` (`regions`) when it lists some, in full.
//!
//! The plan's product, territory and region filters then choose among
//! those bookings; a booking that does not pass is not credited (on a
//! plan crediting others it is not listed either). A person on a plan that
//! credits others is credited only through that rule, so their own
//! bookings are never counted twice.
//!
//! Who is under whom and who covers which territory is taken on the
//! booking's day: with an organisation history, a rep who moved teams in
//! March credits the old manager with what they booked before March.

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::credits::plan_on;
use super::engine::{Credit, Via};
use crate::domain::{CompPlan, CreditRule, PlanBook};
use crate::features::SalesData;

/// Who may be credited with others' bookings, indexed for the booking loop.
pub struct Payees<'a> {
    data: &'a SalesData,
    book: &'a PlanBook,
    /// Per rep: whether some plan they may be on credits others' bookings.
    relational: Vec<bool>,
    /// Per rep: their manager's index.
    manager: Vec<Option<u32>>,
    /// Per territory: the people whose territory plans may cover it.
    by_territory: HashMap<&'a str, Vec<u32>>,
    /// Per region: the people whose region plans may cover it.
    by_region: HashMap<&'a str, Vec<u32>>,
    /// Territory and region names, shared by every credit that names them.
    names: HashMap<&'a str, Arc<str>>,
}

/// Where a booking was made: its territory and that territory's region.
#[derive(Debug, Clone, Default)]
pub struct Place {
    /// Territory id.
    pub territory: Option<Arc<str>>,
    /// Region.
    pub region: Option<Arc<str>>,
}

impl<'a> Payees<'a> {
    /// Indexes the people of `data` whose plans in `book` credit others.
    pub fn new(data: &'a SalesData, book: &'a PlanBook) -> Payees<'a> {
        let manager = managers(data)
            .into_iter()
            .map(|m| m.map(|m| m as u32))
            .collect();
        let mut names: HashMap<&'a str, Arc<str>> = HashMap::new();
        for (t, r) in &data.regions {
            names
                .entry(t.as_str())
                .or_insert_with(|| Arc::from(t.as_str()));
            names
                .entry(r.as_str())
                .or_insert_with(|| Arc::from(r.as_str()));
        }
        for t in &data.territories {
            names
                .entry(t.as_str())
                .or_insert_with(|| Arc::from(t.as_str()));
        }
        for r in &data.reps {
            if let Some(t) = &r.territory_id {
                names
                    .entry(t.as_str())
                    .or_insert_with(|| Arc::from(t.as_str()));
            }
        }
        let mut payees = Payees {
            data,
            book,
            relational: vec![false; data.reps.len()],
            manager,
            by_territory: HashMap::new(),
            by_region: HashMap::new(),
            names,
        };
        for (i, r) in data.reps.iter().enumerate() {
            // Every territory they covered, now or on some day of the history.
            let own_territories: Vec<&str> = r
                .territory_id
                .as_ref()
                .map(|t| t.as_str())
                .into_iter()
                .chain(data.org.territories_of(i))
                .collect();
            let own_regions: Vec<&str> = own_territories
                .iter()
                .filter_map(|t| data.regions.get(*t).map(String::as_str))
                .collect();
            let plans = r.plan_id.iter().map(String::as_str).chain(
                book.assignments_of(&r.rep_id)
                    .iter()
                    .map(|a| a.plan_id.as_str()),
            );
            for id in plans {
                for v in book.versions_of(id) {
                    match v.credit {
                        CreditRule::Own => {}
                        CreditRule::Team => payees.relational[i] = true,
                        CreditRule::Territory => {
                            payees.relational[i] = true;
                            for own in &own_territories {
                                for t in covered(&v.territories, Some(own)) {
                                    push_once(payees.by_territory.entry(t).or_default(), i);
                                }
                            }
                        }
                        CreditRule::Region => {
                            payees.relational[i] = true;
                            for own in &own_regions {
                                for g in covered(&v.regions, Some(own)) {
                                    push_once(payees.by_region.entry(g).or_default(), i);
                                }
                            }
                        }
                    }
                }
            }
        }
        payees
    }

    /// The bookings that may credit `rep` (on a plan crediting others):
    /// those of the people under them or theirs, those in a territory or
    /// region their plans cover, and split ones (their shares may be
    /// anyone's). Looking at these alone finds all of `rep`'s credits.
    pub fn may_credit(&self, rep: usize) -> Vec<bool> {
        let data = self.data;
        let mut team = vec![false; data.reps.len()];
        // With a history, whether a booking's rep was under `rep` depends
        // on its day: each booking is asked on its own.
        let dated = !data.org.is_empty();
        for (r, in_team) in team.iter_mut().enumerate() {
            if dated {
                break;
            }
            let (mut at, mut steps) = (Some(r), 0);
            while let (Some(x), true) = (at, steps <= data.reps.len()) {
                if x == rep {
                    *in_team = true;
                    break;
                }
                at = self.manager[x].map(|m| m as usize);
                steps += 1;
            }
        }
        let covers = |list: &HashMap<&str, Vec<u32>>, name: Option<&str>| {
            name.and_then(|n| list.get(n))
                .is_some_and(|v| v.contains(&(rep as u32)))
        };
        (0..data.bookings.len())
            .map(|i| {
                let b = &data.bookings[i];
                if team[b.rep as usize] || (dated && self.under(b.rep as usize, rep, b.day)) {
                    return true;
                }
                let place = self.place(i);
                covers(&self.by_territory, place.territory.as_deref())
                    || covers(&self.by_region, place.region.as_deref())
            })
            .collect()
    }

    /// Person `x`'s manager on `day`.
    fn manager_on(&self, x: usize, day: chrono::NaiveDate) -> Option<usize> {
        self.data
            .manager_on(x, day, self.manager[x])
            .map(|m| m as usize)
    }

    /// Whether `r` is `holder` or under them on `day`.
    fn under(&self, r: usize, holder: usize, day: chrono::NaiveDate) -> bool {
        let (mut at, mut steps) = (Some(r), 0);
        while let (Some(x), true) = (at, steps <= self.manager.len()) {
            if x == holder {
                return true;
            }
            at = self.manager_on(x, day);
            steps += 1;
        }
        false
    }

    /// Whether anyone is on a plan that credits others' bookings.
    pub fn any(&self) -> bool {
        self.relational.iter().any(|r| *r)
    }

    /// Whether rep `rep` may be on a plan that credits others' bookings.
    pub fn is_relational(&self, rep: usize) -> bool {
        self.relational[rep]
    }

    /// Where booking `i` was made: the territory it names, else its rep's
    /// on its day.
    pub fn place(&self, i: usize) -> Place {
        let data = self.data;
        let b = &data.bookings[i];
        let territory = data
            .booking_territory
            .get(i)
            .copied()
            .flatten()
            .map_or_else(
                || data.territory_on(b.rep as usize, b.day),
                |t| Some(data.territories[t as usize].as_str()),
            );
        let region = territory.and_then(|t| data.regions.get(t));
        Place {
            territory: territory.and_then(|t| self.names.get(t).cloned()),
            region: region.and_then(|r| self.names.get(r.as_str()).cloned()),
        }
    }

    /// The plan of `rep` on `day` when it credits others' bookings.
    fn relational_plan(&self, rep: usize, day: chrono::NaiveDate) -> Option<&'a CompPlan> {
        if !self.relational[rep] {
            return None;
        }
        plan_on(self.data, self.book, rep, day).filter(|p| !p.credit.is_own())
    }

    /// Every credit booking `i` gives, from its own credits (`(rep,
    /// credit)`, after splits): the people credited through a team,
    /// territory or region rule, then the own credits of people on plans
    /// that credit their own bookings. `f` receives each `(rep, credit)`.
    pub fn credit_booking(
        &self,
        i: usize,
        own: Vec<(usize, Credit)>,
        f: &mut dyn FnMut(usize, Credit),
    ) {
        let whole = |first: &Credit| Credit {
            amount: first.booking_amount,
            share: Decimal::ONE,
            source: self
                .data
                .booking_source
                .get(i)
                .cloned()
                .flatten()
                .map(|(code, cents)| (code, Decimal::new(cents, 2))),
            measures: super::credits::measures_of(self.data, i, Decimal::ONE),
            ..first.clone()
        };
        self.credit_with(self.data.bookings[i].day, own, &whole, f);
    }

    /// What [`Payees::credit_booking`] does for a booking made on `day`,
    /// stored or not (a what-if's deal): `whole` gives the whole booking
    /// from its first own credit, for territory and region payees.
    pub fn credit_with(
        &self,
        day: chrono::NaiveDate,
        own: Vec<(usize, Credit)>,
        whole: &dyn Fn(&Credit) -> Credit,
        f: &mut dyn FnMut(usize, Credit),
    ) {
        let mut extra: Vec<(usize, Credit)> = Vec::new();
        let passes = |plan: &CompPlan, c: &Credit| {
            plan.credits_product(c.product.as_deref())
                && plan.credits_place(c.territory.as_deref(), c.region.as_deref())
        };
        // Team: each own credit counts for everyone above its rep.
        for (r, c) in &own {
            let mut at = Some(*r);
            let mut steps = 0;
            while let Some(x) = at {
                if let Some(plan) = self.relational_plan(x, day) {
                    if plan.credit == CreditRule::Team && passes(plan, c) {
                        match extra.iter_mut().find(|(p, _)| *p == x) {
                            Some((_, mine)) => mine.absorb(c),
                            None => {
                                let via = if x == *r {
                                    Via::Own
                                } else {
                                    let id = self.data.reps[*r].rep_id.as_str();
                                    Via::Team(Arc::from(id))
                                };
                                extra.push((x, Credit { via, ..c.clone() }));
                            }
                        }
                    }
                }
                steps += 1;
                at = self
                    .manager_on(x, day)
                    .filter(|_| steps < self.manager.len());
            }
        }
        // Territory and region: the whole booking, once per person.
        if let Some((_, first)) = own.first() {
            let place = (first.territory.clone(), first.region.clone());
            let candidates = place
                .0
                .as_deref()
                .and_then(|t| self.by_territory.get(t))
                .into_iter()
                .chain(place.1.as_deref().and_then(|g| self.by_region.get(g)))
                .flatten();
            for &h in candidates {
                let h = h as usize;
                if extra.iter().any(|(p, _)| *p == h) {
                    continue;
                }
                let Some(plan) = self.relational_plan(h, day) else {
                    continue;
                };
                let own_territory = self.data.territory_on(h, day);
                let via = match plan.credit {
                    CreditRule::Territory => place
                        .0
                        .as_ref()
                        .filter(|t| covered(&plan.territories, own_territory).any(|c| c == &***t))
                        .map(|t| Via::Territory(t.clone())),
                    CreditRule::Region => {
                        let own_region = own_territory
                            .and_then(|t| self.data.regions.get(t))
                            .map(String::as_str);
                        place
                            .1
                            .as_ref()
                            .filter(|g| covered(&plan.regions, own_region).any(|c| c == &***g))
                            .map(|g| Via::Region(g.clone()))
                    }
                    CreditRule::Own | CreditRule::Team => None,
                };
                let Some(via) = via else { continue };
                let whole = Credit {
                    via,
                    ..whole(first)
                };
                if passes(plan, &whole) {
                    extra.push((h, whole));
                }
            }
        }
        for (r, c) in own {
            if self.relational_plan(r, day).is_none() {
                f(r, c);
            }
        }
        for (r, c) in extra {
            f(r, c);
        }
    }
}

/// Each person's manager, as an index into [`SalesData::reps`].
pub fn managers(data: &SalesData) -> Vec<Option<usize>> {
    let index = data.rep_positions();
    data.reps
        .iter()
        .map(|r| {
            r.manager_id
                .as_ref()
                .and_then(|m| index.get(m.as_str()).copied())
        })
        .collect()
}

/// The territories (regions) a plan covers: its list, else the holder's own.
fn covered<'x>(
    list: &'x Option<Vec<String>>,
    own: Option<&'x str>,
) -> impl Iterator<Item = &'x str> {
    let listed = list.as_ref().map(|l| l.iter().map(String::as_str));
    let fallback = list.is_none().then_some(own).flatten();
    listed.into_iter().flatten().chain(fallback)
}

fn push_once(v: &mut Vec<u32>, i: usize) {
    if !v.contains(&(i as u32)) {
        v.push(i as u32);
    }
}
