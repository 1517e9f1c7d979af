//! The desktop app (eframe/egui). No network code and no blocking calls: the window sends
//! [`bridge::UiCommand`]s and drains [`bridge::UiEvent`]s once a frame.
//!
//! One file per pane: `profiles` (tree, search, Ctrl+K), `editor`, `signin`, `sessions`,
//! `output`, `status`; `app` holds the state and layout; `bridge` is the contract with the engine.

pub mod app;
pub mod bridge;
pub mod checks;
pub mod dialogs;
pub mod editor;
pub mod local;
pub mod output;
pub mod profiles;
pub mod sessions;
pub mod signin;
pub mod status;
pub mod theme;
pub mod widgets;

pub use app::{App, AppOptions};

/// Open the window and run until it closes. `demo` uses a separate config folder.
pub fn run(options: AppOptions) -> Result<(), String> {
    let root = local::config_root(options.demo);
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("exo-connect")
            .with_app_id("exo-connect")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([820.0, 520.0]),
        persistence_path: Some(root.join("ui-state")),
        ..Default::default()
    };
    eframe::run_native(
        "exo-connect",
        native,
        Box::new(move |cc| {
            let backend = local::spawn(root);
            Ok(Box::new(App::new(
                cc,
                Box::new(backend),
                Box::new(dialogs::RfdDialogs),
                options,
            )))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}
