//! Flat CRM exports loaded through a mapping alone: one row per deal with
//! the owner's *name*, people and offices only as columns of a second file,
//! list prices in a third, no history file. The files follow the layout of
//! public CRM sample exports (deal id, agent, product, account, stage,
//! engage date, close date, value); the rows are written here.

use attain::ingest::{IngestError, Mapping, ingest};
use attain::store::Table;

use crate::helpers::{date, options, sqlite};

const TEAMS: &str = "sales_agent,manager,regional_office
Anna Snelling,Dustin Brinkmann,Central
Cecily Lampkin,Dustin Brinkmann,Central
Moses Frase,Melvin Marxen,East
Darcel  Schlecht,Melvin Marxen,East
";

const PRODUCTS: &str = "product,series,sales_price
GTX Basic,GTX,550
MG Special,MG,55
GTK 500,GTK,26768
";

const PIPELINE: &str =
    "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value
1C1I7A6R,Moses Frase,GTX Basic,Cancity,Won,2017-03-01,2017-05-10,1054
Z063OYW0,Darcel Schlecht,GTK 500,Isdom,Won,2017-02-20,2017-03-15,25897
EC4QE1BX,Darcel Schlecht,MG Special,Cancity,Lost,2017-03-10,2017-04-20,0
MV1LWRNH,Moses Frase,GTX Basic,Codehow,Engaging,2017-03-25,,
PE84CX4O,Anna Snelling,MG Special,,Engaging,2017-04-10,,
ZNBS69V1,Cecily Lampkin,GTX Basic,,Prospecting,,,
";

const MAPPING: &str = r#"
name = "flat CRM export"

[tables.territories]
files = ["sales_teams"]
repeated = "merge"
name_ids = ["territory_id"]
[tables.territories.columns]
territory_id = "regional_office"
name = "regional_office"
region = "regional_office"

[tables.reps]
files = ["sales_teams"]
name_ids = ["rep_id", "manager_id", "territory_id"]
add_managers = true
[tables.reps.columns]
rep_id = "sales_agent"
name = "sales_agent"
manager_id = "manager"
territory_id = "regional_office"
[tables.reps.constants]
role = "rep"

[tables.opportunities]
files = ["sales_pipeline"]
name_ids = ["rep_id"]
[tables.opportunities.columns]
opportunity_id = "opportunity_id"
rep_id = "sales_agent"
account = "account"
product = "product"
amount = "close_value"
stage = "deal_stage"
status = "deal_stage"
created_date = "engage_date"
close_date = "close_date"
[tables.opportunities.values.status]
"Won" = "won"
"Lost" = "lost"
"*" = "open"
[tables.opportunities.fill]
created_date = "2017-06-30"
[tables.opportunities.lookup.amount]
file = "products"
by = "product"
key = "product"
value = "sales_price"
[tables.opportunities.history]
first_stage = "Prospecting"
stage_dates = { "Engaging" = "engage_date" }
"#;

fn write_export(dir: &std::path::Path, mapping: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("sales_teams.csv"), TEAMS).unwrap();
    std::fs::write(dir.join("products.csv"), PRODUCTS).unwrap();
    std::fs::write(dir.join("sales_pipeline.csv"), PIPELINE).unwrap();
    let path = dir.join("crm.toml");
    std::fs::write(&path, mapping).unwrap();
    path
}

