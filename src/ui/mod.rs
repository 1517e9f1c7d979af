//! The desktop app (eframe/egui). No network code and no blocking calls: the window sends
//! [`bridge::UiCommand`]s and drains [`bridge::UiEvent`]s once a frame.
//!
//! One file per pane: `profiles` (tree, search, Ctrl+K), `editor`, `signin`, `sessions`,
//! `output`, `status`, `chrome` (top bar, settings, guard, demo phone); each pane is a struct
//! that owns its state and draws with `ui(...)` from what it is given, pushing
//! [`action::Action`]s; `nav` holds the navigation types; `app` holds the state, applies events,
//! lays the panes out and dispatches their actions; `bridge` is the contract with the engine.

pub mod action;
pub mod app;
pub mod bridge;
pub mod bulk;
pub mod checks;
pub mod chrome;
pub mod complete;
pub mod confirm;
pub mod countdown;
pub mod demo;
pub mod dialogs;
pub mod doctor;
pub mod driver;
pub mod editor;
pub mod fanout;
pub mod favourites;
pub mod messages;
pub mod nav;
pub mod output;
pub mod probe;
pub mod profiles;
pub mod rate;
pub mod sessions;
pub mod signin;
pub mod status;
pub mod tabs;
pub mod theme;
pub mod undo;
pub mod widgets;

pub use app::{App, AppOptions};

/// The config root: the profile store's default root (`$EXO_CONNECT_HOME` or the OS config
/// dir); `demo` uses its `demo/` sub-folder so the user's real profiles are never touched.
pub fn config_root(demo: bool) -> std::path::PathBuf {
    crate::model::store::root_for(demo).unwrap_or_else(|_| {
        let base = std::env::temp_dir().join("exo-connect");
        if demo {
            base.join(crate::model::store::DEMO_FOLDER)
        } else {
            base
        }
    })
}

/// Open the window with the engine driver and run until it closes. `demo` uses a separate
/// config folder and starts the simulated tenant in-process (its URLs are printed on stderr).
pub fn run(options: AppOptions) -> Result<(), String> {
    let root = config_root(options.demo);
    let mut cfg = driver::DriverConfig::new(root.clone());
    if options.demo {
        cfg.demo = Some(crate::sim::SimConfig::default());
        // The sim's ports change every run: demo sign-ins stay in memory (no keychain leftovers).
        cfg.secrets = driver::Secrets::Memory;
    }
    let started = driver::spawn(cfg)?;
    if let Some(h) = &started.sim {
        let u = h.urls();
        eprintln!("demo: login {}", u.login);
        eprintln!("demo: exo {}", u.exo);
        eprintln!("demo: scc {}", u.scc);
        eprintln!("demo: profiles in {}", root.display());
    }
    let finished = started.finished;
    let result = run_with(options, root, Box::new(started.backend));
    // The window is gone: let the driver write what it sent last (the workspace), briefly.
    let _ = finished.recv_timeout(std::time::Duration::from_secs(3));
    result
}

/// Open the window driven by `backend` (e.g. the engine adapter); UI state (window size, panel
/// widths, last selection, theme) is kept under `<root>/ui-state`.
pub fn run_with(
    options: AppOptions,
    root: std::path::PathBuf,
    backend: Box<dyn bridge::Backend>,
) -> Result<(), String> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("exo-connect")
            .with_app_id(APP_ID)
            .with_icon(std::sync::Arc::new(icon()))
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([820.0, 520.0]),
        persistence_path: Some(root.join("ui-state")),
        ..Default::default()
    };
    eframe::run_native(
        "exo-connect",
        native,
        Box::new(move |cc| {
            Ok(Box::new(App::new(
                cc,
                backend,
                Box::new(dialogs::RfdDialogs),
                options,
            )))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}

/// Benchmarks only (`tests/bench/start.py`): with `EXO_CONNECT_EXIT_AFTER_FIRST_FRAME=1` the
/// process exits as soon as its second frame begins, i.e. once the first one has been painted,
/// so the process's wall time is its time to first frame. Does nothing otherwise.
pub fn exit_after_first_frame(ctx: &egui::Context) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let on = ON.get_or_init(|| {
        std::env::var_os("EXO_CONNECT_EXIT_AFTER_FIRST_FRAME").is_some_and(|v| v == "1")
    });
    if !*on {
        return;
    }
    // Frames, not passes: egui may run the UI twice within one frame.
    if ctx.cumulative_frame_nr() >= 1 {
        std::process::exit(0);
    }
    ctx.request_repaint();
}

/// The id the desktop matches the window to its entry with: the Wayland `app_id`, and on X11 the
/// class part of `WM_CLASS` (egui-winit passes it to winit's `with_name`; the desktop file repeats it
/// as `StartupWMClass`). The same reverse-DNS id names the desktop file, the AppStream metainfo, the
/// installed icons and the Flatpak (see `packaging/`).
pub const APP_ID: &str = "io.github.exoconnect.ExoConnect";

/// The 128 px app icon rendered from `assets/exo-connect.svg` by `assets/build-icons.sh`. Not 256:
/// on X11 a 256 px `_NET_WM_ICON` (256 KiB + 8 bytes) exceeds the core protocol's 256 KiB request
/// limit and the window ends up with no icon at all; desktops take larger sizes from the
/// installed icon theme anyway.
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/png/exo-connect-128.png");

/// The window icon, decoded from the embedded [`ICON_PNG`]. A broken asset (never expected: a
/// unit test decodes it) falls back to no icon rather than refusing to open the window.
pub fn icon() -> egui::IconData {
    eframe::icon_data::from_png_bytes(ICON_PNG).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_icon_decodes_to_128_px_rgba() {
        let icon = super::icon();
        assert_eq!((icon.width, icon.height), (128, 128));
        assert_eq!(icon.rgba.len(), 128 * 128 * 4);
        // Corners are transparent (rounded tile), the centre is opaque.
        assert_eq!(icon.rgba[3], 0, "top-left corner should be transparent");
        let centre = (64 * 128 + 64) * 4;
        assert_eq!(icon.rgba[centre + 3], 255, "centre should be opaque");
    }

    #[test]
    fn app_id_matches_the_desktop_entry_and_metainfo() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/linux");
        assert!(dir.join(format!("{}.desktop", super::APP_ID)).is_file());
        let metainfo = std::fs::read_to_string(dir.join(format!("{}.metainfo.xml", super::APP_ID)))
            .expect("metainfo file named after the app id");
        assert!(metainfo.contains(&format!("<id>{}</id>", super::APP_ID)));
        assert!(metainfo.contains(&format!("{}.desktop", super::APP_ID)));
        // The newest release listed is this version (Cargo.toml is the one place it is set).
        let first_release = metainfo.split("<release ").nth(1).unwrap_or_default();
        let version = concat!("version=\"", env!("CARGO_PKG_VERSION"), "\"");
        assert!(
            first_release.starts_with(version),
            "add a <release {version} ...> entry at the top of <releases> in the metainfo"
        );
    }
}
