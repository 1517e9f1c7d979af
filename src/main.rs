// Release builds on Windows are GUI programs (no console window flashes up when the app is
// started from the Start menu). Debug builds keep the console for development.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    #[cfg(windows)]
    attach_parent_console();
    exo_connect::cli::main()
}

/// The same binary is the command line: when started with arguments (a subcommand, `--help`,
/// `--demo`…) from a terminal, write to that terminal. A GUI-subsystem process has no console of
/// its own; attach to the parent's. Started from Explorer there is none and the call fails
/// harmlessly. Handles the parent redirected (to a file or pipe) are kept as they are.
#[cfg(windows)]
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    if std::env::args_os().len() > 1 {
        // SAFETY: AttachConsole takes a process id by value and touches no memory of ours.
        unsafe {
            AttachConsole(ATTACH_PARENT_PROCESS);
        }
    }
}
