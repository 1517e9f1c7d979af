//! Windows only: embed the app icon (`assets/exo-connect.ico`) and a version resource (taken from
//! Cargo.toml by winresource) in `exo-connect.exe`, so Explorer, the taskbar, the Start-menu
//! shortcuts the installers create and "Apps & features" show them. Nothing happens for other
//! targets (the window icon itself is set at run time from `assets/png/`).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=assets/exo-connect.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        let mut res = winresource::WindowsResource::new();
        res.set_icon("assets/exo-connect.ico")
            .set("FileDescription", "exo-connect");
        if let Err(e) = res.compile() {
            panic!("cannot embed the Windows icon resource (is rc.exe or windres on PATH?): {e}");
        }
    }
}
