//! The binary, as a user runs it.

use std::process::Command;

pub fn attain(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attain"));
    cmd.env_remove("ATTAIN_DATABASE_URL")
        .env("ATTAIN_DATA_DIR", data_dir);
    cmd
}

#[test]
fn generate_ingest_status_and_a_rejected_ingest() {
    let work = tempfile::tempdir().unwrap();
    let org = work.path().join("org");
    let out = attain(work.path())
        .args(["generate", "--out"])
        .arg(&org)
        .args(["--reps", "12", "--months", "8", "--seed", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = attain(work.path())
        .arg("ingest")
        .arg(&org)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["run_id"].is_i64());

    let out = attain(work.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["tables"]["opportunities"].as_u64().unwrap() > 100);
    assert_eq!(status["fingerprint"], summary["fingerprint"]);
    assert_eq!(status["first_date"].as_str().unwrap().len(), 10);

    let out = attain(work.path())
        .args(["status", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("item,value\n"), "{text}");

    // A broken file: non-zero exit, the problem on stderr, the store unchanged.
    let broken = work.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("quotas.csv"),
        "rep_id,period,amount\nR00001,2024-Q5,100\n",
    )
    .unwrap();
    let out = attain(work.path())
        .arg("ingest")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("quotas.csv, row 2, column period, value \"2024-Q5\""),
        "{err}"
    );
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: ingest rejected"),
        "{err}"
    );
    let out = attain(work.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let after: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(after["fingerprint"], status["fingerprint"]);

    // The pipeline of a past date.
    let out = attain(work.path())
        .args(["pipeline", "--as-of", "2023-06-30", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deals = view["opportunities"].as_array().unwrap();
    assert!(!deals.is_empty());
    assert!(deals.iter().all(|d| d["status"] == "open"));
}

#[test]
fn a_flat_export_from_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let export = work.path().join("export");
    let run = |args: &[&str]| {
        let out = attain(work.path()).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = export.to_str().unwrap();
    let (ok, _, err) = run(&[
        "generate", "--layout", "flat", "--out", dir, "--reps", "10", "--months", "8", "--start",
        "2019-01",
    ]);
    assert!(ok, "{err}");
    let mapping = export.join("crm_mapping.toml");
    let mapping = mapping.to_str().unwrap();

    // A dry run: counts, and nothing stored.
    let (ok, out, err) = run(&["ingest", dir, "--mapping", mapping, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("dry run: everything checked, nothing stored"),
        "{out}"
    );
    let (_, status, _) = run(&["status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["tables"]["opportunities"], 0);

    // The real load: the export's own date, years before today, is said.
    let (ok, out, err) = run(&["ingest", dir, "--mapping", mapping]);
    assert!(ok, "{err}");
    assert!(out.contains("export date 2019-08-"), "{out}");
    assert!(out.contains("(its latest activity)"), "{out}");
    assert!(
        out.contains("commands default to its last day (2019-08-"),
        "{out}"
    );

    // Before the history starts: said, not an empty table.
    let (ok, _, err) = run(&["pipeline", "--as-of", "2018-06-30"]);
    assert!(!ok);
    assert!(
        err.contains("the stored history starts on 2019-01-"),
        "{err}"
    );
    // In the middle: the deals open that day.
    let (ok, out, err) = run(&["pipeline", "--as-of", "2019-05-15", "--format", "json"]);
    assert!(ok, "{err}");
    let view: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        !view["opportunities"].as_array().unwrap().is_empty(),
        "{out}"
    );
    // A forecast from a day long after the data is refused, not scored on
    // months of nothing.
    let (ok, _, err) = run(&["forecast", "--as-of", "2020-06-30"]);
    assert!(!ok);
    assert!(
        err.contains("is after the data's last activity (2019-08-"),
        "{err}"
    );
}