#[tokio::test]
async fn a_flat_export_loads_through_a_mapping_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = write_export(dir.path(), MAPPING);
    let t = sqlite().await;
    let mut opts = options(date("2000-01-01"));
    opts.snapshot_date = None;
    opts.mapping = Mapping::from_file(&mapping).unwrap();
    // Files named in any order: the deals before the people they refer to.
    let files = [
        dir.path().join("sales_pipeline.csv"),
        dir.path().join("sales_teams.csv"),
    ];
    let summary = ingest(&t.store, &files, &opts).await.unwrap();

    // Offices became territories once each; agents and their managers became people.
    assert_eq!(summary.tables["territories"].inserted, 2);
    assert_eq!(summary.tables["reps"].inserted, 6);
    let reps = t.store.reps().await.unwrap();
    let darcel = reps
        .iter()
        .find(|r| r.rep_id.as_str() == "darcel-schlecht")
        .expect("an id made from the name");
    assert_eq!(darcel.name, "Darcel  Schlecht");
    assert_eq!(
        darcel.manager_id.as_ref().map(|m| m.as_str()),
        Some("melvin-marxen")
    );
    let melvin = reps
        .iter()
        .find(|r| r.rep_id.as_str() == "melvin-marxen")
        .expect("a manager made from the manager column");
    assert_eq!(melvin.name, "Melvin Marxen");
    assert_eq!(melvin.role, Some(attain::domain::RepRole::Manager));
    let notes = &summary.tables["reps"].notes;
    assert_eq!(notes["managers added from the manager column"], 2);

    // Open deals without a value took the product's list price, counted.
    let deal_notes = &summary.tables["opportunities"].notes;
    assert_eq!(deal_notes["amount filled from products.sales_price"], 3);
    assert_eq!(deal_notes["open deals without an expected close date"], 3);

    // The export's own date: its latest activity, not today.
    assert_eq!(summary.export_date, Some(date("2017-06-30")));
    assert!(!summary.export_date_given);

    // History from the dates: in the middle of the export, the deals open
    // that day, in the state they were in.
    let mid = t
        .store
        .opportunities_as_of(date("2017-04-01"))
        .await
        .unwrap();
    let state: Vec<(String, String, String)> = mid
        .iter()
        .map(|d| {
            (
                d.opportunity_id.as_str().to_owned(),
                d.status.as_str().to_owned(),
                d.amount.map(|a| a.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        state,
        [
            (
                "1C1I7A6R".to_owned(),
                "open".to_owned(),
                "1054.00".to_owned()
            ),
            ("EC4QE1BX".to_owned(), "open".to_owned(), "0.00".to_owned()),
            (
                "MV1LWRNH".to_owned(),
                "open".to_owned(),
                "550.00".to_owned()
            ),
            (
                "Z063OYW0".to_owned(),
                "won".to_owned(),
                "25897.00".to_owned()
            ),
        ]
    );
    let later = t
        .store
        .opportunities_as_of(date("2017-05-31"))
        .await
        .unwrap();
    let won_by_then: Vec<&str> = later
        .iter()
        .filter(|d| d.status.as_str() == "won")
        .map(|d| d.opportunity_id.as_str())
        .collect();
    assert_eq!(won_by_then, ["1C1I7A6R", "Z063OYW0"]);

    // Loading the same export again changes nothing.
    let again = ingest(&t.store, &files, &opts).await.unwrap();
    assert_eq!(again.run_id, None, "{again:?}");
    assert_eq!(again.fingerprint, summary.fingerprint);
    t.finish().await;
}

#[tokio::test]
async fn a_dry_run_checks_and_counts_but_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = write_export(dir.path(), MAPPING);
    let t = sqlite().await;
    let mut opts = options(date("2017-06-30"));
    opts.mapping = Mapping::from_file(&mapping).unwrap();
    opts.dry_run = true;
    let summary = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    assert!(summary.dry_run);
    assert_eq!(summary.tables["opportunities"].inserted, 6);
    assert_eq!(summary.run_id, None);
    assert_eq!(t.store.count(Table::Opportunities).await.unwrap(), 0);
    assert_eq!(t.store.count(Table::Reps).await.unwrap(), 0);
    t.finish().await;
}

#[tokio::test]
async fn thousands_of_bad_rows_are_reported_in_a_few_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = write_export(dir.path(), MAPPING);
    // 3,000 deals owned by people nobody knows and 2,000 with a bad date.
    let mut pipeline = String::from(PIPELINE);
    for i in 0..3000 {
        pipeline.push_str(&format!(
            "X{i},Ghost {},GTX Basic,Acme,Won,2017-03-01,2017-05-10,100\n",
            i % 7
        ));
    }
    for i in 0..2000 {
        pipeline.push_str(&format!(
            "Y{i},Moses Frase,GTX Basic,Acme,Won,03/01/2017,2017-05-10,100\n"
        ));
    }
    std::fs::write(dir.path().join("sales_pipeline.csv"), pipeline).unwrap();
    let t = sqlite().await;
    let mut opts = options(date("2017-06-30"));
    opts.mapping = Mapping::from_file(&mapping).unwrap();
    let err = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap_err();
    let IngestError::Invalid(report) = err else {
        panic!("expected a rejection, got {err}")
    };
    assert_eq!(report.total, 5000);
    assert_eq!(report.groups.len(), 2, "{report}");
    let text = report.to_string();
    assert!(text.lines().count() <= 10, "{text}");
    assert!(
        text.contains(
            "column sales_agent: unknown rep (3000 rows: 8, 9, 10, 11, 12, ...; values \"ghost-0\""
        ),
        "{text}"
    );
    assert!(text.contains("column engage_date: not a date"), "{text}");
    assert!(text.contains("hint: list the file's date format"), "{text}");
    assert_eq!(t.store.count(Table::Opportunities).await.unwrap(), 0);
    t.finish().await;
}

