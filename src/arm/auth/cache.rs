//! A token cache across invocations for the credentials that spawn a process (az, azd: 0.5–1 s
//! each). One JSON file in the user's cache directory, readable only by the user (0600), keyed
//! by credential kind, tenant, identity and scope, used until 5 minutes before expiry. A corrupt,
//! foreign-owned or too-permissive file is ignored (and replaced when ours), never fatal; so is a
//! directory that is a link, foreign or open to others. A lock file serializes "look up, ask az,
//! store" across processes, so concurrent runs spawn az once per key and lose no entries.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Tokens are not served from the cache in their last 5 minutes.
pub const REFRESH_MARGIN_SECONDS: i64 = 300;

/// The largest cache file read: a few hundred entries of ~2 KB tokens. A larger file is not ours.
pub const MAX_CACHE_BYTES: u64 = 1024 * 1024;

/// How long a run waits for another run's lock (which spans one `az` call, itself bounded by
/// the 30 s token timeout) before going on without it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(40);

/// Held while a run looks up, fetches and stores a token; released when dropped.
#[derive(Debug)]
pub struct CacheLock {
    _file: std::fs::File,
}

#[derive(Debug, Clone)]
pub struct DiskCache {
    path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    access_token: String,
    /// Unix seconds.
    expires_on: i64,
}

/// What reading the file found, for `--verbose`.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Hit {
        token: String,
        expires_on: i64,
    },
    Miss,
    /// The file exists but cannot be trusted or read; it is ignored.
    Ignored(String),
}

impl DiskCache {
    /// `<user cache dir>/aks-trustedaccess/tokens.json`.
    pub fn default_location() -> Option<Self> {
        dirs::cache_dir().map(|d| DiskCache::at(d.join("aks-trustedaccess").join("tokens.json")))
    }

    pub fn at(path: PathBuf) -> Self {
        DiskCache { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, key: &str, now: i64) -> Lookup {
        let file = match self.read() {
            Ok(Some(file)) => file,
            Ok(None) => return Lookup::Miss,
            Err(why) => return Lookup::Ignored(why),
        };
        match file.entries.get(key) {
            Some(e) if e.expires_on.saturating_sub(REFRESH_MARGIN_SECONDS) > now => Lookup::Hit {
                token: e.access_token.clone(),
                expires_on: e.expires_on,
            },
            _ => Lookup::Miss,
        }
    }

    /// Stores a token; drops expired entries. Errors are reported, never fatal to the caller.
    pub fn put(&self, key: &str, token: &str, expires_on: i64, now: i64) -> Result<(), String> {
        self.update(|file| {
            file.entries.retain(|_, e| e.expires_on > now);
            // Bound the file: the newest entries win.
            while file.entries.len() >= 256 {
                let Some(oldest) = file
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires_on)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                file.entries.remove(&oldest);
            }
            file.entries.insert(
                key.to_string(),
                Entry {
                    access_token: token.to_string(),
                    expires_on,
                },
            );
        })
    }

    pub fn remove(&self, key: &str) -> Result<(), String> {
        self.update(|file| {
            file.entries.remove(key);
        })
    }

    /// Takes the cache's lock (a `.lock` file next to it, flock), waiting for another run that
    /// holds it. `Err` when the directory cannot be trusted or the lock cannot be had.
    pub async fn lock(&self) -> Result<CacheLock, String> {
        let dir = self.dir()?;
        create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        untrusted_dir(dir).map_or(Ok(()), Err)?;
        let path = self.path.with_extension("lock");
        let file =
            open_lock_file(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let started = std::time::Instant::now();
        loop {
            match try_lock(&file) {
                Ok(true) => return Ok(CacheLock { _file: file }),
                Ok(false) if started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Ok(false) => return Err("another run held the token cache's lock too long".into()),
                Err(e) => return Err(format!("cannot lock {}: {e}", path.display())),
            }
        }
    }

    fn dir(&self) -> Result<&Path, String> {
        self.path
            .parent()
            .ok_or_else(|| "the cache path has no directory".to_string())
    }

    fn update(&self, change: impl FnOnce(&mut CacheFile)) -> Result<(), String> {
        if let Some(why) = foreign_owner(&self.path) {
            return Err(why);
        }
        if let Some(why) = self.dir().ok().and_then(untrusted_dir) {
            return Err(why);
        }
        // A corrupt or too-permissive file of ours is replaced, not merged.
        let mut file = self.read().ok().flatten().unwrap_or_default();
        file.version = 1;
        change(&mut file);
        let dir = self
            .path
            .parent()
            .ok_or("the cache path has no directory")?;
        create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let text = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
        // NamedTempFile is created 0600 on Unix; the rename makes the write atomic.
        let mut temp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("cannot write the token cache: {e}"))?;
        temp.write_all(&text)
            .map_err(|e| format!("cannot write the token cache: {e}"))?;
        temp.persist(&self.path)
            .map_err(|e| format!("cannot write the token cache: {e}"))?;
        Ok(())
    }

