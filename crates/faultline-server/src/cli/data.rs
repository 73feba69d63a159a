//! `faultline backup` and `faultline compact`: copies of the data
//! directory. `backup` asks a running server (admin token) to copy its
//! store into a new directory on the server's machine, or, with
//! `--data-dir`, copies a stopped data directory itself; `compact`
//! rewrites a stopped data directory to give deleted records' space back.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::{api_url, send};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The new data directory (missing or empty). Without --data-dir it is
    /// a path on the server's machine; a relative one is made absolute here.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    #[arg(long, env = "FAULTLINE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Copy this stopped data directory instead of asking a running server.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    /// The data directory to compact; no server may be running on it.
    #[arg(long, env = "FAULTLINE_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn backup(args: BackupArgs, token: Option<&str>) -> anyhow::Result<()> {
    let to =
        std::path::absolute(&args.to).with_context(|| format!("backup directory {}", args.to.display()))?;
    let (keys, disk_bytes, seconds) = match &args.data_dir {
        Some(data_dir) => {
            let report = faultline_store::backup_offline(data_dir, &to)
                .with_context(|| format!("backing up {}", data_dir.display()))?;
            (report.keys, report.disk_bytes, report.seconds)
        }
        None => {
            let client = super::http_client()?;
            let url = api_url(&args.server, "/api/v1/admin/backup");
            let answer = send(&args.server, token, client.post(url).json(&json!({ "to": to })))?;
            let figure = |name: &str| answer[name].as_u64().unwrap_or(0);
            (figure("keys"), figure("disk_bytes"), answer["seconds"].as_f64().unwrap_or(0.0))
        }
    };
    if args.json {
        let body = json!({ "to": to, "keys": keys, "disk_bytes": disk_bytes, "seconds": seconds });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!(
            "Backup written to {}: {keys} records, {} on disk, copied in {seconds:.1} s.\n\
             Start a server on it with `faultline serve --data-dir {}`; its search index is rebuilt then.",
            to.display(),
            mib(disk_bytes),
            to.display()
        );
    }
    Ok(())
}

pub fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let report = faultline_store::compact(&args.data_dir)
        .with_context(|| format!("compacting {}", args.data_dir.display()))?;
    if args.json {
        let body = json!({
            "keys": report.keys,
            "store_replaced": report.store_replaced,
            "store_bytes_before": report.store_bytes_before,
            "store_bytes_after": report.store_bytes_after,
            "index_bytes_before": report.index_bytes_before,
            "index_bytes_after": report.index_bytes_after,
            "seconds": report.seconds,
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!(
            "Compacted {} in {:.1} s: store {} -> {}, index {} -> {} ({} records kept).",
            args.data_dir.display(),
            report.seconds,
            mib(report.store_bytes_before),
            mib(report.store_bytes_after),
            mib(report.index_bytes_before),
            mib(report.index_bytes_after),
            report.keys
        );
        if !report.store_replaced {
            println!(
                "The rewritten store was not smaller, so the old one was kept: little had been deleted."
            );
        }
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
