//! Currencies, golden statements computed by hand through the real path:
//! a rep booking in EUR, paid in EUR against a EUR quota; their manager
//! paid in USD on a team booking in EUR and USD, each conversion shown;
//! a row in a currency without a rate for its day rejected, nothing stored.

use attain::commission::Statement;
use attain::commission::credits::{Ledger, statements};
use attain::commission::engine::LineKind;
use attain::domain::FiscalCalendar;
use attain::features::SalesData;
use attain::ingest::{IngestError, ingest, parse_plan_book};

use crate::helpers::{self, date};

const PLANS: &str = r#"
[[plan]]
id = "ae"
period = "quarter"
  [[plan.tier]]
  from = "0%"
  rate = "10%"

[[plan]]
id = "ae_eur"
period = "quarter"
currency = "EUR"
  [[plan.tier]]
  from = "0%"
  to = "100%"
  rate = "10%"
  [[plan.tier]]
  from = "100%"
  rate = "20%"

[[plan]]
id = "mgr"
period = "quarter"
credit = "team"
  [[plan.tier]]
  from = "0%"
  rate = "2%"
"#;

/// M1 manages R1 (Paris, EUR) and R2 (Boston, USD).
fn write(dir: &std::path::Path, bookings: &str, rates: &str) {
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    w(
        "territories.csv",
        "territory_id,name,region\nT1,Paris,EMEA\nT2,Boston,NA\n",
    );
    w(
        "reps.csv",
        "rep_id,name,manager_id,territory_id,role,hire_date,end_date,plan_id
M1,Manager,,T2,manager,2020-01-01,,mgr
R1,Rep Paris,M1,T1,rep,2020-01-01,,ae_eur
R2,Rep Boston,M1,T2,rep,2020-01-01,,ae
",
    );
    w("bookings.csv", bookings);
    w(
        "quotas.csv",
        "rep_id,period,amount,currency\nR1,2025-Q1,20000,EUR\nR2,2025-Q1,50000,\n",
    );
    w("fx_rates.csv", rates);
    w("comp_plans.toml", PLANS);
}

const BOOKINGS: &str = "booking_id,rep_id,amount,booked_date,currency
B1,R1,10000,2025-01-15,EUR
B2,R1,5000,2025-02-10,eur
B3,R2,20000,2025-02-20,USD
";

const RATES: &str = "date,currency,rate
2025-01-01,EUR,1.10
2025-02-01,EUR,1.20
";

async fn q1(who: &[&str]) -> Vec<Statement> {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), BOOKINGS, RATES);
    let t = helpers::sqlite().await;
    ingest(
        &t.store,
        &[dir.path().to_path_buf()],
        &helpers::options(date("2025-12-31")),
    )
    .await
    .expect("ingest");
    let mut data = SalesData::load(&t.store, FiscalCalendar::default())
        .await
        .expect("load");
    data.rates.set_org("USD");
    let source = t.store.plan_book().await.expect("read").expect("plans");
    let book = parse_plan_book(&source, FiscalCalendar::default()).expect("parse");
    t.finish().await;
    attain::commission::credits::check_rates(&data, &book).expect("rates");
    let ledger = Ledger::build(&data, &book);
    // Forecasts see the organisation's currency: 11,000 + 6,000 + 20,000.
    let total: i64 = data.bookings.iter().map(|b| b.cents).sum();
    assert_eq!(total, 3_700_000);
    who.iter()
        .map(|id| {
            let r = data
                .reps
                .iter()
                .position(|x| x.rep_id.as_str() == *id)
                .expect("person");
            let all = statements(
                &data,
                &book,
                &ledger,
                r,
                date("2025-03-31"),
                date("2025-03-31"),
                true,
            );
            all.into_iter()
                .find(|s| s.period == "2025-Q1")
                .expect("a Q1 statement")
        })
        .collect()
}

#[tokio::test]
async fn golden_rep_paid_in_euros_and_manager_in_dollars() {
    let [r1, m1] = <[Statement; 2]>::try_from(q1(&["R1", "M1"]).await).expect("two");
    // R1: 10,000 + 5,000 EUR against a 20,000 EUR quota, all in EUR: 75%,
    // 10% of 15,000 = 1,500.00 EUR; nothing converted.
    assert_eq!(r1.currency.as_deref(), Some("EUR"));
    assert_eq!(format!("{:.2}", r1.quota), "20000.00");
    assert_eq!(format!("{:.2}", r1.credited), "15000.00");
    assert_eq!(format!("{:.2}", r1.total), "1500.00");
    assert!(r1.lines.iter().all(|l| l.conversion.is_none()));
    // M1, in USD: B1 10,000 EUR at 1.10 = 11,000.00; B2 5,000 EUR at
    // 1.20 (February's rate) = 6,000.00; B3 20,000.00 USD. 37,000 x 2% =
    // 740.00.
    assert_eq!(m1.currency, None);
    let credits: Vec<_> = m1
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Credit)
        .map(|l| {
            (
                format!("{:.2}", l.credit.unwrap_or_default()),
                l.conversion.as_ref().map(|c| {
                    format!(
                        "{} {:.2} at {} on {}",
                        c.currency,
                        c.amount,
                        c.rate.normalize(),
                        c.date
                    )
                }),
            )
        })
        .collect();
    assert_eq!(
        credits,
        vec![
            (
                "11000.00".into(),
                Some("EUR 10000.00 at 1.1 on 2025-01-15".into())
            ),
            (
                "6000.00".into(),
                Some("EUR 5000.00 at 1.2 on 2025-02-10".into())
            ),
            ("20000.00".into(), None),
        ]
    );
    assert!(
        m1.lines[0]
            .description
            .contains("EUR 10000.00 at 1.1 on 2025-01-15")
    );
    assert_eq!(format!("{:.2}", m1.total), "740.00");
}

#[tokio::test]
async fn a_missing_rate_is_rejected_naming_currency_and_day_and_nothing_is_stored() {
    for (bookings, rates, expected) in [
        (
            "booking_id,rep_id,amount,booked_date,currency\nB1,R1,100,2025-01-20,GBP\n",
            RATES,
            "no GBP rate on 2025-01-20",
        ),
        (
            "booking_id,rep_id,amount,booked_date,currency\nB1,R1,100,2024-12-20,EUR\nB2,R1,100,2025-01-20,EUR\n",
            RATES,
            "no EUR rate on 2024-12-20",
        ),
        (
            "booking_id,rep_id,amount,booked_date,currency\nB1,R1,100,2025-01-20,EURO\n",
            RATES,
            "not an ISO 4217 currency code",
        ),
        (
            BOOKINGS,
            "date,currency,rate\n2025-01-01,EUR,0\n",
            "a rate must be above zero",
        ),
        (
            BOOKINGS,
            "date,currency,rate\n2025-01-01,USD,1\n",
            "USD is the organisation's currency",
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), bookings, rates);
        let t = helpers::sqlite().await;
        let err = ingest(
            &t.store,
            &[dir.path().to_path_buf()],
            &helpers::options(date("2025-12-31")),
        )
        .await
        .expect_err("rejected");
        let IngestError::Invalid(report) = err else {
            panic!("not a validation error: {err}");
        };
        let text = format!("{report:?}");
        assert!(text.contains(expected), "{expected}: {text}");
        let status = t.store.status().await.expect("status");
        assert!(status.tables.values().all(|n| *n == 0), "{status:?}");
        assert!(t.store.fx_rates().await.expect("rates").is_empty());
        t.finish().await;
    }
}
