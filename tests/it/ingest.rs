//! Ingestion: all-or-nothing, precise problems, idempotence, newer exports.

use attain::ingest::{IngestError, ingest};
use attain::store::Table;

use crate::helpers::*;

#[tokio::test]
async fn sample_loads_completely_and_a_second_ingest_is_a_no_op() {
    let org = small_org(20, 12, 7);
    for t in backends().await {
        let first = ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-01-01")),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        assert!(first.run_id.is_some());
        assert_eq!(first.skipped.len(), 1, "truth.csv is not a table");
        for table in Table::ALL {
            let (_, rows) = read_csv(&org.file(&format!("{}.csv", table.name())));
            assert_eq!(
                t.store.count(table).await.unwrap(),
                rows.len() as u64,
                "{} {}",
                t.name,
                table.name()
            );
            assert_eq!(first.tables[table.name()].inserted, rows.len() as u64);
        }
        assert_eq!(
            first.snapshots_added, 0,
            "the history file already has every state"
        );

        let second = ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-02-01")),
        )
        .await
        .unwrap();
        assert_eq!(
            second.run_id, None,
            "{}: nothing changed, no run recorded",
            t.name
        );
        assert_eq!(second.fingerprint, first.fingerprint);
        assert!(
            second
                .tables
                .values()
                .all(|s| s.inserted == 0 && s.updated == 0 && s.unchanged == s.rows)
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn a_broken_file_is_rejected_with_every_problem_and_nothing_is_stored() {
    let org = small_org(20, 12, 8);
    let (header, mut rows) = read_csv(&org.file("opportunities.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    rows[0][col("amount")] = "-12.50".into(); // row 2
    rows[1][col("created_date")] = "2024-13-01".into(); // row 3
    rows[2][col("rep_id")] = "NOBODY".into(); // row 4
    rows[3][col("close_date")] = "2020-01-01".into(); // row 5: before created
    rows[4][col("amount")] = "12,5x".into(); // row 6
    let duplicate = rows[5].clone();
    rows.push(duplicate); // last row: duplicate id
    rows[6][col("status")] = "maybe".into(); // row 8
    write_csv(&org.file("opportunities.csv"), &header, &rows);
    let n = rows.len() + 1;

    for t in backends().await {
        let before = t.store.status().await.unwrap();
        let err = ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2024-01-01")),
        )
        .await
        .expect_err("must be rejected");
        let IngestError::Invalid(report) = err else {
            panic!("{}: {err}", t.name)
        };
        let text = report.to_string();
        let expect = |row: usize, column: &str, needle: &str| {
            assert!(
                report.problems.iter().any(|p| p.row == Some(row)
                    && p.column.as_deref() == Some(column)
                    && p.message.contains(needle)
                    && p.file.ends_with("opportunities.csv")),
                "{}: no problem at row {row} column {column} with {needle:?} in\n{text}",
                t.name
            );
        };
        expect(2, "amount", "negative");
        expect(3, "created_date", "not a date");
        expect(4, "rep_id", "unknown rep");
        expect(5, "close_date", "before the created date");
        expect(6, "amount", "not a decimal");
        expect(n, "opportunity_id", "duplicate");
        expect(8, "status", "open, won or lost");
        assert!(text.contains("value \"-12.50\""), "{text}");
        let after = t.store.status().await.unwrap();
        assert_eq!(
            after.fingerprint, before.fingerprint,
            "{}: store changed",
            t.name
        );
        assert!(
            after.tables.values().all(|&n| n == 0),
            "{}: rows stored",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn manager_cycles_unknown_references_and_missing_columns_are_reported() {
    let org = small_org(20, 12, 9);
    let (header, mut rows) = read_csv(&org.file("reps.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // CRO reports to a manager who reports (through a leader) to the CRO.
    let cro = rows.iter().position(|r| r[0] == "CRO").unwrap();
    rows[cro][col("manager_id")] = "M001".into();
    let rep = rows.iter().position(|r| r[0].starts_with('R')).unwrap();
    rows[rep][col("territory_id")] = "T999".into();
    write_csv(&org.file("reps.csv"), &header, &rows);
    let (qh, qrows) = read_csv(&org.file("quotas.csv"));
    let without_amount: Vec<Vec<String>> = qrows.iter().map(|r| r[..2].to_vec()).collect();
    write_csv(&org.file("quotas.csv"), &qh[..2], &without_amount);

    let t = sqlite().await;
    let err = ingest(
        &t.store,
        &[org.path().to_path_buf()],
        &options(date("2024-01-01")),
    )
    .await
    .expect_err("must be rejected");
    let text = err.to_string();
    assert!(
        text.contains("manager cycle: CRO -> M001 -> L001 -> CRO")
            || text.contains("manager cycle"),
        "{text}"
    );
    assert!(text.contains("reps.csv, row"), "{text}");
    assert!(
        text.contains("column territory_id, value \"T999\": unknown territory"),
        "{text}"
    );
    assert!(
        text.contains("quotas.csv, column amount: required column is missing"),
        "{text}"
    );
    assert_eq!(t.store.count(Table::Reps).await.unwrap(), 0);
    t.finish().await;
}

#[tokio::test]
async fn a_newer_export_updates_deals_and_keeps_the_past_reconstructible() {
    let org = small_org(20, 12, 10);
    for t in backends().await {
        ingest(
            &t.store,
            &[org.path().to_path_buf()],
            &options(date("2023-12-31")),
        )
        .await
        .unwrap();
        let end = date("2023-12-31");
        let before_end = t.store.opportunities_as_of(end).await.unwrap();
        let open = before_end
            .iter()
            .find(|d| !d.status.is_closed())
            .expect("an open deal")
            .clone();

        // A newer export: that deal was won on 2024-01-15 for a new amount.
        let (header, mut rows) = read_csv(&org.file("opportunities.csv"));
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let row = rows
            .iter_mut()
            .find(|r| r[0] == open.opportunity_id.as_str())
            .unwrap();
        row[col("stage")] = "Closed Won".into();
        row[col("status")] = "won".into();
        row[col("amount")] = "99999.00".into();
        row[col("close_date")] = "2024-01-15".into();
        let newer = tempfile::tempdir().unwrap();
        write_csv(&newer.path().join("opportunities.csv"), &header, &rows);

        let summary = ingest(
            &t.store,
            &[newer.path().to_path_buf()],
            &options(date("2024-01-16")),
        )
        .await
        .unwrap();
        let opp = &summary.tables["opportunities"];
        assert_eq!((opp.inserted, opp.updated), (0, 1), "{}", t.name);
        assert_eq!(summary.snapshots_added, 1, "{}", t.name);

        // The past is unchanged; from the export date on the deal is won.
        assert_eq!(
            t.store.opportunities_as_of(end).await.unwrap(),
            before_end,
            "{}",
            t.name
        );
        let now = t
            .store
            .opportunities_as_of(date("2024-01-16"))
            .await
            .unwrap();
        let deal = now
            .iter()
            .find(|d| d.opportunity_id == open.opportunity_id)
            .unwrap();
        assert_eq!(deal.stage, "Closed Won");
        assert_eq!(deal.amount.unwrap().to_string(), "99999.00");
        assert_eq!(deal.snapshot_date, date("2024-01-16"));

        // The same newer export again changes nothing.
        let again = ingest(
            &t.store,
            &[newer.path().to_path_buf()],
            &options(date("2024-01-17")),
        )
        .await
        .unwrap();
        assert_eq!(again.run_id, None, "{}", t.name);
        assert_eq!(again.snapshots_added, 0);
        t.finish().await;
    }
}

#[tokio::test]
async fn parquet_files_load_like_csv() {
    use polars::prelude::*;
    let org = small_org(12, 8, 11);
    let csv_dir = org.path().to_path_buf();
    let pq_dir = tempfile::tempdir().unwrap();
    for table in Table::ALL {
        let path = csv_dir.join(format!("{}.csv", table.name()));
        let mut df = CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(path))
            .unwrap()
            .finish()
            .unwrap();
        let file =
            std::fs::File::create(pq_dir.path().join(format!("{}.parquet", table.name()))).unwrap();
        ParquetWriter::new(file).finish(&mut df).unwrap();
    }
    // The CSV-only files come along as they are.
    for name in ["org_history.csv", "fx_rates.csv", "comp_plans.toml"] {
        if csv_dir.join(name).exists() {
            std::fs::copy(csv_dir.join(name), pq_dir.path().join(name)).unwrap();
        }
    }
    let from_csv = sqlite().await;
    let from_parquet = sqlite().await;
    let a = ingest(&from_csv.store, &[csv_dir], &options(date("2024-01-01")))
        .await
        .unwrap();
    let b = ingest(
        &from_parquet.store,
        &[pq_dir.path().to_path_buf()],
        &options(date("2024-01-01")),
    )
    .await
    .unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    from_csv.finish().await;
    from_parquet.finish().await;
}

#[tokio::test]
async fn a_column_mapping_reads_any_layout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "Employee,Full Name,Boss\nE1,Ada,\nE2,Bob,E1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deals.csv"),
        "Deal #,Owner,Value,Phase,Opened,Expected Close\n\
         D1,E2,\"1,200.50\",Won it,03/02/2024,04/15/2024\n\
         D2,E2,800,Talking,03/05/2024,05/01/2024\n\
         D3,E1,,Dead,03/07/2024,03/20/2024\n",
    )
    .unwrap();
    let mapping_path = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping_path,
        r#"
[tables.reps]
files = ["people"]
[tables.reps.columns]
rep_id = "Employee"
name = "Full Name"
manager_id = "Boss"

[tables.opportunities]
files = ["deals"]
date_formats = ["%m/%d/%Y"]
[tables.opportunities.columns]
opportunity_id = "Deal #"
rep_id = "Owner"
amount = "Value"
stage = "Phase"
status = "Phase"
created_date = "Opened"
close_date = "Expected Close"
[tables.opportunities.values.status]
"Won it" = "won"
"Dead" = "lost"
"*" = "open"
"#,
    )
    .unwrap();
    let t = sqlite().await;
    let mut opts = options(date("2024-03-10"));
    opts.mapping = attain::ingest::Mapping::from_file(&mapping_path).unwrap();
    let summary = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    assert_eq!(summary.tables["opportunities"].inserted, 3);
    assert_eq!(
        summary.snapshots_added, 3,
        "first sight of each deal is recorded"
    );
    let deals = t
        .store
        .opportunities_as_of(date("2024-03-10"))
        .await
        .unwrap();
    let statuses: Vec<(&str, &str, Option<String>)> = deals
        .iter()
        .map(|d| {
            (
                d.opportunity_id.as_str(),
                d.status.as_str(),
                d.amount.map(|a| a.to_string()),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("D1", "won", Some("1200.50".into())),
            ("D2", "open", Some("800.00".into())),
            ("D3", "lost", None)
        ]
    );
    t.finish().await;
}

#[tokio::test]
async fn duplicate_snapshots_and_unknown_deals_in_history_are_reported() {
    let org = small_org(12, 8, 12);
    let (header, mut rows) = read_csv(&org.file("opportunity_history.csv"));
    let copy = rows[10].clone();
    rows.push(copy);
    let mut ghost = rows[0].clone();
    ghost[0] = "NO-SUCH-DEAL".into();
    rows.push(ghost);
    write_csv(&org.file("opportunity_history.csv"), &header, &rows);
    let n = rows.len() + 1;
    let t = sqlite().await;
    let text = ingest(
        &t.store,
        &[org.path().to_path_buf()],
        &options(date("2024-01-01")),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        text.contains(&format!(
            "opportunity_history.csv, row {}, column as_of",
            n - 1
        )),
        "{text}"
    );
    assert!(
        text.contains("an earlier row has this deal and day"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "row {n}, column opportunity_id, value \"NO-SUCH-DEAL\": unknown opportunity"
        )),
        "{text}"
    );
    assert_eq!(t.store.count(Table::Opportunities).await.unwrap(), 0);
    t.finish().await;
}
