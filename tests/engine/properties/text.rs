//! Server text made safe to print (`model::text`): nothing unsafe survives, cleaning twice
//! changes nothing, clean text is borrowed unchanged.

use std::borrow::Cow;

use exo_connect::model::text::{printable, printable_line};
use proptest::prelude::*;

use super::{any_text, config};

fn bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nothing_unsafe_survives_and_cleaning_is_idempotent(s in any_text(80)) {
        let p = printable(&s);
        prop_assert!(!p.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || bidi(c)), "{:?}", p);
        prop_assert_eq!(printable(&p), p.clone());
        if let Cow::Borrowed(b) = &p {
            prop_assert_eq!(*b, s.as_str());
        }
        let l = printable_line(&s);
        prop_assert!(!l.chars().any(|c| c.is_control() || bidi(c)), "{:?}", l);
        prop_assert_eq!(printable_line(&l), l.clone());
    }

    #[test]
    fn clean_text_is_kept_as_it_is(s in "[^\\p{Cc}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{200E}\u{200F}]{0,60}") {
        prop_assert!(matches!(printable(&s), Cow::Borrowed(_)));
        prop_assert_eq!(printable(&s), s.as_str());
    }
}
