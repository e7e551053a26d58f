//! Writing an output file the user names (`--report FORMAT=PATH`): checked before any request,
//! then written whole. A regular file (or a new one) is filled in a temporary file beside it and
//! renamed into place (never half a report), keeping the existing file's permissions or, for a
//! new one, `0666` less the umask, as a shell's `>` would; a symlink to one is followed (the
//! link stays). A stream in a file's place (`/dev/stdout`, a FIFO, `>(…)`) is written through,
//! never replaced by a regular file. A set of files (`export --output-dir`) is checked whole
//! before the first is written.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Refuses, before any request, a path the report could not be written to: a directory, a
/// read-only file, a missing or unwritable directory, a FIFO nobody reads. The message names
/// the path the user gave, never a temporary file.
pub fn check_writable(path: &Path) -> Result<()> {
    let refused = |why: String| {
        Error::usage(format!(
            "cannot write the report to {}: {why}; nothing was sent",
            path.display()
        ))
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(refused("it is a directory".into())),
        Ok(meta) if meta.is_file() => {
            if meta.permissions().readonly() || !writable(path) {
                return Err(refused("the file is read-only".into()));
            }
            let target = resolved(path);
            match writable(parent(&target)) {
                true => Ok(()),
                false => Err(refused(format!(
                    "its directory {} is not writable",
                    parent(&target).display()
                ))),
            }
        }
        // A stream is not opened here: a FIFO's reader would see the end of it at once.
        Ok(_) if writable(path) => Ok(()),
        Ok(_) => Err(refused("it is not writable".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = parent(path);
            if !dir.is_dir() {
                return Err(refused(format!(
                    "the directory {} does not exist",
                    dir.display()
                )));
            }
            match writable(dir) {
                true => Ok(()),
                false => Err(refused(format!(
                    "the directory {} is not writable",
                    dir.display()
                ))),
            }
        }
        Err(e) => Err(refused(e.to_string())),
    }
}

/// Writes a report whole: through a stream in place, or renamed into a regular file's place.
pub fn write_whole(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let failed = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    let meta = std::fs::metadata(path).ok();
    if meta.as_ref().is_some_and(|m| !m.is_file() && !m.is_dir()) {
        let mut out = std::io::BufWriter::new(open_stream(path).map_err(failed)?);
        fill(&mut out).map_err(failed)?;
        return out.flush().map_err(failed);
    }
    // A symlink to a file: the file it points to is replaced, the link stays.
    let target = resolved(path);
    let mut file = tempfile::NamedTempFile::new_in(parent(&target)).map_err(failed)?;
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        fill(&mut out).map_err(failed)?;
        out.flush().map_err(failed)?;
    }
    set_mode(file.as_file(), meta.as_ref()).map_err(failed)?;
    file.persist(&target).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Writes a set of files under `dir` (`export --format … --output-dir`), each whole through
/// [`write_whole`], subdirectories created as needed. Unless `replace`, a file that already
/// exists stops everything before anything is written (exit 2: nothing was sent or changed).
/// Returns the paths written, in order.
pub fn write_set(dir: &Path, files: &[(String, String)], replace: bool) -> Result<Vec<PathBuf>> {
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| dir.join(p)).collect();
    if !replace {
        let existing: Vec<String> = paths
            .iter()
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::usage_with_hint(
                format!(
                    "{} files already exist, nothing was written: {}",
                    existing.len(),
                    existing.join(", ")
                ),
                "add --force to replace them, or choose another --output-dir",
            ));
        }
    }
    for (path, (_, text)) in paths.iter().zip(files) {
        std::fs::create_dir_all(parent(path))
            .map_err(|e| Error::Io(format!("cannot create {}: {e}", parent(path).display())))?;
        write_whole(path, |out| out.write_all(text.as_bytes()))?;
    }
    Ok(paths)
}

/// The directory a path is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The file a chain of symlinks leads to, existing or not (the path itself when it is no link).
fn resolved(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        let is_link = std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        let Some(target) = is_link.then(|| std::fs::read_link(&current).ok()).flatten() else {
            break;
        };
        current = parent(&current).join(target);
    }
    current
}

/// How long a FIFO may go without a reader before the report is given up.
const FIFO_READER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens a stream in a file's place for writing, without blocking: a FIFO with no reader is
/// tried again for [`FIFO_READER_WAIT`], then an error, never a wait for ever.
fn open_stream(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let started = std::time::Instant::now();
    let file = loop {
        match options.open(path) {
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) => {
                if started.elapsed() >= FIFO_READER_WAIT {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::BrokenPipe,
                        format!(
                            "it is a FIFO that nothing read from within {} s",
                            FIFO_READER_WAIT.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => break other?,
        }
    };
    #[cfg(unix)]
    {
        let flags = rustix::fs::fcntl_getfl(&file)?;
        rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
    }
    Ok(file)
}

/// Whether this process may write `path` (the kernel's rule: owner, group, root).
fn writable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
    }
}

/// The report's permissions: the replaced file's, else `0666` less the umask.
fn set_mode(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match existing {
            Some(meta) => meta.permissions().mode() & 0o7777,
            None => 0o666 & !umask(),
        };
        file.set_permissions(std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, existing);
        Ok(())
    }
}

/// The process's umask, read from /proc (setting it to read it back would race other threads
/// creating files); `022` where /proc does not say.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_symlink_stays() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_whole(&link, |out| out.write_all(b"new")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(&dir.path().join("missing/x.json")).is_err());
    }
}