#[tokio::test]
async fn people_files_may_come_in_any_order() {
    // Agents name managers listed in a file that sorts after theirs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agents.csv"),
        "id,name,boss\nA1,Ada,M1\nA2,Bob,M2\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("managers.csv"),
        "id,name,boss\nM1,Meg,\nM2,Max,M1\n",
    )
    .unwrap();
    let mapping = Mapping::parse(
        "m.toml",
        "[tables.reps]\nfiles = [\"agents\", \"managers\"]\n[tables.reps.columns]\nrep_id = \"id\"\nmanager_id = \"boss\"\n",
    )
    .unwrap();
    let t = sqlite().await;
    let mut opts = options(date("2017-06-30"));
    opts.mapping = mapping;
    let summary = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    assert_eq!(summary.tables["reps"].inserted, 4);
    // A manager nobody lists is still refused, naming the row.
    std::fs::write(dir.path().join("agents.csv"), "id,name,boss\nA3,Cy,M9\n").unwrap();
    let err = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("agents.csv, row 2, column boss, value \"M9\": unknown manager"),
        "{err}"
    );
    t.finish().await;
}

#[test]
fn bad_mappings_name_their_line() {
    let cases = [
        (
            "[tables.opportunities]\nfiles = [\"d\"]\nname_ids = [\"stage\"]\n",
            "line 3: table opportunities: name_ids: \"stage\" is not an id field",
        ),
        (
            "[tables.opportunities]\nfiles = [\"d\"]\n\n[tables.opportunities.fill]\nvalue = \"0\"\n",
            "line 5: table opportunities: fill: unknown field \"value\"",
        ),
        (
            "[tables.opportunities]\nfiles = [\"d\"]\nrepeated = \"merge\"\n",
            "line 3: table opportunities: repeated = \"merge\" applies to territories and reps only",
        ),
        (
            "[tables.reps]\nfiles = [\"p\"]\nadd_managers = true\n",
            "add_managers needs manager_id in name_ids",
        ),
        (
            "[tables.opportunities]\nfiles = [\"d\"]\nstatus_flags = { closed = \"C\", won = \"W\" }\n[tables.opportunities.values.status]\n\"\" = \"open\"\n",
            "would never apply",
        ),
        (
            "[tables.quotas]\nfiles = [\"q\"]\nhistory = { first_stage = \"x\" }\n",
            "history from dates applies to opportunities only",
        ),
    ];
    for (text, expected) in cases {
        let err = Mapping::parse("m.toml", text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text}\n=> {err}");
        assert!(err.starts_with("mapping m.toml: "), "{err}");
    }
}

#[test]
fn ids_from_names_are_stable() {
    use attain::ingest::mapping::id_from_name;
    assert_eq!(id_from_name("Darcel  Schlecht"), "darcel-schlecht");
    assert_eq!(id_from_name(" darcel schlecht "), "darcel-schlecht");
    assert_eq!(id_from_name("Jane O'Doe (EMEA)"), "jane-o-doe-emea");
    assert_eq!(id_from_name("Zoë Ærø"), "zoë-ærø");
    assert_eq!(id_from_name("--"), "");
}

