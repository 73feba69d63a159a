//! A size-limited tmpfs mounted by a test (it needs root), unmounted on
//! drop, panics included: a disk that fills up on demand.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TempDir;

pub struct Tmpfs {
    path: PathBuf,
    _dir: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `64m`), or
    /// says why it cannot (not root, mount refused) so the test can skip.
    pub fn mount(size: &str) -> Result<Tmpfs, String> {
        if !is_root() {
            return Err("not running as root, so no file system can be mounted".into());
        }
        let dir = TempDir::new("faultline-tmpfs");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs { path: dir.path().to_path_buf(), _dir: dir })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fills the file system with one file, then gives back `leave` bytes.
    pub fn fill(&self, name: &str, leave: u64) -> PathBuf {
        use std::io::Write;
        let path = self.path.join(name);
        let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let chunk = vec![7u8; 1 << 20];
        while f.write_all(&chunk).is_ok() {}
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.set_len(len.saturating_sub(leave));
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a server still holding files must not keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Whether the effective user is root, from `/proc/self/status`.
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"));
    uid.and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}
