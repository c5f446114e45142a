//! Reports are well-formed: the HTML parses as XML, every plot is valid
//! SVG, and every flow of the summary has its row. Runs are shortened.

use std::path::{Path, PathBuf};

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("meshsim-reports-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Parses `text` as XML, naming `what` on failure.
fn xml<'a>(what: &str, text: &'a str) -> roxmltree::Document<'a> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, opts)
        .unwrap_or_else(|e| panic!("{what} is not well-formed: {e}"))
}

/// Checks report.html and plots/*.svg in `dir`; returns the HTML.
fn check_report(dir: &Path) -> String {
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let doc = xml("report.html", &html);
    let inline = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .count();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("plots"))
        .expect("plots/")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    assert_eq!(inline, files.len(), "every plot is inline in the HTML");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let svg = xml(&f.display().to_string(), &text);
        let root = svg.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{}", f.display());
        assert!(root.attribute("width").is_some() && root.attribute("height").is_some());
        assert!(
            svg.descendants().any(|n| n.tag_name().name() == "text"),
            "{}: a plot without axis labels",
            f.display()
        );
    }
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            md.contains(&format!("(plots/{name})")),
            "report.md links {name}"
        );
    }
    html
}

/// Table cells of the table that follows the heading `title`.
fn table_after(html: &str, title: &str) -> Vec<String> {
    let doc = xml("report.html", html);
    let h = doc
        .descendants()
        .find(|n| n.tag_name().name() == "h2" && n.text() == Some(title))
        .unwrap_or_else(|| panic!("no section {title}"));
    let table = h
        .next_siblings()
        .find(|n| n.tag_name().name() == "table")
        .expect("a table");
    table
        .descendants()
        .filter(|n| n.tag_name().name() == "td")
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

#[test]
fn run_reports_are_well_formed_and_list_every_flow_and_link() {
    for name in ["qos-realtime-bulk", "wifi-mesh", "sf-congestion"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.json"));
        let mut sc = sim::scenario::load(&path).unwrap();
        sc.duration = sc.duration.min(node_core::Duration::from_secs(2));
        let run = sim::run::run(sc, &mut |_| {}).unwrap();
        let dir = out_dir(name);
        sim::run::write(&run, &dir).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        sim::run::write_scenario(&value, &dir).unwrap();
        sim::run::write_report(&dir).unwrap();
        let html = check_report(&dir);
        assert!(html.contains(&run.summary.fingerprint));
        assert!(html.contains(&run.summary.suite));
        let flows = table_after(&html, "Flows");
        assert!(!run.summary.flows.is_empty());
        for f in &run.summary.flows {
            assert!(
                flows.contains(&f.name),
                "{name}: flow {} has no row",
                f.name
            );
        }
        let links = table_after(&html, "Links");
        for l in &run.summary.links {
            assert!(
                links.contains(&format!("{} -> {}", l.from, l.to)),
                "{name}: link {} -> {} has no row",
                l.from,
                l.to
            );
        }
        let params = table_after(&html, "Parameters");
        assert!(params.contains(&"topology.generator".to_string()), "{name}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn sweep_reports_are_well_formed() {
    let text = r#"{
      "name": "tiny", "seed": 2, "duration": "1s",
      "protocol": { "suite": "modeled" },
      "topology": { "generator": "chain", "nodes": 3 },
      "traffic": [ { "name": "bulk & co", "from": 0, "to": 2, "kind": "bulk", "size": "100kB" } ],
      "sweep": { "protocol.mode": ["store-and-forward", "end-to-end"],
                 "traffic[0].to,topology.nodes": [[1, 2], [2, 3]], "repeat": 2,
                 "plot": { "x": "traffic[0].to,topology.nodes", "x_label": "hops" } }
    }"#;
    let plan = sim::sweep::plan_text(text, Path::new(".")).unwrap();
    let (result, _) = sim::sweep::exec::execute(&plan, None, 2, &|| {}).unwrap();
    let dir = out_dir("sweep");
    reports::write_sweep(&result, &dir).unwrap();
    let html = check_report(&dir);
    assert!(html.contains("bulk &amp; co"), "names are escaped");
    assert!(html.contains("hops"));
    let cells = table_after(&html, "Means and 95% confidence intervals");
    assert!(
        cells.iter().any(|c| c.contains(" ± ")),
        "intervals across repeats"
    );
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("traffic[0].to,topology.nodes")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A wifi link and a tunnel join the same two nodes: each is its own line
/// in the link plots (named by medium and index), and the drops per
/// interval are each link's own (they were once mixed into one series).
#[test]
fn parallel_links_are_separate_lines_in_the_link_plots() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tunnel-failover.json");
    let mut sc = sim::scenario::load(&path).unwrap();
    sc.duration = node_core::Duration::from_secs(14);
    let run = sim::run::run(sc, &mut |_| {}).unwrap();
    let dir = out_dir("parallel-links");
    sim::run::write(&run, &dir).unwrap();
    sim::run::write_report(&dir).unwrap();
    let html = check_report(&dir);
    for name in ["0 -&gt; 1 (wired 0)", "0 -&gt; 1 (tunnel 1)"] {
        assert!(html.contains(name), "no line {name}");
    }
    // No interval shows more drops than the run had in all.
    let data = reports::data::RunData::read(&dir).unwrap();
    let total: u64 = run
        .summary
        .links
        .iter()
        .map(|l| l.drops.values().sum::<u64>())
        .sum();
    let mut last = std::collections::BTreeMap::new();
    for p in &data.links {
        let prev = last
            .insert((p.link, p.from, p.to), p.drops_total)
            .unwrap_or(0);
        assert!(p.drops_total >= prev, "drop counters only grow: {p:?}");
        assert!(p.drops_total <= total, "{p:?} > {total}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
