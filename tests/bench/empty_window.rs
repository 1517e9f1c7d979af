//! The P1 start-up peer (tests/bench/start.py): an empty eframe window with exo-connect's eframe
//! features (it is built from the same Cargo.toml), its size and title, and nothing else. With
//! `EXO_CONNECT_EXIT_AFTER_FIRST_FRAME=1` it exits once its first frame has been painted, like
//! exo-connect does, so both processes' wall times are their times to first frame.
//!
//! `cargo run --release --example empty_window`

struct Empty {
    exit_after_first_frame: bool,
}

impl eframe::App for Empty {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        if self.exit_after_first_frame {
            // Frames, not passes (as in exo_connect::ui::exit_after_first_frame).
            if ui.ctx().cumulative_frame_nr() >= 1 {
                std::process::exit(0);
            }
            ui.ctx().request_repaint();
        }
        egui::CentralPanel::default().show(ui, |_ui| {});
    }
}

fn main() -> Result<(), eframe::Error> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("empty")
            .with_inner_size([1280.0, 820.0]),
        ..Default::default()
    };
    let exit_after_first_frame =
        std::env::var_os("EXO_CONNECT_EXIT_AFTER_FIRST_FRAME").is_some_and(|v| v == "1");
    eframe::run_native(
        "empty",
        native,
        Box::new(move |_cc| {
            Ok(Box::new(Empty {
                exit_after_first_frame,
            }))
        }),
    )
}
