//! Compiles the stored-record protobuf in `proto/` with a vendored protoc,
//! so building needs nothing installed beyond cargo.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let file = root.join("faultline/store/v1/records.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    prost_build::compile_protos(&[file], &[root])?;
    Ok(())
}