    /// `Ok(None)` when there is no file; `Err` when it exists but must not be used.
    fn read(&self) -> Result<Option<CacheFile>, String> {
        if let Some(why) = self.dir().ok().and_then(untrusted_dir) {
            return Err(why);
        }
        let metadata = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        if let Some(why) = foreign_owner(&self.path) {
            return Err(why);
        }
        if let Some(why) = too_permissive(&metadata) {
            return Err(why);
        }
        let bytes = crate::arm::files::read_bounded(&self.path, MAX_CACHE_BYTES)
            .map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| format!("{} is corrupt", self.path.display()))
    }
}

#[cfg(unix)]
fn foreign_owner(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::symlink_metadata(path).ok()?;
    let me = rustix::process::getuid().as_raw();
    (metadata.uid() != me || metadata.file_type().is_symlink())
        .then(|| format!("{} belongs to another user or is a link", path.display()))
}

#[cfg(not(unix))]
fn foreign_owner(_path: &Path) -> Option<String> {
    None
}

/// Why the cache directory must not be used: a link (it could point anywhere), another user's,
/// or writable by others (they could swap the file). `None` when it is fine or does not exist yet.
#[cfg(unix)]
fn untrusted_dir(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::symlink_metadata(dir).ok()?;
    if metadata.file_type().is_symlink() {
        return Some(format!("the cache directory {} is a link", dir.display()));
    }
    if metadata.uid() != rustix::process::getuid().as_raw() {
        return Some(format!(
            "the cache directory {} belongs to another user",
            dir.display()
        ));
    }
    let mode = metadata.mode() & 0o777;
    (mode & 0o022 != 0).then(|| {
        format!(
            "the cache directory {} is writable by others (mode {mode:o})",
            dir.display()
        )
    })
}

#[cfg(not(unix))]
fn untrusted_dir(_dir: &Path) -> Option<String> {
    None
}

fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
    }
    options.open(path)
}

/// `Ok(true)` when the exclusive lock was taken, `Ok(false)` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(unix)]
fn too_permissive(metadata: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| format!("the token cache is readable by others (mode {mode:o})"))
}

#[cfg(not(unix))]
fn too_permissive(_metadata: &std::fs::Metadata) -> Option<String> {
    None
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_served_until_five_minutes_before_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::at(dir.path().join("c").join("tokens.json"));
        assert_eq!(cache.get("k", 0), Lookup::Miss);
        cache.put("k", "tok", 1_000, 0).unwrap();
        assert_eq!(
            cache.get("k", 699),
            Lookup::Hit {
                token: "tok".into(),
                expires_on: 1_000
            }
        );
        assert_eq!(cache.get("k", 700), Lookup::Miss);
        assert_eq!(cache.get("other", 0), Lookup::Miss);
        cache.remove("k").unwrap();
        assert_eq!(cache.get("k", 0), Lookup::Miss);
    }

    #[test]
    fn extreme_expiry_times_never_wrap_into_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::at(dir.path().join("c").join("tokens.json"));
        cache.put("old", "tok", i64::MIN, i64::MIN).unwrap();
        assert_eq!(cache.get("old", 0), Lookup::Miss);
        assert_eq!(cache.get("old", i64::MIN), Lookup::Miss);
        cache.put("far", "tok", i64::MAX, 0).unwrap();
        assert!(matches!(cache.get("far", i64::MAX - 1), Lookup::Miss));
    }

    #[test]
    fn a_corrupt_file_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"{not json").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let cache = DiskCache::at(path);
        assert!(matches!(cache.get("k", 0), Lookup::Ignored(_)));
        cache.put("k", "tok", 1_000, 0).unwrap();
        assert!(matches!(cache.get("k", 0), Lookup::Hit { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_a_readable_one_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("tokens.json");
        let cache = DiskCache::at(path.clone());
        cache.put("k", "tok", 1_000, 0).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            matches!(cache.get("k", 0), Lookup::Ignored(why) if why.contains("readable by others"))
        );
        cache.put("k", "tok2", 1_000, 0).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600,
            "replaced with a private file"
        );
    }
}