/// `(id, status)` of the deals open or closed by `day`, in id order.
async fn as_of(t: &crate::helpers::TestStore, day: &str) -> Vec<(String, String)> {
    t.store
        .opportunities_as_of(date(day))
        .await
        .unwrap()
        .iter()
        .map(|d| {
            (
                d.opportunity_id.as_str().to_owned(),
                d.status.as_str().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Loads an export folder with a preset, the export's own date standing
/// for its day; returns the store, the summary and the options used.
async fn load_export(
    dir: &std::path::Path,
    mapping: Mapping,
) -> (
    crate::helpers::TestStore,
    attain::ingest::IngestSummary,
    attain::ingest::IngestOptions,
) {
    let t = sqlite().await;
    let mut opts = options(date("2000-01-01"));
    opts.snapshot_date = None;
    opts.mapping = mapping;
    let summary = ingest(&t.store, &[dir.to_path_buf()], &opts).await.unwrap();
    (t, summary, opts)
}

/// A Salesforce export of two users (a manager and her seller) and the
/// given `Opportunity.csv` rows, in a folder of its own.
fn salesforce_export(opportunities: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("User.csv"),
        "Id,Name,ManagerId\n0055g00000AAAAAAA1,Vera Lead,\n0055g00000AAAAAAA2,Sam Seller,0055g00000AAAAAAA1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Opportunity.csv"),
        format!(
            "Id,OwnerId,Amount,StageName,CreatedDate,CloseDate,IsClosed,IsWon,LastStageChangeDate\n{opportunities}"
        ),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn salesforce_without_history_takes_it_from_the_dates() {
    let dir = salesforce_export(
        "0065g00000BBBBBBB1,0055g00000AAAAAAA2,25000,Closed Won,2024-01-10T09:15:00.000+0000,2024-03-28,true,true,2024-03-28T12:00:00.000+0000\n\
         0065g00000BBBBBBB2,0055g00000AAAAAAA2,,Proposal,2024-02-01T17:00:00.000+0000,2024-05-30,false,false,2024-03-05T10:00:00.000+0000\n\
         0065g00000BBBBBBB3,0055g00000AAAAAAA2,12000.5,Closed Lost,2024-02-03T08:00:00.000+0000,2024-03-01,true,false,\n",
    );
    let (t, summary, _) = load_export(dir.path(), Mapping::salesforce()).await;
    // The export's date is its last activity (a deal won on 28 March), not
    // the day it was loaded.
    assert_eq!(summary.export_date, Some(date("2024-03-28")));
    assert_eq!(summary.tables["opportunity_history"].inserted, 6);
    assert_eq!(
        as_of(&t, "2024-02-20").await,
        pairs(&[
            ("0065g00000BBBBBBB1", "open"),
            ("0065g00000BBBBBBB2", "open"),
            ("0065g00000BBBBBBB3", "open"),
        ])
    );
    assert_eq!(
        as_of(&t, "2024-03-10").await,
        pairs(&[
            ("0065g00000BBBBBBB1", "open"),
            ("0065g00000BBBBBBB2", "open"),
            ("0065g00000BBBBBBB3", "lost"),
        ])
    );
    let stage = t
        .store
        .opportunities_as_of(date("2024-03-10"))
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.opportunity_id.as_str() == "0065g00000BBBBBBB2")
        .map(|d| d.stage)
        .unwrap();
    assert_eq!(stage, "Proposal");
    t.finish().await;
}

/// `(id, stage, status, amount in cents, close date)` of the deals as of `day`.
async fn states(
    t: &crate::helpers::TestStore,
    day: &str,
) -> Vec<(String, String, String, Option<i64>, Option<String>)> {
    t.store
        .opportunities_as_of(date(day))
        .await
        .unwrap()
        .iter()
        .map(|d| {
            (
                d.opportunity_id.as_str()[16..].to_owned(),
                d.stage.clone(),
                d.status.as_str().to_owned(),
                d.amount.map(|m| m.cents()),
                d.close_date.map(|c| c.to_string()),
            )
        })
        .collect()
}

/// A Salesforce data export with the field history beside the deals, in
/// the columns and formats of `OpportunityFieldHistory.csv` (a `created`
/// row per deal, owner changes that are not replayed, amounts written as
/// decimals).
const FIELD_HISTORY: &str = "Id,IsDeleted,OpportunityId,CreatedById,CreatedDate,Field,DataType,OldValue,NewValue
0175g00000CCCCCC01,false,0065g00000BBBBBBB1,0055g00000AAAAAAA1,2024-01-10T09:15:00.000+0000,created,Text,,
0175g00000CCCCCC02,false,0065g00000BBBBBBB1,0055g00000AAAAAAA2,2024-02-05T11:00:00.000+0000,StageName,Picklist,Prospecting,Negotiation/Review
0175g00000CCCCCC03,false,0065g00000BBBBBBB1,0055g00000AAAAAAA2,2024-02-05T11:00:00.000+0000,Amount,Currency,20000.0,25000.0
0175g00000CCCCCC04,false,0065g00000BBBBBBB1,0055g00000AAAAAAA2,2024-03-28T16:40:00.000+0000,StageName,Picklist,Negotiation/Review,Closed Won
0175g00000CCCCCC05,false,0065g00000BBBBBBB3,0055g00000AAAAAAA1,2024-02-10T08:00:00.000+0000,Owner,EntityId,Vera Lead,Sam Seller
0175g00000CCCCCC06,false,0065g00000BBBBBBB3,0055g00000AAAAAAA2,2024-02-10T08:05:00.000+0000,CloseDate,Date,2024-04-30,2024-03-01
0175g00000CCCCCC07,false,0065g00000BBBBBBB3,0055g00000AAAAAAA2,2024-03-01T15:00:00.000+0000,StageName,Picklist,Qualification,Closed Lost
";

#[tokio::test]
async fn salesforce_field_history_is_replayed_change_by_change() {
    let dir = salesforce_export(
        "0065g00000BBBBBBB1,0055g00000AAAAAAA2,25000,Closed Won,2024-01-10T09:15:00.000+0000,2024-03-28,true,true,2024-03-28T16:40:00.000+0000\n\
         0065g00000BBBBBBB2,0055g00000AAAAAAA2,9000,Proposal,2024-02-01T17:00:00.000+0000,2024-05-30,false,false,2024-03-05T10:00:00.000+0000\n\
         0065g00000BBBBBBB3,0055g00000AAAAAAA2,12000.5,Closed Lost,2024-02-03T08:00:00.000+0000,2024-03-01,true,false,2024-03-01T15:00:00.000+0000\n",
    );
    std::fs::write(
        dir.path().join("OpportunityFieldHistory.csv"),
        FIELD_HISTORY,
    )
    .unwrap();
    let (t, summary, opts) = load_export(dir.path(), Mapping::salesforce()).await;
    assert_eq!(summary.export_date, Some(date("2024-03-28")));
    let deals = &summary.tables["opportunities"];
    assert_eq!(
        deals.notes["deals whose history was replayed from field changes"],
        2
    );
    assert!(
        summary
            .files
            .iter()
            .any(|(f, table)| f.ends_with("OpportunityFieldHistory.csv")
                && table == "opportunities (field changes)"),
        "{:?}",
        summary.files
    );
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    let open = |id: &str, stage: &str, cents: i64, close: &str| {
        (
            id.to_owned(),
            stage.to_owned(),
            "open".to_owned(),
            Some(cents),
            Some(close.to_owned()),
        )
    };
    // Before any change: each field's value before its first change.
    assert_eq!(
        states(&t, "2024-02-04").await,
        vec![
            open("B1", "Prospecting", 2_000_000, "2024-03-28"),
            // Not in the log: its dates tell its history.
            open("B2", "Proposal", 900_000, "2024-05-30"),
            open("B3", "Qualification", 1_200_050, "2024-04-30"),
        ]
    );
    assert_eq!(
        states(&t, "2024-02-20").await,
        vec![
            open("B1", "Negotiation/Review", 2_500_000, "2024-03-28"),
            open("B2", "Proposal", 900_000, "2024-05-30"),
            open("B3", "Qualification", 1_200_050, "2024-03-01"),
        ]
    );
    let on_close = states(&t, "2024-03-28").await;
    assert_eq!(on_close[0].2, "won");
    assert_eq!(on_close[2].1, "Closed Lost");
    assert_eq!(on_close[2].2, "lost");
    // Loaded again, nothing changes.
    let again = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    assert_eq!(again.tables["opportunity_history"].inserted, 0);
    assert_eq!(again.snapshots_added, 0);

    // A value the log's date formats cannot read names the log, row and column.
    let bad = FIELD_HISTORY.replace(
        "CloseDate,Date,2024-04-30,2024-03-01",
        "CloseDate,Date,2024-04-30,1 March 2024",
    );
    std::fs::write(dir.path().join("OpportunityFieldHistory.csv"), bad).unwrap();
    let fresh = sqlite().await;
    let err = ingest(&fresh.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap_err();
    let IngestError::Invalid(report) = err else {
        panic!("expected a rejection, got {err}")
    };
    let text = report.to_string();
    assert!(
        text.contains(
            "OpportunityFieldHistory.csv, row 7, column NewValue, value \"1 March 2024\""
        ),
        "{text}"
    );
    assert_eq!(fresh.store.count(Table::Opportunities).await.unwrap(), 0);
    fresh.finish().await;
    t.finish().await;
}

#[tokio::test]
async fn hubspot_deal_exports_load_with_the_preset() {
    // Column names and date format of HubSpot's "export all deals" file;
    // the owner is a name, one deal has none.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hubspot-crm-exports-all-deals-2024-04-02.csv"),
        "Record ID,Deal Name,Pipeline,Deal Stage,Amount,Close Date,Create Date,Deal owner,Associated Company,Last Modified Date\n\
         9876543210,Acme renewal,Sales Pipeline,Closed Won,\"12,500.00\",2024-03-14 16:02,2024-01-09 10:30,Priya Natarajan,Acme,2024-03-14 16:05\n\
         9876543211,Globex pilot,Sales Pipeline,Contract Sent,8000,2024-04-30 00:00,2024-02-12 09:00,Priya Natarajan,Globex,2024-03-20 11:00\n\
         9876543212,Initech upsell,Sales Pipeline,Closed Lost,3000,2024-02-28 12:00,2024-02-01 08:15,Tom Becker,Initech,2024-02-28 12:01\n\
         9876543213,Hooli inbound,Sales Pipeline,Appointment Scheduled,,2024-05-15 00:00,2024-03-30 14:45,,Hooli,2024-03-30 14:45\n",
    )
    .unwrap();
    let (t, summary, _) = load_export(dir.path(), Mapping::hubspot()).await;
    assert_eq!(summary.tables["reps"].inserted, 3, "{summary:?}");
    assert_eq!(summary.tables["opportunities"].inserted, 4);
    assert_eq!(summary.export_date, Some(date("2024-03-30")));
    let reps = t.store.reps().await.unwrap();
    let names: Vec<(&str, &str)> = reps
        .iter()
        .map(|r| (r.rep_id.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("priya-natarajan", "Priya Natarajan"),
            ("tom-becker", "Tom Becker"),
            ("unassigned", "Unassigned"),
        ]
    );
    assert_eq!(
        as_of(&t, "2024-02-15").await,
        pairs(&[
            ("9876543210", "open"),
            ("9876543211", "open"),
            ("9876543212", "open")
        ])
    );
    assert_eq!(
        as_of(&t, "2024-03-20").await,
        pairs(&[
            ("9876543210", "won"),
            ("9876543211", "open"),
            ("9876543212", "lost")
        ])
    );
    t.finish().await;
}

#[tokio::test]
async fn pipedrive_deal_exports_load_with_the_preset() {
    // Column names ("Deal - ...") and date-times of Pipedrive's deal export.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deals-1234567-42.csv"),
        "Deal - ID,Deal - Title,Deal - Owner,Deal - Value,Deal - Currency,Deal - Organization,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Deal created,Deal - Expected close date,Deal - Won time,Deal - Lost time,Deal - Last stage change\n\
         101,Acme deal,Lena Hoffmann,5400,EUR,Acme GmbH,Default,Negotiations Started,Won,2024-01-15 09:12:44,2024-03-01,2024-02-27 15:00:02,,2024-02-27 15:00:02\n\
         102,Globex deal,Lena Hoffmann,2200,EUR,Globex AG,Default,Proposal Made,Open,2024-02-02 11:00:00,2024-04-30,,,2024-03-12 10:20:00\n\
         103,Initech deal,Jonas Weber,900,EUR,Initech,Default,Qualified,Lost,2024-02-05 08:00:00,2024-03-31,,2024-03-04 17:45:10,2024-02-10 09:00:00\n",
    )
    .unwrap();
    // The deals are in euros: the organisation (in dollars) needs the rate.
    std::fs::write(
        dir.path().join("fx_rates.csv"),
        "date,currency,rate\n2024-01-01,EUR,1.09\n",
    )
    .unwrap();
    let (t, summary, _) = load_export(dir.path(), Mapping::pipedrive()).await;
    assert_eq!(summary.tables["reps"].inserted, 2);
    assert_eq!(summary.tables["fx_rates"].inserted, 1);
    assert_eq!(summary.export_date, Some(date("2024-03-12")));
    let deals = t
        .store
        .opportunities_as_of(date("2024-03-20"))
        .await
        .unwrap();
    let closes: Vec<(String, String, Option<String>)> = deals
        .iter()
        .map(|d| {
            (
                d.opportunity_id.as_str().to_owned(),
                d.status.as_str().to_owned(),
                d.close_date.map(|c| c.to_string()),
            )
        })
        .collect();
    assert_eq!(
        closes,
        [
            (
                "101".to_owned(),
                "won".to_owned(),
                Some("2024-02-27".to_owned())
            ),
            (
                "102".to_owned(),
                "open".to_owned(),
                Some("2024-04-30".to_owned())
            ),
            (
                "103".to_owned(),
                "lost".to_owned(),
                Some("2024-03-04".to_owned())
            ),
        ]
    );
    assert_eq!(
        as_of(&t, "2024-03-01").await,
        pairs(&[("101", "won"), ("102", "open"), ("103", "open")])
    );
    t.finish().await;
}

#[tokio::test]
async fn the_generated_flat_layout_gives_the_native_pipeline_as_of_any_day() {
    // One generated organisation written both ways; the flat one loaded with
    // the mapping written beside it, nothing else.
    let params = attain::sim::OrgParams {
        reps: 12,
        months: 14,
        seed: 5,
        start: date("2024-01-01"),
        deals_per_rep_month: 3.0,
    };
    let org = params.check().unwrap().generate();
    let native_dir = tempfile::tempdir().unwrap();
    let flat_dir = tempfile::tempdir().unwrap();
    attain::sim::write_org(&org, native_dir.path()).unwrap();
    attain::sim::write_flat(&org, flat_dir.path()).unwrap();
    assert!(!flat_dir.path().join("opportunity_history.csv").exists());

    let native = sqlite().await;
    let mut opts = options(org.end);
    ingest(&native.store, &[native_dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    let flat = sqlite().await;
    opts.mapping = Mapping::from_file(&flat_dir.path().join("crm_mapping.toml")).unwrap();
    opts.snapshot_date = None;
    let summary = ingest(&flat.store, &[flat_dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    assert!(summary.tables["opportunities"].notes["amount filled from products.sales_price"] > 0);
    for day in ["2024-03-15", "2024-06-30", "2024-11-02", "2025-02-20"] {
        assert_eq!(
            as_of(&flat, day).await,
            as_of(&native, day).await,
            "deals and their status as of {day}"
        );
    }
    // Each deal's owner is the same person, by name.
    let names = |reps: Vec<attain::domain::Rep>| -> std::collections::BTreeMap<String, String> {
        reps.into_iter()
            .map(|r| (r.rep_id.as_str().to_owned(), r.name))
            .collect()
    };
    let native_names = names(native.store.reps().await.unwrap());
    let flat_names = names(flat.store.reps().await.unwrap());
    let owners = |deals: Vec<attain::store::OpportunitySnapshot>,
                  names: &std::collections::BTreeMap<String, String>| {
        deals
            .into_iter()
            .map(|d| {
                (
                    d.opportunity_id.as_str().to_owned(),
                    names[d.rep_id.as_str()].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        owners(
            flat.store.opportunities_as_of(org.end).await.unwrap(),
            &flat_names
        ),
        owners(
            native.store.opportunities_as_of(org.end).await.unwrap(),
            &native_names
        ),
    );
    native.finish().await;
    flat.finish().await;
}
