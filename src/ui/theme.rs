//! Theme: follow the OS (default) or force light/dark; the status colours used everywhere.

use egui::Color32;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeSetting {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeSetting {
    pub const ALL: [ThemeSetting; 3] = [
        ThemeSetting::System,
        ThemeSetting::Light,
        ThemeSetting::Dark,
    ];
    pub fn label(self) -> &'static str {
        match self {
            ThemeSetting::System => "Follow system",
            ThemeSetting::Light => "Light",
            ThemeSetting::Dark => "Dark",
        }
    }
    pub fn apply(self, ctx: &egui::Context) {
        ctx.set_theme(match self {
            ThemeSetting::System => egui::ThemePreference::System,
            ThemeSetting::Light => egui::ThemePreference::Light,
            ThemeSetting::Dark => egui::ThemePreference::Dark,
        });
    }
}

pub const GREEN: Color32 = Color32::from_rgb(0x2e, 0xa0, 0x43);
pub const AMBER: Color32 = Color32::from_rgb(0xd9, 0x8e, 0x04);
pub const RED: Color32 = Color32::from_rgb(0xd0, 0x3b, 0x3b);
pub const GREY: Color32 = Color32::from_rgb(0x8a, 0x8a, 0x8a);

/// `#rrggbb` → colour; a neutral grey when missing or malformed.
pub fn parse_hex(s: Option<&str>) -> Color32 {
    s.and_then(|s| {
        let h = s.strip_prefix('#')?;
        if h.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(h, 16).ok()?;
        Some(Color32::from_rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
    })
    .unwrap_or(GREY)
}

pub fn to_hex(c: Color32) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r(), c.g(), c.b())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hex_round_trip() {
        let c = parse_hex(Some("#12ab9f"));
        assert_eq!(to_hex(c), "#12ab9f");
        assert_eq!(parse_hex(Some("12ab9f")), GREY);
        assert_eq!(parse_hex(None), GREY);
    }
}

/// Seconds without input after which the text cursor stops blinking.
pub const CARET_BLINK_FOR: f64 = 10.0;

/// The text cursor blinks while the user works and stays on once nothing happened for
/// [`CARET_BLINK_FOR`] seconds (as GTK does): a blinking cursor repaints the whole window twice
/// a second, and a field left focused would keep an idle window busy forever. Only keys, text
/// and clicks count as work: a pointer passing over the window or a wheel scroll does not
/// restart ten seconds of blinking (twenty full-window frames).
#[derive(Debug, Default)]
pub struct Caret {
    /// egui time of the last input event.
    last_input: f64,
    blinking: Option<bool>,
}

impl Caret {
    /// Call once a frame.
    pub fn update(&mut self, ctx: &egui::Context) {
        let (now, input) = ctx.input(|i| (i.time, i.events.iter().any(restarts_blink)));
        if input || self.blinking.is_none() {
            self.last_input = now;
        }
        let idle = now - self.last_input;
        let blink = idle < CARET_BLINK_FOR;
        if self.blinking != Some(blink) {
            self.blinking = Some(blink);
            ctx.all_styles_mut(|s| s.visuals.text_cursor.blink = blink);
        }
        if blink && ctx.memory(|m| m.focused().is_some()) {
            // Stop blinking on time even if no blink repaint comes then.
            ctx.request_repaint_after_secs((CARET_BLINK_FOR - idle) as f32 + 0.05);
        }
    }

    /// Whether the cursor blinks now.
    pub fn blinking(&self) -> bool {
        self.blinking.unwrap_or(true)
    }
}

/// Whether an input event is the user working (typing, clicking), which restarts the blinking.
fn restarts_blink(e: &egui::Event) -> bool {
    use egui::Event as E;
    !matches!(
        e,
        E::PointerMoved(_)
            | E::MouseMoved(_)
            | E::PointerGone
            | E::MouseWheel { .. }
            | E::WindowFocused(_)
    )
}
