//! Every kind of bad scenario gets an error naming its path, line and
//! column, and nothing panics.

use super::super::*;
use super::here;

const BASE: &str = r#"{
  "name": "t",
  "seed": 1,
  "duration": "10s",
  "protocol": { "suite": "modeled" },
  "topology": {
    "generator": "chain",
    "nodes": 4,
    "link": { "bandwidth": "20Mbps", "latency": "2ms" }
  },
  "traffic": [
    { "from": 0, "to": 1, "kind": "bulk", "size": "1MB" },
    { "from": 1, "to": 2, "kind": "cbr", "rate": "64kbps" }
  ],
  "faults": [
    { "at": "1s", "link": [1, 2], "down_for": "1s" }
  ]
}"#;

/// `BASE` with `from` replaced by `to` (which must change it).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Parses `text`, expecting an error at the `occurrence`-th (0-based)
/// appearance of `at`, with `path` and a message containing `needle`.
#[track_caller]
fn expect_nth(text: &str, path: &str, at: &str, occurrence: usize, needle: &str) {
    let e = parse(text, here()).unwrap_err();
    let offset = text
        .match_indices(at)
        .nth(occurrence)
        .unwrap_or_else(|| panic!("{at:?} not in the text"))
        .0;
    let (line, column) = locate::line_column(text, offset);
    assert_eq!(e.path, path, "{e}");
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(e.message.contains(needle), "{e}");
}

#[track_caller]
fn expect(text: &str, path: &str, at: &str, needle: &str) {
    expect_nth(text, path, at, 0, needle);
}

#[test]
fn base_is_valid() {
    parse(BASE, here()).unwrap();
}

#[test]
fn bad_json_syntax() {
    let text = edit("\"seed\": 1,", "\"seed\": 1,,");
    expect(&text, "", ",\n  \"duration\"", "key must be a string");
    let text = edit("\"to\": 1,", "\"to\": 1");
    expect(
        &text,
        "traffic[0]",
        "\"kind\": \"bulk\"",
        "expected `,` or `}`",
    );
    let text = edit("\"10s\"", "\"10s");
    let e = parse(&text, here()).unwrap_err();
    assert!(e.line >= 4, "{e}");
    expect(&format!("{BASE} x"), "", "x", "trailing characters");
    for text in ["", "   ", "[]", "null", "{", "\"\\uD800\""] {
        let e = parse(text, here()).unwrap_err();
        assert!(e.line >= 1 && e.column >= 1, "{text:?}: {e}");
    }
}

#[test]
fn missing_fields() {
    expect(&edit("\"seed\": 1,\n", ""), "", "{", "missing field `seed`");
    expect(
        &edit(", \"size\": \"1MB\"", ""),
        "traffic[0]",
        "{ \"from\": 0",
        "missing field `size`",
    );
    expect(
        &edit("\"generator\": \"chain\",\n    ", ""),
        "topology",
        "{\n    \"nodes\"",
        "missing field `generator`",
    );
    expect(
        &edit("\"nodes\": 4,", ""),
        "topology",
        "{\n    \"generator\"",
        "missing field `nodes`",
    );
    expect(
        &edit(", \"kind\": \"bulk\"", ""),
        "traffic[0]",
        "{ \"from\": 0",
        "missing field `kind`",
    );
}

#[test]
fn wrong_types_and_units() {
    expect(
        &edit("\"10s\"", "\"10 parsecs\""),
        "duration",
        "\"10 parsecs\"",
        "unknown unit",
    );
    expect(
        &edit("\"10s\"", "10"),
        "duration",
        "10,",
        "a duration string",
    );
    expect(
        &edit("\"1MB\"", "1000000"),
        "traffic[0].size",
        "1000000",
        "size string",
    );
    expect(
        &edit("\"1MB\"", "\"1 MQ\""),
        "traffic[0].size",
        "\"1 MQ\"",
        "unknown unit",
    );
    expect(
        &edit("\"seed\": 1", "\"seed\": \"x\""),
        "seed",
        "\"x\"",
        "invalid type",
    );
    expect(
        &edit("\"seed\": 1", "\"seed\": -1"),
        "seed",
        "-1",
        "invalid value",
    );
    expect(
        &edit("\"modeled\"", "\"fake\""),
        "protocol.suite",
        "\"fake\"",
        "unknown variant",
    );
    expect(
        &edit("\"10s\"", "\"0s\""),
        "duration",
        "\"0s\"",
        "longer than zero",
    );
    let text = "{ \"name\": \"t\", \"seed\": 1, \"duration\": \"1s\", \"topology\": 5 }";
    expect(text, "topology", "5 }", "expected an object");
}

