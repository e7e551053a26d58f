//! Reading an input the user names (a manifest): a regular file, `-` (stdin), or a stream in a
//! file's place (`<(…)`, `/dev/stdin`, a named FIFO, a device). The bound is on the stream itself
//! (never more than `max` bytes held, whatever `stat` says, so `/dev/zero` stops at the limit),
//! and a named FIFO nobody writes to is given up on after [`FIFO_WRITER_WAIT`] instead of
//! blocking for ever (in `open`, or in the first read).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// How long a named FIFO may stay without a writer (no byte and no end) before the read is
/// given up. A writer that is already waiting (`producer > fifo &`) connects at once; an
/// anonymous pipe (`<(…)`, `|`) always has its writer, so it is waited for as long as it takes.
pub const FIFO_WRITER_WAIT: Duration = Duration::from_secs(10);

/// Why an input could not be read.
#[derive(Debug)]
pub enum InputError {
    Io(std::io::Error),
    /// More than this many bytes.
    TooLarge(u64),
    /// A named FIFO with no writer after the wait.
    NoWriter(Duration),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "{e}"),
            InputError::TooLarge(max) => write!(
                f,
                "larger than the {} MiB this tool reads",
                max / (1024 * 1024)
            ),
            InputError::NoWriter(wait) => write!(
                f,
                "it is a FIFO and nothing wrote to it within {} s (start the writer first, or use a file)",
                wait.as_secs()
            ),
        }
    }
}

impl From<std::io::Error> for InputError {
    fn from(e: std::io::Error) -> Self {
        InputError::Io(e)
    }
}

/// Reads all of `path` (`-`: stdin), at most `max` bytes.
pub fn read_input(path: &Path, max: u64) -> Result<Vec<u8>, InputError> {
    if path.as_os_str() == "-" {
        return bounded(std::io::stdin().lock(), max);
    }
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(InputError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a directory",
        )));
    }
    if !meta.is_file() {
        wait_for_writer(&file, &meta)?;
    }
    bounded(file, max)
}

/// At most `max` bytes of `reader`; one more is an error (never a silently cut input).
fn bounded(reader: impl Read, max: u64) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(InputError::TooLarge(max));
    }
    Ok(bytes)
}

/// Opens without blocking: `open` of a FIFO would otherwise wait for a writer, for ever.
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    options.open(path)
}

/// For a stream: a named FIFO waits at most [`FIFO_WRITER_WAIT`] for its first byte or its end;
/// then (and for other streams at once) reads block again, as a pipe's reader expects.
#[cfg(unix)]
fn wait_for_writer(file: &std::fs::File, meta: &std::fs::Metadata) -> Result<(), InputError> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use std::os::unix::fs::FileTypeExt;
    if meta.file_type().is_fifo() && !is_anonymous_pipe(file) {
        let timeout = Timespec {
            tv_sec: FIFO_WRITER_WAIT.as_secs() as i64,
            tv_nsec: 0,
        };
        let mut fds = [PollFd::new(file, PollFlags::IN)];
        let ready = loop {
            match poll(&mut fds, Some(&timeout)) {
                Err(rustix::io::Errno::INTR) => continue,
                other => break other.map_err(std::io::Error::from)?,
            }
        };
        if ready == 0 {
            return Err(InputError::NoWriter(FIFO_WRITER_WAIT));
        }
    }
    let flags = rustix::fs::fcntl_getfl(file).map_err(std::io::Error::from)?;
    rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::NONBLOCK)
        .map_err(std::io::Error::from)?;
    Ok(())
}

#[cfg(not(unix))]
fn wait_for_writer(_: &std::fs::File, _: &std::fs::Metadata) -> Result<(), InputError> {
    Ok(())
}

/// An anonymous pipe (`<(…)` gives `/dev/fd/63`): Linux names it `pipe:[…]` in /proc.
#[cfg(unix)]
fn is_anonymous_pipe(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .is_ok_and(|target| target.to_string_lossy().starts_with("pipe:"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn streams_are_bounded_by_what_they_give_not_by_stat() {
        let err = read_input(Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(matches!(err, InputError::TooLarge(4096)), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(read_input(&path, 3).unwrap(), b"abc");
        assert!(matches!(read_input(&path, 2), Err(InputError::TooLarge(2))));
        assert!(read_input(dir.path(), 10).is_err());
    }
}
