//! The commission close: freezing a period's statements, publishing them,
//! adjustments, disputes, the payroll export, plan versions and the audit
//! trail. Every change is written with its audit event in one transaction,
//! so an action leaves exactly one event and a failed one none.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::JobError;
use super::commissions::load_book;
use crate::commission::CommissionError;
use crate::commission::close::{Settled, prior_of, settle};
use crate::commission::credits::{Ledger, statements};
use crate::commission::engine::Statement;
use crate::config::Settings;
use crate::domain::{Money, Period, PlanBook};
use crate::features::SalesData;
use crate::store::{
    Adjustment, CloseRecord, Dispute, FrozenStatement, NewAdjustment, NewEvent, Store,
    StoredVersion, now_text,
};

/// What the books hold beyond the plan arithmetic, for one rep or all.
#[derive(Debug, Clone, Default)]
pub struct Books {
    /// Closed periods.
    pub closes: Vec<CloseRecord>,
    /// Frozen statements by rep, by first day.
    pub frozen: HashMap<String, Vec<FrozenStatement>>,
    /// Adjustments by rep.
    pub adjustments: HashMap<String, Vec<Adjustment>>,
    /// Frozen statements' bodies, by rep and first day (where read).
    pub bodies: HashMap<String, HashMap<NaiveDate, Statement>>,
}

fn group<T>(items: Vec<T>, key: impl Fn(&T) -> &str) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for item in items {
        out.entry(key(&item).to_owned()).or_default().push(item);
    }
    out
}

fn parse_body(f: &FrozenStatement) -> Result<Statement, JobError> {
    serde_json::from_str(f.body.as_deref().unwrap_or("{}")).map_err(|e| {
        crate::store::StoreError::Corrupt(format!(
            "frozen statement of {} from {}: {e}",
            f.rep_id, f.start
        ))
        .into()
    })
}

impl Books {
    /// Every rep's (no bodies).
    pub async fn load(store: &Store) -> Result<Books, JobError> {
        Ok(Books {
            closes: store.closes().await?,
            frozen: group(store.frozen_statements(None).await?, |f| f.rep_id.as_str()),
            adjustments: group(store.adjustments(None).await?, |a| a.rep_id.as_str()),
            bodies: HashMap::new(),
        })
    }

    /// One rep's, with the bodies of every frozen statement of theirs.
    pub async fn of_rep(store: &Store, rep: &str) -> Result<Books, JobError> {
        let frozen = store
            .frozen_bodies(rep, NaiveDate::MIN, NaiveDate::MAX)
            .await?;
        let mut bodies = HashMap::new();
        for f in &frozen {
            bodies.insert(f.start, parse_body(f)?);
        }
        let mut books = Books {
            closes: store.closes().await?,
            frozen: HashMap::new(),
            adjustments: group(store.adjustments(Some(rep)).await?, |a| a.rep_id.as_str()),
            bodies: HashMap::from([(rep.to_owned(), bodies)]),
        };
        books.frozen.insert(rep.to_owned(), frozen);
        Ok(books)
    }

    /// A rep's frozen statements.
    pub fn frozen_of(&self, rep: &str) -> &[FrozenStatement] {
        self.frozen.get(rep).map_or(&[], Vec::as_slice)
    }

    /// `closed` or `published`: the state of the close that froze `f`.
    pub fn status_of(&self, f: &FrozenStatement) -> &'static str {
        match self.closes.iter().find(|c| c.period == f.close_period) {
            Some(c) if c.published_at.is_some() => "published",
            _ => "closed",
        }
    }

    /// Rep `rep`'s statements as of `as_of` through `until`, settled
    /// against the close.
    #[allow(clippy::too_many_arguments)]
    pub fn settled(
        &self,
        data: &SalesData,
        book: &PlanBook,
        ledger: &Ledger,
        rep: usize,
        as_of: NaiveDate,
        until: NaiveDate,
        describe: bool,
    ) -> Vec<Settled> {
        let id = data.reps[rep].rep_id.as_str();
        let all = statements(data, book, ledger, rep, as_of, until, describe);
        let empty = HashMap::new();
        settle(
            all,
            self.frozen_of(id),
            self.adjustments.get(id).map_or(&[], Vec::as_slice),
            self.bodies.get(id).unwrap_or(&empty),
            describe,
        )
    }
}

fn rep_index(data: &SalesData, id: &str) -> Result<usize, CommissionError> {
    data.reps
        .iter()
        .position(|r| r.rep_id.as_str() == id)
        .ok_or_else(|| CommissionError::NotFound(format!("no rep {id:?}")))
}

