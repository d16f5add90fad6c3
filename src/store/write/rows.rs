//! How each table's records are written: their columns, conflict keys,
//! content hash and bound values.

use super::*;
use crate::domain::DealMeasures;

impl UpsertRow for Territory {
    fn columns() -> Columns<'static> {
        Columns {
            table: "territories",
            keys: &["territory_id"],
            values: &["name", "region"],
            also: &[],
        }
    }

    fn hash(&self) -> i64 {
        row_hash(&[
            Some(self.territory_id.as_str()),
            Some(self.name.as_str()),
            Some(self.region.as_str()),
        ])
    }

    fn bind<'r>(&'r self, v: &mut Vec<Param<'r>>) {
        v.extend([
            Param::Text(Some(self.territory_id.as_str())),
            Param::Text(Some(self.name.as_str())),
            Param::Text(Some(self.region.as_str())),
        ])
    }
}

impl UpsertRow for Rep {
    fn columns() -> Columns<'static> {
        Columns {
            table: "reps",
            keys: &["rep_id"],
            values: &[
                "name",
                "manager_id",
                "territory_id",
                "role",
                "hire_date",
                "end_date",
                "plan_id",
            ],
            also: &[],
        }
    }

    fn hash(&self) -> i64 {
        row_hash(&[
            Some(self.rep_id.as_str()),
            Some(self.name.as_str()),
            self.manager_id.as_ref().map(|m| m.as_str()),
            self.territory_id.as_ref().map(|t| t.as_str()),
            self.role.map(|role| role.as_str()),
            text_of(self.hire_date).as_deref(),
            text_of(self.end_date).as_deref(),
            self.plan_id.as_deref(),
        ])
    }

    fn bind<'r>(&'r self, v: &mut Vec<Param<'r>>) {
        v.extend([
            Param::Text(Some(self.rep_id.as_str())),
            Param::Text(Some(self.name.as_str())),
            Param::Text(self.manager_id.as_ref().map(|m| m.as_str())),
            Param::Text(self.territory_id.as_ref().map(|t| t.as_str())),
            Param::Text(self.role.map(|role| role.as_str())),
            Param::Day(self.hire_date),
            Param::Day(self.end_date),
            Param::Text(self.plan_id.as_deref()),
        ])
    }
}

impl UpsertRow for Stamped<'_> {
    fn columns() -> Columns<'static> {
        Columns {
            table: "opportunities",
            keys: &["opportunity_id"],
            values: &[
                "rep_id",
                "account",
                "product",
                "amount_cents",
                "stage",
                "status",
                "created_date",
                "close_date",
                "forecast_category",
                "currency",
                "margin_cents",
                "acv_cents",
            ],
            also: &["ingest_run"],
        }
    }

    fn hash(&self) -> i64 {
        let r = self.opp;
        hash_in(
            r.currency.as_deref(),
            r.measures,
            &[
                Some(r.opportunity_id.as_str()),
                Some(r.rep_id.as_str()),
                r.account.as_deref(),
                r.product.as_deref(),
                text_of(r.amount.map(Money::cents)).as_deref(),
                Some(r.stage.as_str()),
                Some(r.status.as_str()),
                Some(r.created_date.to_string().as_str()),
                text_of(r.close_date).as_deref(),
                r.forecast_category.as_deref(),
            ],
        )
    }

    fn bind<'r>(&'r self, v: &mut Vec<Param<'r>>) {
        let r = self.opp;
        v.extend([
            Param::Text(Some(r.opportunity_id.as_str())),
            Param::Text(Some(r.rep_id.as_str())),
            Param::Text(r.account.as_deref()),
            Param::Text(r.product.as_deref()),
            Param::Int(r.amount.map(Money::cents)),
            Param::Text(Some(r.stage.as_str())),
            Param::Text(Some(r.status.as_str())),
            Param::Day(Some(r.created_date)),
            Param::Day(r.close_date),
            Param::Text(r.forecast_category.as_deref()),
            Param::Text(r.currency.as_deref()),
            Param::Int(r.measures.margin.map(Money::cents)),
            Param::Int(r.measures.acv.map(Money::cents)),
            Param::Int(Some(self.run)),
        ])
    }
}