#[test]
fn unknown_generator_and_bad_generator_parameters() {
    expect(
        &edit("\"chain\"", "\"chian\""),
        "topology.generator",
        "\"chian\"",
        "unknown generator \"chian\"",
    );
    expect(
        &edit("\"chain\"", "3"),
        "topology.generator",
        "3,",
        "generator name",
    );
    expect(
        &edit("\"chain\"", "\"ring\"").replace("\"nodes\": 4", "\"nodes\": 2"),
        "topology.nodes",
        "2,",
        "at least 3",
    );
    expect(
        &edit("\"nodes\": 4", "\"nodes\": 4, \"rows\": 2"),
        "topology.rows",
        "2,",
        "chain generator",
    );
}

#[test]
fn negative_and_zero_rates() {
    expect(
        &edit("\"64kbps\"", "\"0kbps\""),
        "traffic[1].rate",
        "\"0kbps\"",
        "greater than zero",
    );
    expect(
        &edit("\"64kbps\"", "\"-64kbps\""),
        "traffic[1].rate",
        "\"-64kbps\"",
        "negative",
    );
    expect(
        &edit("\"20Mbps\"", "\"0Mbps\""),
        "topology.link.bandwidth",
        "\"0Mbps\"",
        "greater than zero",
    );
}

#[test]
fn indices_out_of_range() {
    expect(
        &edit("\"to\": 1,", "\"to\": 12,"),
        "traffic[0].to",
        "12",
        "node 12 does not exist (the topology has 4 nodes)",
    );
    expect(
        &edit("\"link\": [1, 2]", "\"link\": [1, 9]"),
        "faults[0].link[1]",
        "9]",
        "node 9 does not exist",
    );
    expect(
        &edit("\"link\": [1, 2]", "\"link\": [0, 2]"),
        "faults[0].link",
        "[0, 2]",
        "no link between nodes 0 and 2",
    );
    let over = "\"link\": { \"bandwidth\": \"20Mbps\", \"latency\": \"2ms\" }";
    expect(
        &edit(
            over,
            "\"overrides\": { \"links\": [ { \"between\": [3, 7] } ] }",
        ),
        "topology.overrides.links[0].between[1]",
        "7]",
        "node 7 does not exist",
    );
    expect(
        &edit(
            over,
            "\"overrides\": { \"nodes\": [ { \"node\": 4, \"name\": \"x\" } ] }",
        ),
        "topology.overrides.nodes[0].node",
        "4, \"name\"",
        "node 4 does not exist",
    );
}

#[test]
fn unknown_fields() {
    expect(
        &edit("\"seed\": 1", "\"sed\": 1, \"seed\": 1"),
        "sed",
        "1, \"seed\"",
        "unknown field `sed`",
    );
    expect(
        &edit("\"bandwidth\"", "\"bandwith\""),
        "topology.link.bandwith",
        "\"20Mbps\"",
        "unknown field `bandwith`",
    );
    expect(
        &edit("\"size\": \"1MB\"", "\"size\": \"1MB\", \"count\": 3"),
        "traffic[0].count",
        "3 }",
        "unknown field `count`",
    );
    expect(
        &edit("\"down_for\"", "\"down_fr\""),
        "faults[0].down_fr",
        "\"1s\" }",
        "unknown field `down_fr`",
    );
    expect(
        &edit("\"suite\"", "\"suit\""),
        "protocol.suit",
        "\"modeled\"",
        "unknown field `suit`",
    );
}

#[test]
fn duplicate_keys() {
    expect_nth(
        &edit("\"seed\": 1", "\"seed\": 1, \"seed\": 2"),
        "seed",
        "\"seed\"",
        1,
        "appears twice",
    );
}

