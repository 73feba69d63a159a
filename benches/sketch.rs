//! Faultline's own DDSketch (`faultline_model::Sketch`) against the
//! `sketches-ddsketch` crate at the same 1% relative accuracy: time per
//! added value, merge time (into an empty sketch, and folding a window of
//! minutes into one), quantile error against the exact value, and
//! serialized size. The answer decides whether the project keeps its own.
//!
//! Run: `cargo bench -p faultline-benches --bench sketch`.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use faultline_model::Sketch;
use sketches_ddsketch::{Config, DDSketch};

const VALUES: usize = 1_000_000;
const MERGES: usize = 10_000;

/// Latencies like a web service's: mostly 5-50 ms, a long tail to seconds
/// (a deterministic log-uniform mix, so runs compare).
fn latencies() -> Vec<f64> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..VALUES)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            if u < 0.97 {
                5.0 * 10f64.powf(u / 0.97)
            } else {
                50.0 * 10f64.powf((u - 0.97) / 0.03 * 2.0)
            }
        })
        .collect()
}

fn exact(sorted: &[f64], q: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank]
}

fn per_value_ns(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64 / VALUES as f64
}

fn main() {
    let values = latencies();
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);

    let start = Instant::now();
    let mut ours = Sketch::new();
    for &v in &values {
        ours.add(v);
    }
    let ours_add = per_value_ns(start);

    let start = Instant::now();
    let mut theirs = DDSketch::new(Config::new(0.01, 2048, 1e-9));
    for &v in &values {
        theirs.add(v);
    }
    let theirs_add = per_value_ns(start);

    // Merging is what reads do: one sketch per endpoint-minute folded into a window.
    let small_ours: Vec<Sketch> = values
        .chunks(VALUES / 100)
        .map(|c| {
            let mut s = Sketch::new();
            c.iter().for_each(|&v| s.add(v));
            s
        })
        .collect();
    let small_theirs: Vec<DDSketch> = values
        .chunks(VALUES / 100)
        .map(|c| {
            let mut s = DDSketch::new(Config::new(0.01, 2048, 1e-9));
            c.iter().for_each(|&v| s.add(v));
            s
        })
        .collect();
    let start = Instant::now();
    for i in 0..MERGES {
        let mut acc = Sketch::new();
        acc.merge(&small_ours[i % small_ours.len()]);
        black_box(&acc);
    }
    let ours_merge = start.elapsed().as_nanos() as f64 / MERGES as f64;
    let start = Instant::now();
    for i in 0..MERGES {
        let mut acc = DDSketch::new(Config::new(0.01, 2048, 1e-9));
        acc.merge(&small_theirs[i % small_theirs.len()]).unwrap();
        black_box(&acc);
    }
    let theirs_merge = start.elapsed().as_nanos() as f64 / MERGES as f64;

    // A window read: every minute folded into one accumulator, so all but
    // the first merge add into a non-empty sketch.
    let folds = MERGES / small_ours.len();
    let start = Instant::now();
    for _ in 0..folds {
        let mut acc = Sketch::new();
        small_ours.iter().for_each(|s| acc.merge(s));
        black_box(&acc);
    }
    let ours_fold = start.elapsed().as_nanos() as f64 / (folds * small_ours.len()) as f64;
    let start = Instant::now();
    for _ in 0..folds {
        let mut acc = DDSketch::new(Config::new(0.01, 2048, 1e-9));
        small_theirs.iter().for_each(|s| acc.merge(s).unwrap());
        black_box(&acc);
    }
    let theirs_fold = start.elapsed().as_nanos() as f64 / (folds * small_theirs.len()) as f64;

    println!("sketch comparison over {VALUES} latencies (1% relative accuracy, 2048 buckets)");
    println!("{:<22} {:>14} {:>16}", "", "faultline", "sketches-ddsketch");
    println!("{:<22} {:>11.1} ns {:>13.1} ns", "add, per value", ours_add, theirs_add);
    println!("{:<22} {:>11.0} ns {:>13.0} ns", "merge one minute", ours_merge, theirs_merge);
    println!("{:<22} {:>11.0} ns {:>13.0} ns", "fold 100 min, per min", ours_fold, theirs_fold);
    for q in [0.5, 0.95, 0.99, 0.999] {
        let truth = exact(&sorted, q);
        let a = ours.quantile(q).unwrap();
        let b = theirs.quantile(q).unwrap().unwrap();
        println!(
            "{:<22} {:>12.3}% {:>15.3}%",
            format!("p{} error", q * 100.0),
            (a - truth).abs() / truth * 100.0,
            (b - truth).abs() / truth * 100.0
        );
    }
    let ours_json = serde_json::to_vec(&ours).unwrap().len();
    let theirs_json = serde_json::to_vec(&theirs).unwrap().len();
    println!("{:<22} {:>12} B {:>14} B", "serialized (JSON)", ours_json, theirs_json);
    println!(
        "{:<22} {:>12} B {:>14} B",
        "minute sketch (JSON)",
        serde_json::to_vec(&small_ours[0]).unwrap().len(),
        serde_json::to_vec(&small_theirs[0]).unwrap().len()
    );
}