fn span(data: &SalesData, period: Period) -> (NaiveDate, NaiveDate) {
    (data.fiscal.start(period), data.fiscal.end(period))
}

/// Closes `period`: every open statement ending in it is frozen, with the
/// data fingerprint and plan version it was worked out from.
pub async fn close(
    store: &Store,
    settings: &Settings,
    period: Period,
    actor: &str,
) -> Result<CloseRecord, JobError> {
    let book = load_book(store, settings).await?;
    let source = store.plan_book().await?.unwrap_or_default();
    let (data, fingerprint) = super::load(store, settings).await?;
    super::commissions::rates_for(&data, &book)?;
    let (start, end) = span(&data, period);
    if data.last_date < end {
        return Err(CommissionError::Conflict(format!(
            "{period} ends on {end}, after the data's last day {}: a period closes once it is over",
            data.last_date
        ))
        .into());
    }
    if let Some(c) = store
        .closes()
        .await?
        .iter()
        .find(|c| c.period == period.to_string())
    {
        return Err(CommissionError::Conflict(format!(
            "{period} was closed on {} by {}",
            c.closed_at, c.closed_by
        ))
        .into());
    }
    let mut books = Books::load(store).await?;
    let as_of = data.last_date;
    let ledger = Ledger::build(&data, &book);
    let label = period.to_string();
    let freeze = |books: &Books, rep: usize| -> Result<(Vec<FrozenStatement>, bool), JobError> {
        let settled = books.settled(&data, &book, &ledger, rep, as_of, end, true);
        let mut out = Vec::new();
        let mut corrected = false;
        for s in settled {
            let Settled::Open(mut st) = s else { continue };
            if st.end < start || st.end > end {
                continue;
            }
            corrected |= st
                .lines
                .iter()
                .any(|l| l.kind == crate::commission::LineKind::PriorPeriod);
            st.status = "closed".to_owned();
            let body = serde_json::to_string(&st).map_err(|e| {
                crate::store::StoreError::Corrupt(format!("statement as JSON: {e}"))
            })?;
            out.push(FrozenStatement {
                rep_id: st.rep_id.clone(),
                start: st.start,
                end: st.end,
                close_period: label.clone(),
                plan_period: st.period.clone(),
                plan_id: st.plan_id.clone(),
                plan_version: st.plan_version.clone(),
                total_cents: Money::from_decimal(st.total).cents(),
                adjustments_cents: Money::from_decimal(st.adjustments).cents(),
                prior: prior_of(&st),
                body: Some(body),
            });
        }
        Ok((out, corrected))
    };
    let mut frozen = Vec::new();
    for rep in 0..data.reps.len() {
        let (mut mine, corrected) = freeze(&books, rep)?;
        let id = data.reps[rep].rep_id.as_str();
        if corrected && !books.frozen_of(id).is_empty() {
            // Name the bookings behind a correction: read the rep's frozen
            // bodies and work the statements out again.
            let mut bodies = HashMap::new();
            for f in store
                .frozen_bodies(id, NaiveDate::MIN, NaiveDate::MAX)
                .await?
            {
                bodies.insert(f.start, parse_body(&f)?);
            }
            books.bodies.insert(id.to_owned(), bodies);
            mine = freeze(&books, rep)?.0;
            books.bodies.remove(id);
        }
        frozen.extend(mine);
    }
    let total: i64 = frozen.iter().map(|f| f.total_cents).sum();
    let record = CloseRecord {
        period: label.clone(),
        period_start: start,
        period_end: end,
        as_of,
        fingerprint,
        book_hash: crate::store::source_hash(&source),
        closed_at: now_text(),
        closed_by: actor.to_owned(),
        statements: frozen.len() as i64,
        total: Money::from_cents(total),
        published_at: None,
        published_by: None,
    };
    let mut tx = store.begin().await?;
    if let Some(c) = tx.close_of(&label).await? {
        return Err(CommissionError::Conflict(format!(
            "{period} was closed on {} by {}",
            c.closed_at, c.closed_by
        ))
        .into());
    }
    tx.insert_close(&record, &frozen).await?;
    tx.audit(&NewEvent {
        actor,
        kind: "close",
        subject: &label,
        before: None,
        after: Some(serde_json::json!({
            "statements": record.statements,
            "total": record.total,
            "as_of": record.as_of,
            "fingerprint": record.fingerprint,
            "book_hash": record.book_hash,
        })),
        note: None,
    })
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// Publishes a closed period to its reps.
pub async fn publish(store: &Store, period: Period, actor: &str) -> Result<CloseRecord, JobError> {
    let label = period.to_string();
    let mut tx = store.begin().await?;
    let Some(before) = tx.close_of(&label).await? else {
        return Err(
            CommissionError::Conflict(format!("{period} is not closed: close it first")).into(),
        );
    };
    if let Some(at) = &before.published_at {
        return Err(CommissionError::Conflict(format!(
            "{period} was published on {at} by {}",
            before.published_by.as_deref().unwrap_or("?")
        ))
        .into());
    }
    let at = now_text();
    tx.publish(&label, &at, actor).await?;
    tx.audit(&NewEvent {
        actor,
        kind: "publish",
        subject: &label,
        before: Some(serde_json::json!({"published_at": null})),
        after: Some(serde_json::json!({"published_at": at})),
        note: None,
    })
    .await?;
    let after = tx.close_of(&label).await?;
    tx.commit().await?;
    after.ok_or_else(|| CommissionError::NotFound(format!("{period} vanished")).into())
}

/// The first day of rep `rep`'s first open statement on or after `from`,
/// as the books stand.
fn open_day(
    data: &SalesData,
    book: &PlanBook,
    books: &Books,
    rep: usize,
    from: NaiveDate,
) -> Option<(NaiveDate, String)> {
    let ledger = Ledger::for_rep(data, book, rep);
    let until = from
        .checked_add_months(chrono::Months::new(15))
        .unwrap_or(from);
    books
        .settled(data, book, &ledger, rep, data.last_date, until, false)
        .into_iter()
        .filter_map(|s| match s {
            Settled::Open(st) if st.end >= from => Some((st.start.max(from), st.period)),
            _ => None,
        })
        .next()
}

/// What an adjustment asks for.
#[derive(Debug, Clone)]
pub struct AdjustParams {
    /// The rep.
    pub rep_id: String,
    /// The period it is for: it lands on the rep's statement holding the
    /// period's last day, which must be open.
    pub period: Period,
    /// Amount (negative: taken back).
    pub amount: Money,
    /// Why.
    pub reason: String,
}

fn need_reason(field: &'static str, text: &str) -> Result<(), CommissionError> {
    if text.trim().is_empty() {
        return Err(CommissionError::Field {
            field,
            message: "must not be empty: say why".into(),
        });
    }
    Ok(())
}

/// Adds a manual adjustment line to an open period.
pub async fn adjust(
    store: &Store,
    settings: &Settings,
    params: &AdjustParams,
    actor: &str,
) -> Result<Adjustment, JobError> {
    need_reason("reason", &params.reason)?;
    if params.amount.cents() == 0 {
        return Err(CommissionError::Field {
            field: "amount",
            message: "an adjustment of 0.00 changes nothing".into(),
        }
        .into());
    }
    let book = load_book(store, settings).await?;
    let (data, _) = super::load(store, settings).await?;
    let rep = rep_index(&data, &params.rep_id)?;
    let (_, end) = span(&data, params.period);
    let horizon = data
        .last_date
        .checked_add_months(chrono::Months::new(12))
        .unwrap_or(data.last_date);
    if end > horizon {
        return Err(CommissionError::Field {
            field: "period",
            message: format!(
                "{} ends more than a year after the data's last day {}",
                params.period, data.last_date
            ),
        }
        .into());
    }
    let books = Books::of_rep(store, &params.rep_id).await?;
    let landing = open_day(&data, &book, &books, rep, end)
        .filter(|(day, _)| *day <= end || books.frozen_of(&params.rep_id).is_empty());
    let Some((day, _)) = landing.filter(|(day, _)| *day >= span(&data, params.period).0) else {
        return Err(CommissionError::Conflict(format!(
            "{}'s statement for {} is closed or they are on no plan then: adjust an open period (a correction of a closed one goes in the next open period)",
            params.rep_id, params.period
        ))
        .into());
    };
    let label = params.period.to_string();
    let mut tx = store.begin().await?;
    let id = tx
        .insert_adjustment(&NewAdjustment {
            rep_id: &params.rep_id,
            period: &label,
            day,
            amount_cents: params.amount.cents(),
            reason: params.reason.trim(),
            author: actor,
            dispute_id: None,
        })
        .await?;
    tx.audit(&NewEvent {
        actor,
        kind: "adjustment",
        subject: &format!("{} {label}", params.rep_id),
        before: None,
        after: Some(serde_json::json!({
            "adjustment_id": id, "amount": params.amount, "day": day,
        })),
        note: Some(params.reason.trim()),
    })
    .await?;
    tx.commit().await?;
    let made = store.adjustments(Some(&params.rep_id)).await?;
    made.into_iter()
        .find(|a| a.adjustment_id == id)
        .ok_or_else(|| CommissionError::NotFound(format!("adjustment {id} vanished")).into())
}

/// Opens a dispute of a rep's published statement for `period`.
pub async fn dispute(
    store: &Store,
    rep_id: &str,
    period: Period,
    reason: &str,
    actor: &str,
) -> Result<Dispute, JobError> {
    need_reason("reason", reason)?;
    let label = period.to_string();
    let mut tx = store.begin().await?;
    let close = tx.close_of(&label).await?;
    match &close {
        Some(c) if c.published_at.is_some() => {}
        Some(_) => {
            return Err(CommissionError::Conflict(format!(
                "{period} is closed but not published: a rep disputes a published statement"
            ))
            .into());
        }
        None => {
            return Err(CommissionError::Conflict(format!(
                "{period} is not closed: only a published statement can be disputed"
            ))
            .into());
        }
    }
    if !store
        .frozen_in_close(&label)
        .await?
        .iter()
        .any(|f| f.rep_id == rep_id)
    {
        return Err(CommissionError::NotFound(format!(
            "{rep_id} has no statement in the close of {period}"
        ))
        .into());
    }
    if let Some(open) = tx.open_dispute(rep_id, &label).await? {
        return Err(CommissionError::Conflict(format!(
            "dispute #{open} of {rep_id}'s {period} statement is still open"
        ))
        .into());
    }
    let id = tx
        .insert_dispute(rep_id, &label, reason.trim(), actor)
        .await?;
    tx.audit(&NewEvent {
        actor,
        kind: "dispute",
        subject: &format!("{rep_id} {label}"),
        before: None,
        after: Some(serde_json::json!({"dispute_id": id, "state": "open"})),
        note: Some(reason.trim()),
    })
    .await?;
    let made = tx.dispute(id).await?;
    tx.commit().await?;
    made.ok_or_else(|| CommissionError::NotFound(format!("dispute {id} vanished")).into())
}

/// Resolves a dispute with a note, and with an adjustment in the rep's
/// first open period when `amount` is given.
pub async fn resolve(
    store: &Store,
    settings: &Settings,
    id: i64,
    note: &str,
    amount: Option<Money>,
    actor: &str,
) -> Result<Dispute, JobError> {
    need_reason("note", note)?;
    let amount = amount.filter(|a| a.cents() != 0);
    let landing = match amount {
        None => None,
        Some(_) => {
            let found = store.disputes(None, None).await?;
            let d = found
                .iter()
                .find(|d| d.dispute_id == id)
                .ok_or_else(|| CommissionError::NotFound(format!("no dispute #{id}")))?;
            let book = load_book(store, settings).await?;
            let (data, _) = super::load(store, settings).await?;
            let rep = rep_index(&data, &d.rep_id)?;
            let books = Books::of_rep(store, &d.rep_id).await?;
            let from = books
                .frozen_of(&d.rep_id)
                .iter()
                .map(|f| f.end)
                .max()
                .and_then(|e| e.succ_opt())
                .unwrap_or(data.last_date);
            Some(open_day(&data, &book, &books, rep, from).ok_or_else(|| {
                CommissionError::Conflict(format!(
                    "{} has no open period to carry the adjustment (on no plan after {from})",
                    d.rep_id
                ))
            })?)
        }
    };
    let mut tx = store.begin().await?;
    let Some(before) = tx.dispute(id).await? else {
        return Err(CommissionError::NotFound(format!("no dispute #{id}")).into());
    };
    if before.state != "open" {
        return Err(CommissionError::Conflict(format!(
            "dispute #{id} was resolved on {} by {}",
            before.resolved_at.as_deref().unwrap_or("?"),
            before.resolved_by.as_deref().unwrap_or("?")
        ))
        .into());
    }
    let adjustment = match (amount, &landing) {
        (Some(a), Some((day, label))) => Some(
            tx.insert_adjustment(&NewAdjustment {
                rep_id: &before.rep_id,
                period: label,
                day: *day,
                amount_cents: a.cents(),
                reason: note.trim(),
                author: actor,
                dispute_id: Some(id),
            })
            .await?,
        ),
        _ => None,
    };
    tx.resolve_dispute(id, note.trim(), actor, adjustment)
        .await?;
    let after = tx.dispute(id).await?;
    tx.audit(&NewEvent {
        actor,
        kind: "resolve",
        subject: &format!("{} {}", before.rep_id, before.period),
        before: serde_json::to_value(&before).ok(),
        after: after.as_ref().and_then(|a| serde_json::to_value(a).ok()),
        note: Some(note.trim()),
    })
    .await?;
    tx.commit().await?;
    after.ok_or_else(|| CommissionError::NotFound(format!("dispute {id} vanished")).into())
}

/// One payroll row.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PayrollRow {
    /// The rep.
    pub rep_id: String,
    /// Their name.
    pub name: String,
    /// The closed period.
    pub period: String,
    /// ISO 4217 code.
    pub currency: String,
    /// What their closed statements pay.
    pub amount: Money,
    /// Of which adjustments (manual, dispute and prior-period lines).
    pub adjustments: Money,
}