#[test]
fn bad_link_parameters() {
    let loss = "\"latency\": \"2ms\", \"loss\": { \"bernoulli\": 1.5 }";
    expect(
        &edit("\"latency\": \"2ms\"", loss),
        "topology.link.loss.bernoulli",
        "1.5",
        "outside [0, 1]",
    );
    let ge =
        "\"loss\": { \"gilbert_elliott\": { \"p_good_to_bad\": -0.1, \"p_bad_to_good\": 0.5 } }";
    expect(
        &edit("\"latency\": \"2ms\"", ge),
        "topology.link.loss.gilbert_elliott.p_good_to_bad",
        "-0.1",
        "outside [0, 1]",
    );
    expect(
        &edit("\"latency\": \"2ms\"", "\"mtu\": 100"),
        "topology.link.mtu",
        "100",
        "outside [128",
    );
    expect(
        &edit("\"latency\": \"2ms\"", "\"loss\": { \"burst\": 1 }"),
        "topology.link.loss",
        "{ \"burst\"",
        "unknown variant",
    );
}

#[test]
fn traffic_rules() {
    // Flows between any two nodes run over routes; a path given in full
    // must follow two-way links.
    expect(
        &edit("\"to\": 1,", "\"to\": 3, \"path\": [0, 3],"),
        "traffic[0].path",
        "[0, 3]",
        "no two-way link",
    );
    expect(
        &edit("\"to\": 1,", "\"to\": 1, \"path\": [0, 2],"),
        "traffic[0].path",
        "[0, 2]",
        "every node from 0 to 1",
    );
    expect(
        &edit("\"to\": 1,", "\"to\": 0,"),
        "traffic[0].to",
        "0, \"kind\"",
        "two different nodes",
    );
    expect(
        &edit("\"size\": \"1MB\"", "\"size\": \"1MB\", \"channel\": 0"),
        "traffic[0].channel",
        "0 }",
        "reserved",
    );
    expect(
        &edit("\"kind\": \"bulk\"", "\"kind\": \"blk\""),
        "traffic[0].kind",
        "\"blk\"",
        "unknown traffic kind",
    );
    expect(
        &edit("\"size\": \"1MB\"", "\"size\": \"1MB\", \"start\": \"20s\""),
        "traffic[0].start",
        "\"20s\"",
        "not before the end",
    );
    expect(
        &edit(
            "\"size\": \"1MB\"",
            "\"size\": \"1MB\", \"message\": \"0B\"",
        ),
        "traffic[0].message",
        "\"0B\"",
        "at least one byte",
    );
    expect(
        &edit(
            "\"size\": \"1MB\"",
            "\"size\": \"1MB\", \"message\": \"1GiB\"",
        ),
        "traffic[0].message",
        "\"1GiB\"",
        "max_message_size",
    );
    expect(
        &edit(
            "\"size\": \"1MB\"",
            "\"size\": \"1MB\", \"message\": \"1MiB\"",
        ),
        "traffic[0].message",
        "\"1MiB\"",
        "does not fit in protocol.route_buffer",
    );
    let named = edit("{ \"from\": 0,", "{ \"name\": \"f\", \"from\": 0,").replacen(
        "{ \"from\": 1,",
        "{ \"name\": \"f\", \"from\": 1,",
        1,
    );
    expect_nth(
        &named,
        "traffic[1].name",
        "\"f\"",
        1,
        "already used by traffic[0]",
    );
    let one_way = "\"link\": { \"bandwidth\": \"20Mbps\", \"latency\": \"2ms\" }";
    let text = edit(
        one_way,
        "\"overrides\": { \"links\": [ { \"between\": [0, 1], \"one_way\": true } ] }",
    );
    expect(
        &text,
        "traffic[0].to",
        "1, \"kind\"",
        "no path of two-way links",
    );
}

