//! Whatever text `parse` gets, it answers with a scenario or an error.

use proptest::prelude::*;

use super::super::*;
use super::{EXAMPLE, here};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = parse(&text, here());
    }

    #[test]
    fn arbitrary_json_like_text_never_panics(text in "[{}\\[\\]\",:0-9a-z \\\\.-]{0,80}") {
        let _ = parse(&text, here());
        let _ = locate::locate(&text, "a[0].b");
        let _ = locate::find_duplicate_key(&text);
    }

    #[test]
    fn spliced_scenarios_never_panic(
        at in 0usize..4000,
        cut in 0usize..20,
        insert in "[{}\\[\\]\",:0-9a-z .-]{0,12}",
    ) {
        let base = EXAMPLE;
        let at = at % base.len();
        let end = (at + cut).min(base.len());
        if base.is_char_boundary(at) && base.is_char_boundary(end) {
            let text = format!("{}{}{}", &base[..at], insert, &base[end..]);
            if let Err(e) = parse(&text, here()) {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
    }
}