/// The payroll rows of a closed period, by rep: what its frozen
/// statements pay, to the cent.
pub async fn export(
    store: &Store,
    settings: &Settings,
    period: Period,
) -> Result<Vec<PayrollRow>, JobError> {
    let label = period.to_string();
    if !store.closes().await?.iter().any(|c| c.period == label) {
        return Err(CommissionError::Conflict(format!(
            "{period} is not closed: the payroll file is of a closed period"
        ))
        .into());
    }
    let names: HashMap<String, String> = store
        .reps()
        .await?
        .into_iter()
        .map(|r| (r.rep_id.as_str().to_owned(), r.name))
        .collect();
    let mut rows: Vec<PayrollRow> = Vec::new();
    for f in store.frozen_in_close(&label).await? {
        // A statement of a plan paying in another currency is paid in it.
        let currency = f
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|v| v.get("currency")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| settings.currency.clone());
        match rows.last_mut() {
            Some(last) if last.rep_id == f.rep_id && last.currency == currency => {
                last.amount = Money::from_cents(last.amount.cents() + f.total_cents);
                last.adjustments =
                    Money::from_cents(last.adjustments.cents() + f.adjustments_cents);
            }
            _ => rows.push(PayrollRow {
                name: names.get(&f.rep_id).cloned().unwrap_or_default(),
                rep_id: f.rep_id,
                period: label.clone(),
                currency,
                amount: Money::from_cents(f.total_cents),
                adjustments: Money::from_cents(f.adjustments_cents),
            }),
        }
    }
    Ok(rows)
}

