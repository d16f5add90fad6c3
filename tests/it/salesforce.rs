//! The Salesforce preset on export-shaped fixtures.

use attain::domain::OpportunityStatus;
use attain::ingest::{Mapping, ingest};
use attain::store::Table;

use crate::helpers::*;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[tokio::test]
async fn salesforce_exports_load_with_their_date_times_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    // Excel-style byte-order mark on the first header, extra columns, 18-char ids.
    write(
        dir.path(),
        "User.csv",
        "\u{feff}Id,Name,ManagerId,IsActive\n\
         0055g00000AAAAAAA1,Vera Lead,,true\n\
         0055g00000AAAAAAA2,Sam Seller,0055g00000AAAAAAA1,true\n",
    );
    write(
        dir.path(),
        "Opportunity.csv",
        "Id,OwnerId,AccountId,Amount,StageName,CreatedDate,CloseDate,IsClosed,IsWon,ForecastCategoryName,Probability\n\
         0065g00000BBBBBBB1,0055g00000AAAAAAA2,0015g00000C1,25000,Closed Won,2024-01-10T09:15:00.000+0000,2024-03-28,true,true,Closed,100\n\
         0065g00000BBBBBBB2,0055g00000AAAAAAA2,0015g00000C2,,Qualification,2024-02-01T17:00:00.000+0000,2024-05-30,false,false,Pipeline,20\n\
         0065g00000BBBBBBB3,0055g00000AAAAAAA2,,12000.5,Closed Lost,2024-02-03T08:00:00.000+0000,2024-03-01,TRUE,FALSE,Omitted,0\n",
    );
    write(
        dir.path(),
        "OpportunityHistory.csv",
        "OpportunityId,CreatedDate,StageName,Amount,CloseDate,Probability,ForecastCategory\n\
         0065g00000BBBBBBB1,2024-01-10T09:15:00.000+0000,Prospecting,20000,2024-03-31,10,Pipeline\n\
         0065g00000BBBBBBB1,2024-02-20T10:00:00.000+0000,Proposal,20000,2024-03-31,50,BestCase\n\
         0065g00000BBBBBBB1,2024-02-20T16:30:00.000+0000,Negotiation/Review,25000,2024-03-31,80,Forecast\n\
         0065g00000BBBBBBB1,2024-03-28T12:00:00.000+0000,Closed Won,25000,2024-03-28,100,Closed\n\
         0065g00000BBBBBBB2,2024-02-01T17:00:00.000+0000,Qualification,,2024-05-30,20,Pipeline\n\
         0065g00000BBBBBBB3,2024-02-03T08:00:00.000+0000,Prospecting,12000.5,2024-04-30,10,Pipeline\n\
         0065g00000BBBBBBB3,2024-03-01T08:00:00.000+0000,Closed Lost,12000.5,2024-03-01,0,Omitted\n",
    );
    let t = sqlite().await;
    let mut opts = options(date("2024-04-01"));
    opts.mapping = Mapping::salesforce();
    let summary = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap();
    assert_eq!(summary.tables["reps"].inserted, 2);
    assert_eq!(summary.tables["opportunities"].inserted, 3);
    // Two rows on 2024-02-20 collapse into the day's last state.
    assert_eq!(t.store.count(Table::OpportunityHistory).await.unwrap(), 6);
    assert_eq!(summary.snapshots_added, 0);

    let feb = t
        .store
        .opportunities_as_of(date("2024-02-25"))
        .await
        .unwrap();
    let first = &feb[0];
    assert_eq!(first.stage, "Negotiation/Review");
    assert_eq!(first.status, OpportunityStatus::Open);
    assert_eq!(first.amount.unwrap().to_string(), "25000.00");
    let march = t
        .store
        .opportunities_as_of(date("2024-03-31"))
        .await
        .unwrap();
    let statuses: Vec<OpportunityStatus> = march.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        vec![
            OpportunityStatus::Won,
            OpportunityStatus::Open,
            OpportunityStatus::Lost
        ]
    );
    let reps = t.store.reps().await.unwrap();
    assert_eq!(
        reps[1].manager_id.as_ref().unwrap().as_str(),
        "0055g00000AAAAAAA1"
    );
    // The forecast category as Salesforce recorded it each day ("Forecast"
    // is its API name for Commit), the day's last row winning.
    let data = attain::features::SalesData::load(&t.store, Default::default())
        .await
        .unwrap();
    let first = data
        .opps
        .iter()
        .position(|o| o.id == "0065g00000BBBBBBB1")
        .unwrap() as u32;
    assert_eq!(
        data.category_on(first, date("2024-02-01")),
        Some("Pipeline")
    );
    assert_eq!(
        data.category_on(first, date("2024-02-21")),
        Some("Forecast")
    );
    t.finish().await;
}

#[tokio::test]
async fn salesforce_problems_name_the_salesforce_columns() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "User.csv", "Id,Name,ManagerId\nU1,Ann,\n");
    write(
        dir.path(),
        "Opportunity.csv",
        "Id,OwnerId,Amount,StageName,CreatedDate,CloseDate,IsClosed,IsWon\n\
         O1,U1,abc,Prospecting,2024-01-10T09:15:00.000+0000,2024-03-28,false,false\n\
         O2,U9,100,Prospecting,yesterday,2024-03-28,perhaps,false\n",
    );
    let t = sqlite().await;
    let mut opts = options(date("2024-04-01"));
    opts.mapping = Mapping::salesforce();
    let text = ingest(&t.store, &[dir.path().to_path_buf()], &opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("Opportunity.csv, row 2, column Amount, value \"abc\": not a decimal number"),
        "{text}"
    );
    assert!(
        text.contains("row 3, column CreatedDate, value \"yesterday\""),
        "{text}"
    );
    assert!(
        text.contains("row 3, column IsClosed, value \"perhaps\": expected true or false"),
        "{text}"
    );
    assert_eq!(t.store.count(Table::Reps).await.unwrap(), 0);
    t.finish().await;
}
