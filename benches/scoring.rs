//! Deal scoring speed: win probabilities for 1,000,000 open opportunities
//! (feature rows + model + calibration), and drivers for 10,000.
//!
//! The deals are the open pipeline of a generated 200-rep organisation,
//! repeated until there are a million (scoring cost does not depend on
//! which deals they are). Run: `cargo bench --bench scoring`.

use std::time::Duration;

use attain::features::deals::open_states;
use attain::scoring::{Scorer, ScoringParams, drivers, train};
use criterion::{Criterion, criterion_group, criterion_main};

mod support;

fn scoring(c: &mut Criterion) {
    let (data, _) = support::org(200, 3);
    let day = data.last_date;
    let model = train(&data, day, ScoringParams::default()).expect("train");
    let scorer = Scorer::new(&model, &data);
    let open = open_states(&data, day);
    let million: Vec<_> = open.iter().copied().cycle().take(1_000_000).collect();
    eprintln!(
        "{} open deals repeated to {}; model {}",
        open.len(),
        million.len(),
        model.kind.as_str()
    );
    let mut group = c.benchmark_group("scoring");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("p_win_1m_open_deals", |b| {
        b.iter(|| scorer.probabilities(&million, day).0.len())
    });
    let ten_k = &million[..10_000];
    let (p, rows) = scorer.probabilities(ten_k, day);
    group.bench_function("drivers_10k_deals", |b| {
        b.iter(|| drivers::explain(&scorer, &data, ten_k, &rows, &p, day, 3).len())
    });
    group.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