/// One version of a plan, as listed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VersionView {
    /// The version.
    #[serde(flatten)]
    pub stored: StoredVersion,
    /// Last day in force in the current book (`None`: open-ended or not in it).
    pub effective_to: Option<NaiveDate>,
    /// Whether the current plan book holds it.
    pub in_book: bool,
}

/// Every version of a plan ever stored.
pub async fn versions(
    store: &Store,
    settings: &Settings,
    plan_id: &str,
) -> Result<Vec<VersionView>, JobError> {
    let book = load_book(store, settings).await?;
    let current = book.versions_of(plan_id);
    let mut stored = store.plan_versions(Some(plan_id)).await?;
    // A book stored before versions were recorded: its versions, undated.
    for c in current {
        if !stored.iter().any(|s| s.version == c.version) {
            stored.push(StoredVersion {
                plan_id: c.id.clone(),
                version: c.version.clone(),
                effective_from: c.effective_from,
                terms: serde_json::to_value(c).unwrap_or_default(),
                stored_at: String::new(),
                stored_by: String::new(),
            });
        }
    }
    if stored.is_empty() && current.is_empty() {
        return Err(CommissionError::NotFound(format!("no plan {plan_id:?}")).into());
    }
    Ok(stored
        .into_iter()
        .map(|v| {
            let at = current.iter().position(|c| c.version == v.version);
            let effective_to = at
                .and_then(|i| current.get(i + 1))
                .and_then(|next| next.effective_from)
                .and_then(|d| d.pred_opt());
            VersionView {
                in_book: at.is_some(),
                effective_to,
                stored: v,
            }
        })
        .collect())
}

/// The sums of a period's payroll rows, one per currency paid in (for
/// checks and summaries): amounts in different currencies never add up.
pub fn payroll_totals(rows: &[PayrollRow]) -> std::collections::BTreeMap<String, Decimal> {
    let mut totals = std::collections::BTreeMap::new();
    for r in rows {
        *totals.entry(r.currency.clone()).or_insert(Decimal::ZERO) += r.amount.amount();
    }
    totals
}
