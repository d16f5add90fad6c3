#!/usr/bin/env python3
"""Figures of a generated organisation, read from its CSV files.

    python3 scripts/sample_stats.py data/sample [ACCURACY.txt]

Prints the complete rep-quarters inside the data (a rep in seat for the
whole quarter, the quarter over by the data's last day): how many, the share
between 60% and 130% of quota, the median and P10/P90 attainment, the share
at or above quota; the deals, how many are open, the win rate among closed
ones and history snapshots per deal; the calls. With the output of
`attain call accuracy` saved to ACCURACY.txt, also the Spearman rank
correlation of each planted caller's habit (truth.csv's value) with their
measured call bias, and the mean bias per habit.
"""
import csv
import datetime
import statistics
import sys
from collections import defaultdict


def rows(folder, name):
    with open(f"{folder}/{name}", newline="") as f:
        return list(csv.DictReader(f))


def quarter_bounds(period):
    year, q = int(period[:4]), int(period[-1])
    first = datetime.date(year, 3 * (q - 1) + 1, 1)
    nxt = datetime.date(year + (q == 4), (3 * q) % 12 + 1, 1)
    return first.isoformat(), (nxt - datetime.timedelta(days=1)).isoformat()


def quarter_of(day):
    return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def main(folder, accuracy=None):
    reps = {r["rep_id"]: r for r in rows(folder, "reps.csv")}
    bookings = rows(folder, "bookings.csv")
    last = max(b["booked_date"] for b in bookings)
    booked = defaultdict(float)
    for b in bookings:
        booked[(b["rep_id"], quarter_of(b["booked_date"]))] += float(b["amount"])
    attainment = []
    for q in rows(folder, "quotas.csv"):
        rep = reps[q["rep_id"]]
        start, end = quarter_bounds(q["period"])
        in_seat = (not rep["hire_date"] or rep["hire_date"] <= start) and (
            not rep["end_date"] or rep["end_date"] >= end
        )
        if rep["role"] == "rep" and end <= last and in_seat and float(q["amount"]) > 0:
            attainment.append(booked[(q["rep_id"], q["period"])] / float(q["amount"]))
    attainment.sort()
    n = len(attainment)
    at = lambda p: attainment[round(p * (n - 1))]
    print(
        f"{n} rep-quarters; {100 * sum(0.6 <= a <= 1.3 for a in attainment) / n:.1f}% within 60-130%;"
        f" median {statistics.median(attainment):.2f} (P10 {at(0.1):.2f}, P90 {at(0.9):.2f});"
        f" {100 * sum(a >= 1 for a in attainment) / n:.1f}% at or above quota"
    )
    deals = rows(folder, "opportunities.csv")
    closed = [d for d in deals if d["status"] in ("won", "lost")]
    snapshots = len(rows(folder, "opportunity_history.csv"))
    print(
        f"{len(deals)} deals, {sum(d['status'] == 'open' for d in deals)} open;"
        f" win rate {sum(d['status'] == 'won' for d in closed) / len(closed):.3f};"
        f" {snapshots / len(deals):.1f} snapshots per deal"
    )
    calls = rows(folder, "calls.csv")
    periods = sorted({c["period"] for c in calls})
    people = len({c["person_id"] for c in calls})
    print(f"{len(calls)} calls by {people} people over {periods[0]}..{periods[-1]}")
    if accuracy:
        bias = {}
        with open(accuracy) as f:
            for line in f.read().splitlines()[1:]:
                cells = line.split()
                try:
                    bias[cells[0]] = float(cells[4])
                except (IndexError, ValueError):
                    pass
        habits = ("sandbagger", "optimist", "accurate caller")
        planted = [
            (t["rep_id"], float(t["value"]), t["pattern"])
            for t in rows(folder, "truth.csv")
            if t["pattern"] in habits and t["rep_id"] in bias
        ]
        rho = spearman([p[1] for p in planted], [bias[p[0]] for p in planted])
        print(f"call bias against the planted habit: Spearman {rho:.3f} over {len(planted)} reps")
        for habit in habits:
            mine = [bias[p[0]] for p in planted if p[2] == habit]
            print(f"  {habit}: {len(mine)} reps, mean measured bias {statistics.mean(mine):+.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
