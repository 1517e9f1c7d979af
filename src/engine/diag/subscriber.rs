//! The diagnostic log's `tracing` subscriber: only this crate's events (target `exo_connect…`),
//! at the chosen level, each field passed through the redaction (`redact`) and made printable,
//! one line per event into a ring of recent lines (for "Copy diagnostics") and, when a folder is
//! set, appended to `<folder>/exo-connect-<YYYY-MM-DD>.log` (created 0600 on Unix).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use super::LogLevel;
use super::redact::redact_field;

/// Lines kept in memory for "Copy diagnostics".
pub const RING_LINES: usize = 2000;
/// A log file larger than this when opened is moved to `<name>.1` and started afresh.
pub const ROTATE_BYTES: u64 = 20 * 1024 * 1024;

/// The target prefix of this crate's events (nothing else is logged: not hyper's, not h2's).
const OUR_TARGET: &str = "exo_connect";

struct LogFile {
    path: PathBuf,
    file: std::fs::File,
}

struct State {
    ring: VecDeque<String>,
    file: Option<LogFile>,
}

/// The diagnostics of this process: the level, the ring of recent lines, the log file. Cheap
/// to clone (shared).
#[derive(Clone)]
pub struct Diagnostics {
    level: Arc<AtomicU8>,
    state: Arc<Mutex<State>>,
    next_span: Arc<AtomicU64>,
}

impl std::fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diagnostics")
            .field("level", &self.level())
            .field("file", &self.file_path())
            .finish()
    }
}

impl Diagnostics {
    /// Recording at `level` into the ring only.
    pub fn new(level: LogLevel) -> Self {
        Diagnostics {
            level: Arc::new(AtomicU8::new(level as u8)),
            state: Arc::new(Mutex::new(State {
                ring: VecDeque::new(),
                file: None,
            })),
            next_span: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn level(&self) -> LogLevel {
        LogLevel::from_u8(self.level.load(Ordering::Relaxed))
    }

    pub fn set_level(&self, level: LogLevel) {
        self.level.store(level as u8, Ordering::Relaxed);
    }

    /// Starts writing to today's file in `dir` (created if needed), or stops writing (None).
    /// Returns the file's path.
    pub fn set_folder(&self, dir: Option<&Path>) -> Result<Option<PathBuf>, String> {
        let file = match dir {
            None => None,
            Some(d) => Some(open_log_file(d)?),
        };
        let path = file.as_ref().map(|f: &LogFile| f.path.clone());
        self.state.lock().unwrap().file = file;
        if let Some(p) = &path {
            self.record(stamped(
                "INFO ",
                "diag",
                &format!(
                    "diagnostic log opened: {} version={} os={} arch={} pid={} level={}",
                    crate::model::text::printable_line(&p.display().to_string()),
                    env!("CARGO_PKG_VERSION"),
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    std::process::id(),
                    self.level().as_str()
                ),
            ));
        }
        Ok(path)
    }

    /// The file being written, if any.
    pub fn file_path(&self) -> Option<PathBuf> {
        self.state
            .lock()
            .unwrap()
            .file
            .as_ref()
            .map(|f| f.path.clone())
    }

    /// The last `n` lines (oldest first).
    pub fn recent(&self, n: usize) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.ring
            .iter()
            .skip(st.ring.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// The subscriber that records into these diagnostics.
    pub fn subscriber(&self) -> DiagSubscriber {
        DiagSubscriber { diag: self.clone() }
    }

    fn record(&self, line: String) {
        let mut st = self.state.lock().unwrap();
        if let Some(f) = &mut st.file {
            // One write per line: a killed process leaves whole lines.
            let _ = f.file.write_all(format!("{line}\n").as_bytes());
        }
        if st.ring.len() >= RING_LINES {
            st.ring.pop_front();
        }
        st.ring.push_back(line);
    }
}

/// A log line: `<UTC time> <LEVEL> <target>: <text>`.
fn stamped(level: &str, target: &str, text: &str) -> String {
    format!(
        "{} {level} {target}: {text}",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

/// `<dir>/exo-connect-<UTC date>.log`, appended to (moved to `.1` first when too large).
fn open_log_file(dir: &Path) -> Result<LogFile, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the log folder {}: {e}", dir.display()))?;
    let path = dir.join(format!(
        "exo-connect-{}.log",
        chrono::Utc::now().format("%Y-%m-%d")
    ));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_BYTES) {
        let mut old = path.clone().into_os_string();
        old.push(".1");
        let _ = std::fs::rename(&path, old);
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let file = o
        .open(&path)
        .map_err(|e| format!("cannot write the log file {}: {e}", path.display()))?;
    Ok(LogFile { path, file })
}

/// Collects an event's message and fields, each redacted and on one line.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn add(&mut self, field: &Field, value: &str) {
        let clean = redact_field(field.name(), value);
        let clean = crate::model::text::printable_line(&clean);
        if field.name() == "message" {
            self.message = clean.into_owned();
            return;
        }
        let quoted = clean.is_empty()
            || clean
                .chars()
                .any(|c| c.is_whitespace() || c == '=' || c == '"');
        if quoted {
            let _ = write!(self.fields, " {}={:?}", field.name(), clean.as_ref());
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), clean);
        }
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.add(field, &format!("{value:?}"));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, &value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.add(field, &value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, &value.to_string());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, &value.to_string());
    }
}

/// The `tracing` subscriber over [`Diagnostics`] (spans are accepted and ignored: only events
/// are written).
pub struct DiagSubscriber {
    diag: Diagnostics,
}

impl DiagSubscriber {
    fn ours(meta: &Metadata<'_>) -> bool {
        meta.target().starts_with(OUR_TARGET)
    }
}

impl Subscriber for DiagSubscriber {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if Self::ours(meta) {
            // The level can change at run time (the window's setting): ask every time.
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        Self::ours(meta) && *meta.level() <= self.diag.level().as_tracing()
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::DEBUG)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.diag.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line::default();
        event.record(&mut line);
        let target = meta
            .target()
            .strip_prefix("exo_connect::")
            .unwrap_or(meta.target());
        let level = match *meta.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN ",
            Level::INFO => "INFO ",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        self.diag.record(stamped(
            level,
            target,
            &format!("{}{}", line.message, line.fields),
        ));
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}
