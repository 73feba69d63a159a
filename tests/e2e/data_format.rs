//! Storage formats with the real binary: `--version` names the format it
//! writes, a new data directory is marked with it, a directory marked by a
//! newer format is refused with both versions named, and a directory
//! written by the previous release format (`tests/fixtures/`) is served,
//! grows and is marked as migrated.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use faultline_tests::{binary, free_port, Server, TempDir};

/// The storage format `--version` names: `faultline X.Y.Z (storage format N)`.
fn current_format() -> u32 {
    let out = Command::new(binary()).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let format = text
        .trim()
        .strip_prefix(&format!("faultline {version} (storage format "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("--version printed {text:?}"));
    format.parse().unwrap()
}

fn marker(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("FORMAT")).unwrap()
}

#[test]
fn version_names_the_storage_format_a_new_directory_is_marked_with() {
    let format = current_format();
    assert!(format >= 2, "record format 2 exists, so the storage format is at least 2");
    let mut server = Server::start();
    assert_eq!(marker(&server.data_dir), format!("{format}\n"));
    assert!(server.terminate().success());
}

#[test]
fn a_directory_of_a_newer_format_is_refused_naming_both_versions() {
    let format = current_format();
    let tmp = TempDir::new("faultline-newer-format");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let newer = format + 2;
    std::fs::write(data.join("FORMAT"), format!("{newer}\n")).unwrap();
    let out = Command::new(binary())
        .arg("serve")
        .args(["--otlp-grpc-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--api-addr", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        "the data directory {} was written by storage format {newer}; this faultline reads formats 1 to \
         {format}: upgrade faultline",
        data.display()
    );
    assert!(stderr.contains(&expected), "stderr: {stderr}");
    // Refused before anything was opened: the directory holds only the marker.
    let names: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("FORMAT")]);
    assert_eq!(marker(&data), format!("{newer}\n"), "the marker is left as it was");
}
