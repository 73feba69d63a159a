//! Seeds `fuzz/corpus/otlp_protobuf/` from the OTLP/JSON seeds: each JSON
//! body that decodes as an export request is written out in protobuf, so
//! both encodings start from the same real exports.
//!
//! `cargo run -p faultline-fuzz --example protobuf_seeds`

use std::path::{Path, PathBuf};

use faultline_otlp::decode::{decode, Format};
use faultline_otlp::{ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest};
use prost::Message;

/// The protobuf encoding of a JSON body, as whichever request it holds
/// data for; `None` when it decodes as none or only as an empty one.
fn to_protobuf(json: &[u8]) -> Option<Vec<u8>> {
    let traces = decode::<ExportTraceServiceRequest>(json, Format::Json).ok().map(|r| r.encode_to_vec());
    let logs = decode::<ExportLogsServiceRequest>(json, Format::Json).ok().map(|r| r.encode_to_vec());
    let metrics = decode::<ExportMetricsServiceRequest>(json, Format::Json).ok().map(|r| r.encode_to_vec());
    [traces, logs, metrics].into_iter().flatten().find(|bytes| !bytes.is_empty())
}

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let out = corpus.join("otlp_protobuf");
    std::fs::create_dir_all(&out)?;
    let mut written = 0;
    for entry in std::fs::read_dir(corpus.join("otlp_json"))? {
        let path: PathBuf = entry?.path();
        let Some(bytes) = to_protobuf(&std::fs::read(&path)?) else { continue };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("seed");
        std::fs::write(out.join(format!("{stem}.pb")), bytes)?;
        written += 1;
    }
    println!("wrote {written} protobuf seeds to {}", out.display());
    Ok(())
}
