//! Native file dialogs behind a trait, so tests never open one. The rfd implementation runs the
//! (blocking) dialog on its own thread and hands the answer back through a callback.

use std::path::PathBuf;

/// What a dialog is for: the app matches the answer to its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogPurpose {
    ImportProfiles,
    ExportProfiles,
    ExportCsv,
    ExportJson,
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

/// Called with the chosen path, or None when the user cancelled. May run on another thread.
pub type DialogDone = Box<dyn FnOnce(Option<PathBuf>) + Send>;

pub trait FileDialogs {
    /// Show the dialog without blocking the caller; call `done` with the result.
    fn ask(&self, req: DialogRequest, done: DialogDone);
}

/// The real dialogs (rfd: xdg portal on Linux, native elsewhere), each on its own thread.
pub struct RfdDialogs;

impl FileDialogs for RfdDialogs {
    fn ask(&self, req: DialogRequest, done: DialogDone) {
        std::thread::spawn(move || {
            let exts: Vec<&str> = req.filter.1.iter().map(String::as_str).collect();
            let dialog = rfd::FileDialog::new()
                .set_title(&req.title)
                .add_filter(&req.filter.0, &exts);
            let path = if req.save {
                dialog.set_file_name(&req.default_name).save_file()
            } else {
                dialog.pick_file()
            };
            done(path);
        });
    }
}

/// Test double: answers every request at once with a preset path and records the requests.
#[derive(Default, Clone)]
pub struct FakeDialogs {
    pub answer: std::sync::Arc<std::sync::Mutex<Option<PathBuf>>>,
    pub asked: std::sync::Arc<std::sync::Mutex<Vec<DialogPurpose>>>,
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
}

impl FileDialogs for FakeDialogs {
    fn ask(&self, req: DialogRequest, done: DialogDone) {
        self.asked.lock().unwrap().push(req.purpose);
        done(self.answer.lock().unwrap().clone());
    }
}