impl UpsertRow for HistoryRecord {
    fn columns() -> Columns<'static> {
        Columns {
            table: "opportunity_history",
            keys: &["opportunity_id", "as_of"],
            values: &[
                "stage",
                "status",
                "amount_cents",
                "close_date",
                "forecast_category",
            ],
            also: &[],
        }
    }

    fn hash(&self) -> i64 {
        history_hash(self)
    }

    fn bind<'r>(&'r self, v: &mut Vec<Param<'r>>) {
        v.extend([
            Param::Text(Some(self.opportunity_id.as_str())),
            Param::Day(Some(self.as_of)),
            Param::Text(Some(self.stage.as_str())),
            Param::Text(Some(self.status.as_str())),
            Param::Int(self.amount.map(Money::cents)),
            Param::Day(self.close_date),
            Param::Text(self.forecast_category.as_deref()),
        ])
    }
}

impl UpsertRow for Booking {
    fn columns() -> Columns<'static> {
        Columns {
            table: "bookings",
            keys: &["booking_id"],
            values: &[
                "rep_id",
                "amount_cents",
                "booked_date",
                "opportunity_id",
                "territory_id",
                "currency",
                "margin_cents",
                "acv_cents",
            ],
            also: &[],
        }
    }

    fn hash(&self) -> i64 {
        hash_in(
            self.currency.as_deref(),
            self.measures,
            &[
                Some(self.booking_id.as_str()),
                Some(self.rep_id.as_str()),
                Some(self.amount.cents().to_string().as_str()),
                Some(self.booked_date.to_string().as_str()),
                self.opportunity_id.as_ref().map(|o| o.as_str()),
                self.territory_id.as_ref().map(|t| t.as_str()),
            ],
        )
    }

    fn bind<'r>(&'r self, v: &mut Vec<Param<'r>>) {
        v.extend([
            Param::Text(Some(self.booking_id.as_str())),
            Param::Text(Some(self.rep_id.as_str())),
            Param::Int(Some(self.amount.cents())),
            Param::Day(Some(self.booked_date)),
            Param::Text(self.opportunity_id.as_ref().map(|o| o.as_str())),
            Param::Text(self.territory_id.as_ref().map(|t| t.as_str())),
            Param::Text(self.currency.as_deref()),
            Param::Int(self.measures.margin.map(Money::cents)),
            Param::Int(self.measures.acv.map(Money::cents)),
        ])
    }
}

impl UpsertRow for PeriodQuota<'_> {
    fn columns() -> Columns<'static> {
        Columns {
            table: "quotas",
            keys: &["rep_id", "period"],
            values: &["amount_cents", "currency"],
            also: &[],
        }
    }

    fn hash(&self) -> i64 {
        hash_in(
            self.quota.currency.as_deref(),
            DealMeasures::default(),
            &[
                Some(self.quota.rep_id.as_str()),
                Some(self.period.as_str()),
                Some(self.quota.amount.cents().to_string().as_str()),
            ],
        )
    }

    fn bind<'r>(&'r self, v: &mut Vec<Param<'r>>) {
        v.extend([
            Param::Text(Some(self.quota.rep_id.as_str())),
            Param::Text(Some(self.period.as_str())),
            Param::Int(Some(self.quota.amount.cents())),
            Param::Text(self.quota.currency.as_deref()),
        ])
    }
}

/// A row's hash with its currency and measures: a row in the
/// organisation's currency without them hashes as it did before rows could
/// name them, so stored fingerprints stay what they were.
fn hash_in(currency: Option<&str>, measures: DealMeasures, fields: &[Option<&str>]) -> i64 {
    if currency.is_none() && measures.is_empty() {
        return row_hash(fields);
    }
    let extra: Vec<String> = [("margin", measures.margin), ("acv", measures.acv)]
        .into_iter()
        .filter_map(|(name, m)| m.map(|m| format!("{name}={}", m.cents())))
        .collect();
    let mut all = fields.to_vec();
    all.extend(currency.map(Some));
    all.extend(extra.iter().map(|e| Some(e.as_str())));
    row_hash(&all)
}