#[test]
fn fault_rules() {
    expect(
        &edit("\"down_for\"", "\"crash_for\""),
        "faults[0].crash_for",
        "\"1s\" }",
        "duration is `down_for`",
    );
    expect(
        &edit("\"link\": [1, 2],", "\"link\": [1, 2], \"node\": 1,"),
        "faults[0].node",
        "1, \"down",
        "exactly one of",
    );
    expect(
        &edit("\"link\": [1, 2], \"down_for\": \"1s\"", "\"for\": \"1s\""),
        "faults[0]",
        "{ \"at\": \"1s\"",
        "exactly one of",
    );
    expect_nth(
        &edit("\"at\": \"1s\"", "\"at\": \"10s\""),
        "faults[0].at",
        "\"10s\"",
        1,
        "not before the end",
    );
    let partition = "\"partition\": [[0, 1], [1, 2]], \"for\": \"1s\"";
    expect(
        &edit("\"link\": [1, 2], \"down_for\": \"1s\"", partition),
        "faults[0].partition[1][0]",
        "1, 2]]",
        "already in group 0",
    );
    let node = "\"node\": 1, \"add_latency\": \"5ms\"";
    expect(
        &edit("\"link\": [1, 2], \"down_for\": \"1s\"", node),
        "faults[0].add_latency",
        "\"5ms\"",
        "only a link",
    );
}

#[test]
fn protocol_is_validated() {
    expect(
        &edit("\"modeled\"", "\"modeled\", \"padding\": 24"),
        "protocol.padding",
        "24",
        "padding must be 16 or 32",
    );
    expect(
        &edit(
            "\"modeled\"",
            "\"modeled\", \"keepalive_interval\": \"20s\"",
        ),
        "protocol",
        "{ \"suite\"",
        "keepalive_interval",
    );
    expect(
        &edit("\"modeled\"", "\"modeled\", \"min_rto\": \"0s\""),
        "protocol.min_rto",
        "\"0s\"",
        "greater than zero",
    );
}

#[test]
fn display_names_file_line_column_and_path() {
    let e = parse(&edit("\"to\": 1,", "\"to\": 12,"), here()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<scenario>:12:24: traffic[0].to: node 12 does not exist (the topology has 4 nodes)"
    );
    let dir = std::env::temp_dir().join(format!("meshsim-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(&file, edit("\"to\": 1,", "\"to\": 12,")).unwrap();
    let e = load(&file).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(file.as_path()));
    assert!(
        e.to_string()
            .starts_with(&format!("{}:12:24: traffic[0].to: ", file.display())),
        "{e}"
    );
    let e = describe(&dir.join("missing.json")).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
    std::fs::write(&file, "{ \"description\": 3 }").unwrap();
    let e = describe(&file).unwrap_err();
    assert_eq!(
        (e.path.as_str(), e.line, e.column),
        ("description", 1, 18),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pay_is_validated() {
    let with = |pay: &str| {
        edit(
            "  \"faults\": [",
            &format!("  \"pay\": {pay},\n  \"faults\": ["),
        )
    };
    parse(
        &with(r#"{ "relays": { "price_per_mb": 1000, "credit": 10 } }"#),
        here(),
    )
    .unwrap();
    let text = with(r#"{ "nodes": [ { "node": 9, "price_per_mb": 1, "credit": 1 } ] }"#);
    let e = parse(&text, here()).unwrap_err();
    assert_eq!(e.path, "pay.nodes[0].node", "{e}");
    assert!(e.message.contains("node 9 does not exist"), "{e}");
    let e = parse(&with(r#"{ "escrow": { "fee_ppm": 1000001 } }"#), here()).unwrap_err();
    assert_eq!(e.path, "pay.escrow.fee_ppm", "{e}");
    let e = parse(
        &with(r#"{ "pricing": { "noia": { "price_per_mb": 1, "infra_ppm": 2000000 } } }"#),
        here(),
    )
    .unwrap_err();
    assert_eq!(e.path, "pay.pricing.noia.infra_ppm", "{e}");
    let e = parse(&with(r#"{ "relays": { "price_per_mb": 1 } }"#), here()).unwrap_err();
    assert!(e.path.starts_with("pay"), "{e}");
    let e2e = with("{}").replace(
        "\"suite\": \"modeled\"",
        "\"suite\": \"modeled\", \"mode\": \"end-to-end\"",
    );
    let e = parse(&e2e, here()).unwrap_err();
    assert_eq!(e.path, "pay", "{e}");
    assert!(e.message.contains("store-and-forward"), "{e}");
}
