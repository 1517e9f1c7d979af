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
