//! The rate gauge of a session row: the tenant's request budget as the service last announced it
//! (`Rate-Limit-*`, reference page §7), refilled at the service's pace since then (the engine's
//! pacer uses the same model), as a small bar and "rate 62% left"; while the pacer holds
//! requests back, "paced until 14:03:07" (local time).

use chrono::{DateTime, Local, Utc};
use egui::{RichText, Ui};

use super::bridge::RateView;
use super::theme;

/// The budget left at `now`, 0..=1: what was announced plus the refill since.
pub fn left_at(r: &RateView, now: DateTime<Utc>) -> f32 {
    let announced = r.at;
    if r.limit == 0 {
        return 1.0;
    }
    let left = r.remaining as f64;
    let missing = (r.limit - r.remaining.min(r.limit)) as f64;
    let span = (r.full_at - announced).num_milliseconds() as f64;
    let gone = (now - announced).num_milliseconds().max(0) as f64;
    let refilled = if span <= 0.0 {
        missing
    } else {
        missing * (gone / span).min(1.0)
    };
    ((left + refilled) / r.limit as f64).clamp(0.0, 1.0) as f32
}

/// What the gauge says at `now`: "rate 62% left", and "paced until hh:mm:ss" while paced.
pub fn texts(r: &RateView, now: DateTime<Utc>) -> (String, Option<String>) {
    let pct = (left_at(r, now) * 100.0).round() as u32;
    let paced = r
        .paced_until
        .filter(|t| *t > now)
        .map(|t| format!("paced until {}", t.with_timezone(&Local).format("%H:%M:%S")));
    (format!("rate {pct}% left"), paced)
}

/// Draws the gauge of `rate` at `now` (a dash when the service announced none).
pub fn cell(ui: &mut Ui, rate: Option<&RateView>, now: DateTime<Utc>) {
    let Some(r) = rate else {
        ui.label(RichText::new("—").weak())
            .on_hover_text("The service has not announced a request budget");
        return;
    };
    let frac = left_at(r, now);
    let (text, paced) = texts(r, now);
    let color = if frac <= 0.1 {
        theme::RED
    } else if frac <= 0.3 {
        theme::AMBER
    } else {
        theme::GREEN
    };
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(36.0, 8.0), egui::Sense::hover());
        let p = ui.painter();
        p.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let mut fill = rect;
        fill.set_width(rect.width() * frac);
        p.rect_filled(fill, 2.0, color);
        let hover = format!(
            "{} of {} requests left when the service last answered; full again at {}",
            r.remaining,
            r.limit,
            r.full_at.with_timezone(&Local).format("%H:%M:%S")
        );
        ui.label(RichText::new(text).color(color))
            .on_hover_text(hover);
        if let Some(p) = paced {
            ui.label(RichText::new(p).color(theme::AMBER))
                .on_hover_text("Requests wait for the budget instead of being refused (429)");
        }
    });
    if let Some(t) = r.paced_until.filter(|t| *t > now)
        && let Ok(d) = (t - now).to_std()
    {
        ui.ctx().request_repaint_after(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refills_towards_full_and_pacing_shows_while_it_lasts() {
        let at = Utc::now();
        let r = RateView {
            limit: 100,
            remaining: 62,
            at,
            full_at: at + chrono::Duration::seconds(38),
            paced_until: None,
        };
        assert_eq!(texts(&r, at).0, "rate 62% left");
        assert_eq!(
            texts(&r, at + chrono::Duration::seconds(19)).0,
            "rate 81% left"
        );
        assert_eq!(
            texts(&r, at + chrono::Duration::seconds(99)).0,
            "rate 100% left"
        );
        let until = at + chrono::Duration::seconds(2);
        let paced = RateView {
            remaining: 0,
            paced_until: Some(until),
            ..r
        };
        let want = format!(
            "paced until {}",
            until.with_timezone(&Local).format("%H:%M:%S")
        );
        assert_eq!(texts(&paced, at).1, Some(want));
        assert_eq!(texts(&paced, until).1, None, "no longer paced");
    }
}
