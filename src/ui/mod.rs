//! The desktop app (eframe/egui). No network code and no blocking calls: the window sends
//! [`bridge::UiCommand`]s and drains [`bridge::UiEvent`]s once a frame.
//!
//! One file per pane: `profiles` (tree, search, Ctrl+K), `editor`, `signin`, `sessions`,
//! `output`, `status`; `app` holds the state and layout; `bridge` is the contract with the engine.

pub mod app;
pub mod bridge;
pub mod checks;
pub mod demo;
pub mod dialogs;
pub mod doctor;
pub mod driver;
pub mod editor;
pub mod output;
pub mod profiles;
pub mod sessions;
pub mod signin;
pub mod status;
pub mod theme;
pub mod widgets;

pub use app::{App, AppOptions};

/// The config root: the profile store's default root (`$EXO_CONNECT_HOME` or the OS config
/// dir); `demo` uses its `demo/` sub-folder so the user's real profiles are never touched.
pub fn config_root(demo: bool) -> std::path::PathBuf {
    let base = crate::model::store::default_root()
        .unwrap_or_else(|_| std::env::temp_dir().join("exo-connect"));
    if demo { base.join("demo") } else { base }
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
    run_with(options, root, Box::new(started.backend))
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
            .with_app_id("exo-connect")
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

/// The window icon, drawn in code (64×64): a blue rounded square with a white "connector" bar.
pub fn icon() -> egui::IconData {
    const N: u32 = 64;
    let mut rgba = Vec::with_capacity((N * N * 4) as usize);
    for y in 0..N {
        for x in 0..N {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            // Rounded square, radius 12.
            let r = 12.0;
            let cx = fx.clamp(r, N as f32 - r);
            let cy = fy.clamp(r, N as f32 - r);
            let inside = (fx - cx).powi(2) + (fy - cy).powi(2) <= r * r;
            let bar = (14.0..50.0).contains(&fx) && (28.0..36.0).contains(&fy);
            let dot = |px: f32| (fx - px).powi(2) + (fy - 32.0).powi(2) <= 49.0;
            let px = if !inside {
                [0, 0, 0, 0]
            } else if bar || dot(16.0) || dot(48.0) {
                [255, 255, 255, 255]
            } else {
                [0x1f, 0x6f, 0xc5, 255]
            };
            rgba.extend_from_slice(&px);
        }
    }
    egui::IconData {
        rgba,
        width: N,
        height: N,
    }
}
