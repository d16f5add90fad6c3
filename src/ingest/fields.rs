//! The native fields of each table: what attain's own format names its
//! columns, and which of them every row must fill.

use crate::store::Table;

/// One native field of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Native name (the column name in attain's own format).
    pub name: &'static str,
    /// Whether every row must have a value.
    pub required: bool,
}

impl Field {
    const fn required(name: &'static str) -> Field {
        Field::new(name, true)
    }

    const fn optional(name: &'static str) -> Field {
        Field::new(name, false)
    }

    const fn new(name: &'static str, required: bool) -> Field {
        Field { name, required }
    }
}

const TERRITORY_FIELDS: &[Field] = &[
    Field::required("territory_id"),
    Field::required("name"),
    Field::required("region"),
];
const REP_FIELDS: &[Field] = &[
    Field::required("rep_id"),
    Field::required("name"),
    Field::optional("manager_id"),
    Field::optional("territory_id"),
    Field::optional("role"),
    Field::optional("hire_date"),
    Field::optional("end_date"),
    Field::optional("plan_id"),
];
const OPPORTUNITY_FIELDS: &[Field] = &[
    Field::required("opportunity_id"),
    Field::required("rep_id"),
    Field::optional("account"),
    Field::optional("product"),
    Field::optional("amount"),
    Field::required("stage"),
    Field::required("status"),
    Field::required("created_date"),
    Field::optional("close_date"),
    Field::optional("forecast_category"),
    Field::optional("currency"),
    Field::optional("margin"),
    Field::optional("acv"),
];
const HISTORY_FIELDS: &[Field] = &[
    Field::required("opportunity_id"),
    Field::required("as_of"),
    Field::required("stage"),
    Field::required("status"),
    Field::optional("amount"),
    Field::optional("close_date"),
    Field::optional("forecast_category"),
];
const BOOKING_FIELDS: &[Field] = &[
    Field::required("booking_id"),
    Field::required("rep_id"),
    Field::required("amount"),
    Field::required("booked_date"),
    Field::optional("opportunity_id"),
    Field::optional("territory_id"),
    Field::optional("currency"),
    Field::optional("margin"),
    Field::optional("acv"),
];
const QUOTA_FIELDS: &[Field] = &[
    Field::required("rep_id"),
    Field::required("period"),
    Field::required("amount"),
    Field::optional("currency"),
];

/// The native fields of each table, in file column order.
pub fn fields(table: Table) -> &'static [Field] {
    match table {
        Table::Territories => TERRITORY_FIELDS,
        Table::Reps => REP_FIELDS,
        Table::Opportunities => OPPORTUNITY_FIELDS,
        Table::OpportunityHistory => HISTORY_FIELDS,
        Table::Bookings => BOOKING_FIELDS,
        Table::Quotas => QUOTA_FIELDS,
    }
}
