//! The profile file on disk, safely: reads only regular files up to a size cap (a symlink to
//! `/dev/zero`, a FIFO or a 300 MB file gets a clear error instead of hanging or eating memory),
//! atomic writes (temp file, fsync, rename, fsync the folder), an advisory lock file beside the
//! store so two processes never interleave a read-merge-write, and removal of temp files that an
//! interrupted save (kill -9) left behind.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{FILE_NAME, Result, StoreError};

/// The largest profile or import file read (thousands of profiles fit in a fraction of this).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// How long a save waits for another process that holds the lock.
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// Where a save may be made to fail, for tests of atomicity.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    None,
    /// After the temp file is written and synced, before the rename.
    BeforeRename,
}

/// Read `path` when it is a regular file of at most `cap` bytes; `Ok(None)` when it does not
/// exist. Devices, FIFOs, sockets and folders are refused before they are opened (opening a FIFO
/// would block), and at most `cap + 1` bytes are read even if the file grows meanwhile.
pub fn read_regular(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_err("read", path, source)),
    };
    if !meta.is_file() {
        return Err(StoreError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta),
        });
    }
    if meta.len() > cap {
        return Err(StoreError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            cap,
        });
    }
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_err("read", path, source)),
    };
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| io_err("read", path, source))?;
    if bytes.len() as u64 > cap {
        return Err(StoreError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(Some(bytes))
}

fn kind_of(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

pub(super) fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// An exclusive advisory lock on `<root>/.profiles.json.lock`, released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: fs::File,
}

/// Take the store's lock, waiting up to 15 s for another process that holds it.
pub fn lock(root: &Path) -> Result<StoreLock> {
    lock_within(root, LOCK_WAIT)
}

pub(super) fn lock_within(root: &Path, wait: Duration) -> Result<StoreLock> {
    fs::create_dir_all(root).map_err(|source| io_err("create the folder", root, source))?;
    let path = lock_path(root);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| io_err("open the lock file", &path, source))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(15));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy {
                    path,
                    secs: wait.as_secs(),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(io_err("lock", &path, source));
            }
        }
    }
}

pub fn lock_path(root: &Path) -> PathBuf {
    root.join(format!(".{FILE_NAME}.lock"))
}

fn tmp_prefix(file_name: &str) -> String {
    format!(".{file_name}.tmp-")
}

/// Remove the temp files of saves that never finished (call with the lock held: a save in
/// progress holds it, so every temp file found then is stale). Returns how many were removed.
pub fn remove_stale_temp_files(root: &Path) -> usize {
    let prefix = tmp_prefix(FILE_NAME);
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// Write `bytes` to `path` atomically: temp file in the same folder, write, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, FailPoint::None)
}

#[doc(hidden)]
pub fn write_atomic_with(path: &Path, bytes: &[u8], fail: FailPoint) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|source| io_err("create the folder", dir, source))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| FILE_NAME.to_string());
    let tmp = dir.join(format!(
        "{}{}",
        tmp_prefix(&file_name),
        Uuid::new_v4().simple()
    ));
    let result = write_then_rename(&tmp, path, bytes, fail);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable (not possible on Windows; harmless to skip there).
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8], fail: FailPoint) -> Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    // The profile file holds no secret, but account names are nobody else's business.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(tmp)
        .map_err(|source| io_err("create", tmp, source))?;
    f.write_all(bytes)
        .map_err(|source| io_err("write", tmp, source))?;
    f.sync_all().map_err(|source| io_err("sync", tmp, source))?;
    drop(f);
    if fail == FailPoint::BeforeRename {
        return Err(StoreError::Io {
            action: "rename (injected failure)",
            path: tmp.to_path_buf(),
            source: std::io::Error::other("injected failure before rename"),
        });
    }
    fs::rename(tmp, path).map_err(|source| io_err("replace", path, source))
}

/// What identifies one version of the file cheaply (size and modification time), to notice that
/// another process changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    exists: bool,
}

pub fn stamp(path: &Path) -> Stamp {
    match fs::metadata(path) {
        Ok(m) => Stamp {
            len: m.len(),
            modified: m.modified().ok(),
            exists: true,
        },
        Err(_) => Stamp::default(),
    }
}
