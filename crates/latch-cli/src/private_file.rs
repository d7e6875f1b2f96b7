//! Files holding secrets: owner-only (0600) in owner-only (0700)
//! directories, written atomically (temp file + rename) so a crash never
//! leaves half a file.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Context as _;

/// Creates `dir` (and parents) owner-only.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("while creating `{}`", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(|| format!("while securing `{}`", dir.display()))
}

/// Writes `bytes` to `target` atomically, 0600, in a 0700 directory.
pub fn write_private(target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = target.parent().context("a private file has a directory")?;
    private_dir(dir)?;
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("while writing `{}`", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, target).with_context(|| format!("while replacing `{}`", target.display()))
}
