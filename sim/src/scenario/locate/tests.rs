//! The locator on hand-made documents and on garbage.

use super::*;

const DOC: &str = r#"{
  "name": "x",
  "traffic": [
    { "from": 0, "to": 1 },
    {"from": 2,
     "to": 12, "s": "a\"b"},
    { "from": 1, "to": [ [], {}, "q" ] }
  ],
  "k\u00e9y": {"in\"ner": true}
}"#;

#[test]
fn paths_parse_and_format() {
    let p = parse_path("traffic[2].to");
    assert_eq!(
        p,
        vec![
            Segment::Key("traffic".into()),
            Segment::Index(2),
            Segment::Key("to".into())
        ]
    );
    assert_eq!(format_path(&p), "traffic[2].to");
    assert_eq!(parse_path("a.b[1][2]").len(), 4);
    assert!(parse_path("").is_empty());
    assert!(parse_path(".").is_empty());
    assert_eq!(join("a", "[3]"), "a[3]");
    assert_eq!(join("", "b"), "b");
    assert_eq!(join("a", ""), "a");
}

#[test]
fn locates_values() {
    assert_eq!(locate(DOC, ""), (1, 1));
    assert_eq!(locate(DOC, "name"), (2, 11));
    assert_eq!(locate(DOC, "traffic"), (3, 14));
    assert_eq!(locate(DOC, "traffic[0]"), (4, 5));
    assert_eq!(locate(DOC, "traffic[0].to"), (4, 24));
    assert_eq!(locate(DOC, "traffic[1].to"), (6, 12));
    assert_eq!(locate(DOC, "traffic[1].s"), (6, 21));
    assert_eq!(locate(DOC, "traffic[2].to[2]"), (7, 34));
    assert_eq!(locate(DOC, "kéy.in\"ner"), (9, 27));
}

#[test]
fn falls_back_to_deepest_prefix() {
    assert_eq!(locate(DOC, "traffic[1].nope"), locate(DOC, "traffic[1]"));
    assert_eq!(locate(DOC, "traffic[9].to"), locate(DOC, "traffic"));
    assert_eq!(locate(DOC, "nothing.here"), (1, 1));
}

#[test]
fn matches_serde_json_columns() {
    let text = "{\n  \"a\": [1, 2,\n   x]\n}";
    let err = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
    assert_eq!((err.line(), err.column()), (3, 4));
    // The tokenizer stops at the bad token; the deepest path before it.
    assert_eq!(locate(text, "a[2]"), (3, 4));
}

#[test]
fn path_at_names_the_last_value_before_a_position() {
    let text = "{\n  \"a\": [1, 2,\n   x]\n}";
    assert_eq!(offset_of(text, 3, 4), text.find('x').unwrap());
    assert_eq!(path_at(text, 3, 4), "a[2]");
    assert_eq!(path_at(text, 2, 12), "a[1]");
    assert_eq!(path_at(text, 2, 13), "a");
    let text = "{\"a\": {\"b\": [1], \"c\": 2}, }";
    assert_eq!(path_at(text, 1, 17), "a");
    assert_eq!(path_at(text, 1, 23), "a.c");
    assert_eq!(path_at(text, 1, 27), "");
    assert_eq!(path_at(text, 1, 1), "");
    assert_eq!(path_at("", 5, 5), "");
}

#[test]
fn finds_duplicate_keys() {
    assert_eq!(find_duplicate_key(DOC), None);
    let text = "{\"a\": {\"b\": 1,\n \"c\": [ {\"d\": 1, \"d\": 2} ]}}";
    assert_eq!(
        find_duplicate_key(text),
        Some(("a.c[0].d".to_string(), 2, 18))
    );
    assert_eq!(
        find_duplicate_key("{\"x\": 1, \"y\": {}, \"x\": 2}"),
        Some(("x".to_string(), 1, 19))
    );
}

#[test]
fn garbage_does_not_panic() {
    for text in [
        "",
        "{",
        "[",
        "\"",
        "\"\\",
        "\"\\u12",
        "{\"a\"",
        "{\"a\":",
        "[1,",
        "}",
        "{\"a\" 1}",
        "[[[[",
        "\u{1F600}",
    ] {
        let _ = locate(text, "a[0].b");
        let _ = find_duplicate_key(text);
        let _ = path_at(text, 1, text.len());
    }
}

#[test]
fn deep_and_wide_text_stays_cheap() {
    let deep = "[".repeat(200_000) + &"{\"a\": ".repeat(200_000);
    assert_eq!(locate(&deep, "[0][0]"), (1, 3));
    assert_eq!(path_at(&deep, 1, deep.len()).len(), 3 * MAX_DEPTH);
    assert_eq!(find_duplicate_key(&deep), None);
    let wide: String = (0..100_000).map(|i| format!("\"k{i}\": 0, ")).collect();
    let wide = format!("{{{wide}\"k7\": 1}}");
    assert_eq!(
        find_duplicate_key(&wide).map(|(p, ..)| p),
        Some("k7".to_string())
    );
}
