//! The connectivity check's results as plain data (the engine produces them, the window and the
//! command line show them). No network here: see `engine::doctor`.

use serde::{Deserialize, Serialize};

use super::failures;

/// Which check a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The profile's cloud (e.g. Germany retired).
    Cloud,
    /// The proxy route `engine::proxy::resolve` chose.
    Route,
    Dns,
    Tcp,
    /// CONNECT (or a plain request) through the proxy.
    Proxy,
    Tls,
    /// `<authority>/v2.0/.well-known/openid-configuration`.
    OpenId,
    /// Our clock against the server's `Date` header.
    Clock,
}

impl StepKind {
    pub fn label(self) -> &'static str {
        match self {
            StepKind::Cloud => "Cloud",
            StepKind::Route => "Route",
            StepKind::Dns => "DNS",
            StepKind::Tcp => "TCP",
            StepKind::Proxy => "Proxy",
            StepKind::Tls => "TLS",
            StepKind::OpenId => "OpenID",
            StepKind::Clock => "Clock",
        }
    }
}

/// ✓ / ✗ / ! / –.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    Warning,
    Skipped,
}

impl Outcome {
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Passed => "✓",
            Outcome::Failed => "✗",
            Outcome::Warning => "!",
            Outcome::Skipped => "–",
        }
    }
}

/// What to do, from the known-failure catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    /// Catalogue id (`tcp-blocked`, ...).
    pub id: String,
    pub what: String,
    pub why: String,
    pub fix: String,
}

impl Advice {
    /// The catalogue entry of this id (None for an unknown id).
    pub fn from_catalogue(id: &str) -> Option<Advice> {
        failures::by_id(id).map(|k| Advice {
            id: k.id.to_string(),
            what: k.meaning.to_string(),
            why: k.why.to_string(),
            fix: k.fix.to_string(),
        })
    }
}

/// One completed step of the connectivity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagStep {
    pub kind: StepKind,
    /// What was checked: a host (`login.microsoftonline.com`), `host:port`, or a URL.
    pub target: String,
    pub outcome: Outcome,
    /// The result in a few words (`→ 20.190.1.2, 20.190.1.3`, `issued by ...`).
    pub summary: String,
    /// Time the step took, in milliseconds.
    pub elapsed_ms: u64,
    /// On failure or warning: the catalogue's explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
}

impl DiagStep {
    /// `✓ DNS login.microsoftonline.com → 20.190.1.2 (12 ms)`.
    pub fn line(&self) -> String {
        let time = if self.outcome == Outcome::Skipped {
            String::new()
        } else {
            format!(" ({} ms)", self.elapsed_ms)
        };
        let sep = if self.summary.starts_with('→') || self.summary.is_empty() {
            " "
        } else {
            ": "
        };
        format!(
            "{} {} {}{}{}{}",
            self.outcome.mark(),
            self.kind.label(),
            self.target,
            sep,
            self.summary,
            time
        )
        .trim_end()
        .to_string()
    }
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagReport {
    pub profile: String,
    pub steps: Vec<DiagStep>,
}

impl DiagReport {
    /// No step failed (warnings allowed).
    pub fn passed(&self) -> bool {
        !self.steps.iter().any(|s| s.outcome == Outcome::Failed)
    }
    pub fn count(&self, o: Outcome) -> usize {
        self.steps.iter().filter(|s| s.outcome == o).count()
    }
    /// "All 8 checks passed (2 skipped)" / "2 of 8 checks failed, 1 warning".
    pub fn summary(&self) -> String {
        let skipped = self.count(Outcome::Skipped);
        let n = self.steps.len() - skipped;
        let failed = self.count(Outcome::Failed);
        let warned = self.count(Outcome::Warning);
        let plural = |k: usize, one: &str, many: &str| {
            if k == 1 {
                format!("1 {one}")
            } else {
                format!("{k} {many}")
            }
        };
        let mut tail = String::new();
        if warned > 0 {
            tail.push_str(&format!(", {}", plural(warned, "warning", "warnings")));
        }
        if skipped > 0 {
            tail.push_str(&format!(" ({skipped} skipped)"));
        }
        if failed == 0 {
            format!("All {} passed{tail}", plural(n, "check", "checks"))
        } else {
            format!("{failed} of {} failed{tail}", plural(n, "check", "checks"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_summary() {
        let ok = DiagStep {
            kind: StepKind::Dns,
            target: "login.microsoftonline.com".into(),
            outcome: Outcome::Passed,
            summary: "→ 20.190.1.2".into(),
            elapsed_ms: 12,
            advice: None,
        };
        assert_eq!(
            ok.line(),
            "✓ DNS login.microsoftonline.com → 20.190.1.2 (12 ms)"
        );
        let bad = DiagStep {
            kind: StepKind::Tcp,
            outcome: Outcome::Failed,
            summary: "nothing listens".into(),
            advice: Advice::from_catalogue(failures::ids::TCP_BLOCKED),
            ..ok.clone()
        };
        assert!(
            bad.line()
                .starts_with("✗ TCP login.microsoftonline.com: nothing listens")
        );
        let r = DiagReport {
            profile: "p".into(),
            steps: vec![ok.clone(), bad],
        };
        assert!(!r.passed());
        assert_eq!(r.summary(), "1 of 2 checks failed");
        let r = DiagReport {
            profile: "p".into(),
            steps: vec![ok],
        };
        assert!(r.passed());
        assert_eq!(r.summary(), "All 1 check passed");
    }
}
