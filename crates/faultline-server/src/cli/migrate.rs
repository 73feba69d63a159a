//! `faultline migrate --from DATA_DIR --to postgres://...`: copies a
//! stopped embedded store into PostgreSQL, kind by kind in pages (each
//! page one transaction with its progress, so a run cut short resumes
//! where it stopped), then compares every table's rows with the source's
//! records and fails when they differ.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use faultline_store::export::{Export, Kind};
use faultline_store_postgres::import::Importer;
use serde_json::json;

use super::table::{Column, Table};

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The data directory to copy; no server may be running on it.
    #[arg(long, value_name = "DATA_DIR")]
    pub from: PathBuf,
    /// The PostgreSQL store to copy into (`postgres://user@host/db?sslmode=...`).
    #[arg(long, env = "FAULTLINE_STORE", value_name = "URL", hide_env_values = true)]
    pub to: String,
    /// Records per batch (one transaction each).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    #[arg(long)]
    pub json: bool,
}

/// Test hook: after this many batches the command stops (sleeps) before
/// the next one, so a test can kill it mid-copy at a known point.
const PAUSE_AFTER_ENV: &str = "FAULTLINE_MIGRATE_PAUSE_AFTER_BATCHES";

/// How often a long copy reports its progress.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// One kind's figures: copied by this run, in the source, in the database.
struct Line {
    kind: Kind,
    copied: u64,
    source: u64,
    destination: u64,
}

pub fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let from = &args.from;
    let export = Export::open(from).with_context(|| format!("reading {}", from.display()))?;
    // The source's name in the progress records: where it is.
    let source = std::fs::canonicalize(from)
        .with_context(|| format!("data directory {}", from.display()))?
        .display()
        .to_string();
    let redacted = faultline_store_postgres::tls::redact(&args.to);
    let importer =
        Importer::connect(&args.to, &source).with_context(|| format!("migrating into {redacted}"))?;
    let pause_after: Option<u64> = std::env::var(PAUSE_AFTER_ENV).ok().and_then(|v| v.parse().ok());
    let mut batches = 0u64;
    let mut copied = BTreeMap::new();
    for kind in Kind::ALL {
        let mut after = importer.resume_key(kind)?;
        if after.is_some() && !args.json {
            println!("{}: resuming after an earlier run", kind.name());
        }
        let mut n = 0u64;
        let mut reported = Instant::now();
        loop {
            let page = export
                .page(kind, after.as_deref(), args.batch as usize)
                .with_context(|| format!("reading {} from {}", kind.name(), from.display()))?;
            if page.last_key.is_none() {
                break;
            }
            after = page.last_key.clone();
            n += page.records.len() as u64;
            importer.write(kind, page).with_context(|| format!("writing {} into {redacted}", kind.name()))?;
            batches += 1;
            // A long copy says how far it got (stderr: stdout is the report).
            if reported.elapsed() >= PROGRESS_EVERY {
                eprintln!("{}: {n} copied so far", kind.name());
                reported = Instant::now();
            }
            if pause_after == Some(batches) {
                eprintln!("paused after {batches} batches ({PAUSE_AFTER_ENV})");
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        copied.insert(kind, n);
    }
    let counters = export.counters().with_context(|| format!("reading {}", from.display()))?;
    importer.finish(counters).with_context(|| format!("finishing the migration into {redacted}"))?;
    let mut lines = Vec::new();
    for kind in Kind::ALL {
        lines.push(Line {
            kind,
            copied: copied.get(&kind).copied().unwrap_or(0),
            source: export.count(kind)?,
            destination: importer.count(kind)?,
        });
    }
    let differ: Vec<&str> =
        lines.iter().filter(|l| l.source != l.destination).map(|l| l.kind.name()).collect();
    report(&args, &source, &redacted, &lines, started.elapsed().as_secs_f64())?;
    if !differ.is_empty() {
        bail!(
            "the counts differ for {}: the database does not hold exactly what {} holds",
            differ.join(", "),
            from.display()
        );
    }
    Ok(())
}

fn report(args: &MigrateArgs, source: &str, to: &str, lines: &[Line], seconds: f64) -> anyhow::Result<()> {
    if args.json {
        let tables: Vec<_> = lines
            .iter()
            .map(|l| {
                json!({
                    "table": l.kind.name(),
                    "copied": l.copied,
                    "source": l.source,
                    "postgres": l.destination,
                    "ok": l.source == l.destination,
                })
            })
            .collect();
        let ok = lines.iter().all(|l| l.source == l.destination);
        let body = json!({ "from": source, "to": to, "tables": tables, "ok": ok, "seconds": seconds });
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    let mut table = Table::new(&[
        Column::left("TABLE"),
        Column::right("COPIED NOW"),
        Column::right("IN DATA DIR"),
        Column::right("IN POSTGRESQL"),
        Column::left("CHECK"),
    ]);
    for l in lines {
        table.row(vec![
            l.kind.name().to_string(),
            l.copied.to_string(),
            l.source.to_string(),
            l.destination.to_string(),
            if l.source == l.destination { "ok" } else { "DIFFERS" }.to_string(),
        ]);
    }
    println!("Migrated {source} into {to} in {seconds:.1} s.\n");
    print!("{}", table.render(super::table::output_width()));
    Ok(())
}
