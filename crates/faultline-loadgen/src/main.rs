//! The `faultline-loadgen` binary: parse, run, report, verify.

use anyhow::Context;
use clap::Parser;
use faultline_loadgen::{run, verify, Args};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (json, check, api, verify_timeout) = (args.json, args.verify, args.api.clone(), args.verify_timeout);
    let config = args.into_config()?;
    let token = config.token.clone();
    let mut report = run(&config).await.context("running the load")?;
    if check {
        let verification =
            verify(&api, &report.run_id, report.error_events_acked, verify_timeout, token.as_deref())
                .await
                .context("verifying through the API")?;
        report.verify = Some(verification);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    if report.verify.as_ref().is_some_and(|v| !v.matched) {
        // A lost (or extra) acknowledged event is the one thing this tool must not let pass.
        std::process::exit(2);
    }
    if report.exports_acked == 0 {
        anyhow::bail!("no export was acknowledged");
    }
    Ok(())
}
