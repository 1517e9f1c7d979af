//! Property tests (proptest, on stable) for every parser of untrusted input — the functions the
//! fuzz targets under `tests/fuzz/` drive — so CI guards them without a nightly toolchain: no
//! panic on arbitrary input, and the round trips where they exist (a quoted value, a written
//! cmdlet line, the store file, import JSON and CSV, a result page through the JSON writer, the
//! proxy settings' formats). Case counts stay at proptest's default (256, `PROPTEST_CASES=N`
//! raises them); no failure files are written into the repository.

mod cmdline;
mod profiles;
mod proxy;
mod results;
mod server;
mod text;

use proptest::prelude::*;

/// proptest's defaults (`PROPTEST_CASES` honoured), without regression files in the tree.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of the characters parsers of PowerShell, JSON, CSV and settings files care about,
/// with some letters, digits and non-ASCII: finds more than uniformly random Unicode.
pub fn tricky_text(max: usize) -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'Z', '1', '0', '-', '_', '.', ':', '@', '\'', '"', '`', '$', '(', ')', '{', '}', '[',
        ']', ',', ';', '|', '&', '<', '>', '#', '=', '*', '?', '/', '\\', ' ', '\t', '\n', '\r',
        'e', 'E', '+', '\u{0}', '\u{1b}', '\u{9b}', '\u{7}', '\u{2018}', '\u{2019}', '\u{201C}',
        '\u{202E}', 'é', '東', '\u{feff}',
    ]);
    prop::collection::vec(chars, 0..max).prop_map(|v| v.into_iter().collect())
}

/// Arbitrary Unicode text or [`tricky_text`].
pub fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect()),
        tricky_text(max),
    ]
}
