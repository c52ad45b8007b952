//! The lock file beside each cache (`<cache>.lock`): an OS file lock
//! (`flock`/`LockFileEx` through `std::fs::File::try_lock`), held for as long
//! as the cache is open, so a second process — a second launch where
//! single-instance could not hand over (no D-Bus), or another copy of the
//! app — never runs a second long-poll or outbox sender on the same file.
//! The OS drops the lock when the process dies, so a crash never leaves a
//! stale lock behind. The holder's pid is written in the file, for the
//! message the second process shows.

use std::{
    fs::{File, TryLockError},
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
};

use super::CacheError;

/// Held while the cache is open; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct CacheLock {
    _file: File,
    path: PathBuf,
}

impl CacheLock {
    /// The lock file of the cache at `cache`.
    pub(crate) fn path_for(cache: &Path) -> PathBuf {
        let mut name = cache.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock of the cache at `cache`, or says who holds it.
    pub(crate) fn acquire(cache: &Path) -> Result<CacheLock, CacheError> {
        let path = CacheLock::path_for(cache);
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(CacheError::Locked {
                    path: cache.to_owned(),
                    pid: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(e.into()),
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(CacheLock { _file: file, path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c.sqlite");
        let first = CacheLock::acquire(&cache).unwrap();
        match CacheLock::acquire(&cache) {
            Err(CacheError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        CacheLock::acquire(&cache).expect("free again once the holder is gone");
    }
}
