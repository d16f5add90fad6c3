//! Chart speed: drawing charts as SVG (plotters) and PNG (the SVG
//! rasterised by resvg), and building the pipeline waterfall from deal
//! snapshots. The organisation is the generated 60-rep sample (36 months);
//! the fan and quadrant are built from synthetic numbers of the same size
//! as the sample's (36 months; 60 reps). Setup is not timed.
//! Run: `cargo bench --bench reports`.

use std::time::Duration;

use attain::calls::changes::{CallChange, Changes, ForecastChange, pipeline_moves};
use attain::features::{Level, SalesData};
use attain::forecast::Engine;
use attain::report::{
    Band, Body, Chart, ChartKind, Fan, ImageFormat, Quadrant, QuadrantPoint, folder, render,
};
use criterion::{Criterion, criterion_group, criterion_main};

mod support;

fn fan() -> Chart {
    let months: Vec<String> = (0..36)
        .map(|i| format!("{}-{:02}", 2023 + i / 12, i % 12 + 1))
        .collect();
    let wave = |i: usize| 3.0e6 + 8.0e5 * ((i as f64) * 0.52).sin();
    Chart {
        kind: ChartKind::Forecast,
        title: "Bookings forecast, the company".into(),
        subtitle: "synthetic".into(),
        body: Body::Fan(Fan {
            history: (0..30).map(wave).collect(),
            forecast: (30..36)
                .map(|i| Band {
                    p10: wave(i) * 0.75,
                    p50: wave(i),
                    p90: wave(i) * 1.3,
                    mean: wave(i) * 1.02,
                })
                .collect(),
            quota: (0..36)
                .map(|i| Some(3.2e6 + 1.0e5 * (i / 3) as f64))
                .collect(),
            months,
        }),
    }
}

fn quadrant() -> Chart {
    Chart {
        kind: ChartKind::Coaching,
        title: "Coaching quadrant".into(),
        subtitle: "synthetic".into(),
        body: Body::Quadrant(Quadrant {
            points: (0..60)
                .map(|i| QuadrantPoint {
                    label: format!("Rep {i:05}"),
                    coverage: 0.2 + (i as f64 * 0.37) % 3.5,
                    win_rate_change: ((i * 17) % 80) as f64 - 40.0,
                    measured: i % 7 != 0,
                    shortfall: 1.0e3 * ((i * 13) % 120) as f64,
                    rank: i + 1,
                })
                .collect(),
        }),
    }
}

fn bench(c: &mut Criterion) {
    let (data, _): (SalesData, _) = support::org(60, 42);
    let engine = Engine::new(&data);
    let hierarchy = engine.hierarchy();
    let as_of = data.last_date;
    let (period, from, to) = folder::waterfall_span(&data, as_of, None, None);
    let everyone = vec![true; data.reps.len()];
    let moves = pipeline_moves(&data, &everyone, period, from, to);
    let nobody = CallChange {
        person_id: None,
        from: None,
        to: None,
        commit_change: None,
    };
    let changes = Changes {
        from,
        to,
        period: period.to_string(),
        level: Level::Company,
        id: "company".into(),
        label: "the company".into(),
        opening: moves.opening,
        opening_deals: moves.opening_deals,
        steps: moves.steps,
        closing: moves.closing,
        closing_deals: moves.closing_deals,
        forecast: ForecastChange::new(None, None),
        calls: nobody,
        people: Vec::new(),
    };
    let waterfall = attain::report::data::waterfall(&changes).expect("waterfall");
    let attainment = folder::attainment(
        &data,
        hierarchy,
        &[],
        Level::Company,
        "company",
        folder::attainment_period(&data, as_of),
        as_of,
    )
    .expect("attainment");
    let mut group = c.benchmark_group("reports");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("waterfall data, 60-rep sample", |b| {
        b.iter(|| pipeline_moves(&data, &everyone, period, from, to))
    });
    for chart in [fan(), quadrant(), waterfall, attainment] {
        for format in [ImageFormat::Svg, ImageFormat::Png] {
            let name = format!("{} {}", chart.kind, format.extension());
            group.bench_function(name, |b| b.iter(|| render(&chart, format).expect("render")));
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
