//! Native file dialogs behind a trait, so tests never open one. The rfd implementation runs the
//! (blocking) dialog on its own thread and hands the answer back through a callback. When no
//! dialog can be shown (Linux without the desktop portal and without zenity) the answer says so
//! and the window asks for a path itself, with the default folder filled in.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a dialog is for: the app matches the answer to its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogPurpose {
    ImportProfiles,
    ExportProfiles,
    ExportCsv,
    ExportJson,
    /// The CSV file of "Run for each row…" (opened).
    BulkCsv,
    /// The results of "Run for each row…".
    ExportBulkCsv,
    ExportBulkJson,
}

/// A save or open request.
#[derive(Debug, Clone)]
pub struct DialogRequest {
    pub purpose: DialogPurpose,
    pub title: String,
    pub default_name: String,
    /// (filter name, extensions without dot)
    pub filter: (String, Vec<String>),
    pub save: bool,
}

/// Called with the chosen path, None when the user cancelled, or Err(why) when no dialog could
/// be shown. May run on another thread.
pub type DialogDone = Box<dyn FnOnce(Result<Option<PathBuf>, String>) + Send>;

/// A dialog that answers "cancelled" sooner than this never showed (nobody cancels that fast).
const TOO_FAST: Duration = Duration::from_millis(400);

/// Why no native dialog can show here, when that is known beforehand (Linux: no zenity on
/// PATH and no D-Bus session for the desktop portal).
fn no_backend() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| Path::new(&d).join(name).is_file()))
    };
    if on_path("zenity") || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return None;
    }
    Some("no file dialog is available here (no desktop portal, no zenity)".into())
}

/// The folder a path typed in the window starts in: Downloads, else the home folder.
pub fn default_folder() -> PathBuf {
    directories::UserDirs::new()
        .map(|u| {
            u.download_dir()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| u.home_dir().to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

pub trait FileDialogs {
    /// Show the dialog without blocking the caller; call `done` with the result.
    fn ask(&self, req: DialogRequest, done: DialogDone);
}

/// The real dialogs (rfd: xdg portal on Linux, native elsewhere), each on its own thread.
pub struct RfdDialogs;

impl FileDialogs for RfdDialogs {
    fn ask(&self, req: DialogRequest, done: DialogDone) {
        std::thread::spawn(move || {
            if let Some(why) = no_backend() {
                return done(Err(why));
            }
            let started = Instant::now();
            let exts: Vec<&str> = req.filter.1.iter().map(String::as_str).collect();
            let dialog = rfd::FileDialog::new()
                .set_title(&req.title)
                .add_filter(&req.filter.0, &exts);
            let path = if req.save {
                dialog.set_file_name(&req.default_name).save_file()
            } else {
                dialog.pick_file()
            };
            if path.is_none() && started.elapsed() < TOO_FAST {
                return done(Err("the file dialog did not open".into()));
            }
            done(Ok(path));
        });
    }
}

/// Test double: answers every request at once with a preset path and records the requests.
#[derive(Default, Clone)]
pub struct FakeDialogs {
    pub answer: std::sync::Arc<std::sync::Mutex<Option<PathBuf>>>,
    pub asked: std::sync::Arc<std::sync::Mutex<Vec<DialogPurpose>>>,
    /// Some(why): behave as a machine without a dialog backend.
    pub unavailable: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl FakeDialogs {
    pub fn answering(path: Option<PathBuf>) -> Self {
        let d = FakeDialogs::default();
        *d.answer.lock().unwrap() = path;
        d
    }
    pub fn set_answer(&self, path: Option<PathBuf>) {
        *self.answer.lock().unwrap() = path;
    }
    /// Behave as a machine without a dialog backend (Some(why)) or with one (None).
    pub fn set_unavailable(&self, why: Option<&str>) {
        *self.unavailable.lock().unwrap() = why.map(str::to_string);
    }
}

impl FileDialogs for FakeDialogs {
    fn ask(&self, req: DialogRequest, done: DialogDone) {
        self.asked.lock().unwrap().push(req.purpose);
        if let Some(why) = self.unavailable.lock().unwrap().clone() {
            return done(Err(why));
        }
        done(Ok(self.answer.lock().unwrap().clone()));
    }
}

/// The window's own path field, when no native dialog could show: the default folder and name
/// filled in, why the native dialog is missing, Save/Open or Cancel.
#[derive(Debug, Clone)]
pub struct PathPrompt {
    pub req: DialogRequest,
    pub path: String,
    pub why: String,
}

impl PathPrompt {
    pub fn new(req: DialogRequest, why: String) -> PathPrompt {
        let folder = default_folder();
        let path = if req.save {
            folder.join(&req.default_name)
        } else {
            folder
        };
        PathPrompt {
            path: path.display().to_string(),
            req,
            why,
        }
    }

    /// Draws the prompt; Some(Some(path)) when confirmed, Some(None) when cancelled.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Option<PathBuf>> {
        let mut answer = None;
        let r = egui::Modal::new(egui::Id::unique("path_prompt")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading(&self.req.title);
            ui.label(format!("Type the file's path: {}.", self.why));
            ui.horizontal(|ui| {
                let l = ui.label("File path");
                let r = ui
                    .add(egui::TextEdit::singleline(&mut self.path).desired_width(400.0))
                    .labelled_by(l.id);
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    answer = Some(Some(PathBuf::from(self.path.trim())));
                }
            });
            ui.horizontal(|ui| {
                let go = if self.req.save { "Save" } else { "Open" };
                let ok = !self.path.trim().is_empty();
                if ui.add_enabled(ok, egui::Button::new(go)).clicked() {
                    answer = Some(Some(PathBuf::from(self.path.trim())));
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(None);
                }
            });
        });
        if answer.is_none() && r.should_close() {
            answer = Some(None);
        }
        answer
    }
}
