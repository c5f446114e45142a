//! The `topology` section of a scenario: generators, imports and overrides
//! that build a [`Network`].
//!
//! Link parameters are layered: the defaults (`scenarios/README.md`), then
//! the generator's own defaults (SONET spans and access links), then
//! `topology.link`, then what the generator or imported file says about a
//! link, then `overrides`. Random generators draw from a ChaCha20 stream
//! seeded from (scenario seed, "topology"), so the same seed gives the same
//! network and no other random stream of the run is disturbed.

pub mod generators;
pub(crate) mod gml;
mod graphml;
mod json_import;
mod overrides;

#[cfg(test)]
mod tests;

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::{ChannelParams, LinkSpec, Medium, Network, WifiSpec};
use crate::scenario::spec::{Dur, LinkParamsSpec, Prob};
use crate::scenario::{Doc, ScenarioError};
use generators::Geometric;
use node_core::Duration;

pub(crate) use overrides::LinkEntrySpec;

/// The most nodes a topology may have.
pub const MAX_NODES: usize = 100_000;
/// The most links a topology may have.
pub const MAX_LINKS: usize = 1_000_000;
/// The most nodes of generators that consider every pair of nodes
/// (geometric, Erdős–Rényi): their cost grows with the square.
pub const MAX_PAIRWISE_NODES: usize = 10_000;
/// SONET's promise: traffic flows around the ring within 50 ms of a cut.
pub const MAX_SWITCH_TIME: Duration = Duration::from_millis(50);

/// Mixed into the scenario seed for the topology's random stream ("topo").
const TOPOLOGY_STREAM: u64 = 0x746f_706f;

/// Members of `topology` that every generator takes.
const COMMON_KEYS: &[&str] = &["generator", "link", "overrides"];

const GENERATORS: &str = "chain, ring, grid, star, full_mesh, geometric, wifi_chain, \
                          erdos_renyi, barabasi_albert, sonet_ring, import, hosts";

/// A two-way link with the same parameters both ways.
pub(crate) fn two_way(a: usize, b: usize, link: &ChannelParams, medium: Medium) -> LinkSpec {
    LinkSpec {
        a,
        b,
        ab: link.clone(),
        ba: Some(link.clone()),
        medium,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesParams {
    nodes: usize,
}

/// `hosts`: nodes and no links (an overlay's hosts: their links are the
/// tunnels they open over the underlay), optionally placed at random in
/// an area (metres) so the underlay's `latency_per_km` applies.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostsParams {
    nodes: usize,
    area: Option<[f64; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridParams {
    rows: usize,
    cols: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErdosRenyiParams {
    nodes: usize,
    p: Prob,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BarabasiAlbertParams {
    nodes: usize,
    m: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeometricParams {
    nodes: usize,
    area: [f64; 2],
    radio_range: f64,
    interference_range: Option<f64>,
    loss_near: Option<Prob>,
    loss_at_range: Option<Prob>,
    rts_cts: Option<bool>,
    connected: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WifiChainParams {
    nodes: usize,
    spacing: f64,
    radio_range: f64,
    interference_range: Option<f64>,
    loss_near: Option<Prob>,
    loss_at_range: Option<Prob>,
    rts_cts: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SonetParams {
    cities: usize,
    access_per_city: Option<usize>,
    ring_link: Option<LinkParamsSpec>,
    access_link: Option<LinkParamsSpec>,
    switch_time: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    file: String,
    format: Option<ImportFormat>,
    /// GML: several edges between the same two nodes.
    #[serde(default)]
    parallel: gml::Parallel,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ImportFormat {
    Gml,
    Graphml,
    Json,
}

/// Builds the network of the `topology` section `value` of `doc`.
pub(crate) fn build(
    doc: Doc<'_>,
    value: &Value,
    seed: u64,
    base_dir: &Path,
) -> Result<Network, ScenarioError> {
    let (common, rest) = crate::scenario::split_object(doc, value, "topology", COMMON_KEYS)?;
    let generator = match common.get("generator") {
        Some(Value::String(g)) => g.clone(),
        Some(_) => {
            return Err(doc.error(
                "topology.generator",
                format!("expected a generator name (one of {GENERATORS})"),
            ));
        }
        None => {
            return Err(doc.error(
                "topology",
                format!("missing field `generator` (one of {GENERATORS})"),
            ));
        }
    };
    let link: LinkParamsSpec = match common.get("link") {
        Some(v) => doc.deserialize(v, "topology.link")?,
        None => LinkParamsSpec::default(),
    };
    let base = LinkParamsSpec::merge(&[&link]);
    let rest = Value::Object(rest);
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ TOPOLOGY_STREAM);
    let g = generator.as_str();
    let net = match g {
        "chain" | "ring" | "star" | "full_mesh" => {
            let p: NodesParams = params(doc, &rest, g)?;
            let min = match g {
                "ring" => 3,
                "full_mesh" => 1,
                _ => 2,
            };
            let n = count(doc, "topology.nodes", p.nodes, min, MAX_NODES)?;
            match g {
                "chain" => generators::chain(n, &base),
                "ring" => generators::ring(n, &base),
                "star" => generators::star(n, &base),
                _ => {
                    if n * (n - 1) / 2 > MAX_LINKS {
                        return Err(doc.error(
                            "topology.nodes",
                            format!("a full mesh of {n} nodes has more than {MAX_LINKS} links"),
                        ));
                    }
                    generators::full_mesh(n, &base)
                }
            }
        }
        "grid" => {
            let p: GridParams = params(doc, &rest, g)?;
            let rows = count(doc, "topology.rows", p.rows, 1, MAX_NODES)?;
            let cols = count(doc, "topology.cols", p.cols, 1, MAX_NODES)?;
            let n = rows.saturating_mul(cols);
            if n > MAX_NODES {
                return Err(doc.error(
                    "topology",
                    format!("a {rows} x {cols} grid has more than {MAX_NODES} nodes"),
                ));
            }
            generators::grid(rows, cols, &base)
        }
        "erdos_renyi" => {
            let p: ErdosRenyiParams = params(doc, &rest, g)?;
            let n = count(doc, "topology.nodes", p.nodes, 1, MAX_PAIRWISE_NODES)?;
            generators::erdos_renyi(n, p.p.0, &base, &mut rng)
                .map_err(|e| doc.error("topology", e))?
        }
        "barabasi_albert" => {
            let p: BarabasiAlbertParams = params(doc, &rest, g)?;
            let m = count(doc, "topology.m", p.m, 1, MAX_NODES - 1)?;
            let n = count(doc, "topology.nodes", p.nodes, m + 1, MAX_NODES)?;
            if n.saturating_mul(m) > MAX_LINKS {
                return Err(doc.error("topology", format!("more than {MAX_LINKS} links")));
            }
            generators::barabasi_albert(n, m, &base, &mut rng)
        }
        "geometric" => {
            let p: GeometricParams = params(doc, &rest, g)?;
            let geo = geometric_params(doc, p)?;
            generators::geometric(&geo, &base, &mut rng).map_err(|e| doc.error("topology", e))?
        }
        "wifi_chain" => {
            let p: WifiChainParams = params(doc, &rest, g)?;
            let n = count(doc, "topology.nodes", p.nodes, 2, MAX_PAIRWISE_NODES)?;
            let spacing = metres(doc, "topology.spacing", p.spacing)?;
            let wifi = wifi_spec(
                doc,
                p.radio_range,
                p.interference_range,
                p.loss_near,
                p.loss_at_range,
                p.rts_cts,
            )?;
            if spacing > wifi.radio_range {
                return Err(doc.error(
                    "topology.spacing",
                    format!(
                        "{spacing} m is beyond radio_range ({} m): the chain would not be connected",
                        wifi.radio_range
                    ),
                ));
            }
            generators::wifi_chain(n, spacing, &wifi, &base)
        }
        "hosts" => {
            let p: HostsParams = params(doc, &rest, g)?;
            let n = count(doc, "topology.nodes", p.nodes, 2, MAX_NODES)?;
            let mut net = generators::hosts(n);
            if let Some(area) = p.area {
                if !area.iter().all(|x| x.is_finite() && *x > 0.0) {
                    return Err(
                        doc.error("topology.area", "width and height must be positive metres")
                    );
                }
                for node in &mut net.nodes {
                    let x = rand::RngExt::random::<f64>(&mut rng) * area[0];
                    let y = rand::RngExt::random::<f64>(&mut rng) * area[1];
                    node.position = Some([x, y]);
                }
            }
            net
        }
        "sonet_ring" => sonet(doc, params(doc, &rest, g)?, &link)?,
        "import" => import(doc, params(doc, &rest, g)?, &link, base_dir)?,
        other => {
            return Err(doc.error(
                "topology.generator",
                format!("unknown generator \"{other}\" (expected one of {GENERATORS})"),
            ));
        }
    };
    let overrides = common.get("overrides").unwrap_or(&Value::Null);
    overrides::apply(doc, overrides, net)
}

/// Reads a generator's own parameters (the members besides `generator`,
/// `link` and `overrides`).
fn params<T: DeserializeOwned>(
    doc: Doc<'_>,
    rest: &Value,
    generator: &str,
) -> Result<T, ScenarioError> {
    doc.deserialize(rest, "topology").map_err(|mut e| {
        if e.message.starts_with("unknown field") {
            e.message = format!(
                "{} (for the {generator} generator; every topology also takes generator, link, overrides)",
                e.message
            );
        }
        e
    })
}

/// Checks that a count is in `[min, max]`.
fn count(
    doc: Doc<'_>,
    path: &str,
    n: usize,
    min: usize,
    max: usize,
) -> Result<usize, ScenarioError> {
    if n < min {
        return Err(doc.error(path, format!("must be at least {min}")));
    }
    if n > max {
        return Err(doc.error(path, format!("must be at most {max}")));
    }
    Ok(n)
}

/// Checks a length in metres: positive and finite.
fn metres(doc: Doc<'_>, path: &str, v: f64) -> Result<f64, ScenarioError> {
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(doc.error(path, format!("{v} is not a positive number of metres")))
    }
}

/// The radio medium's parameters, checked, with their defaults.
fn wifi_spec(
    doc: Doc<'_>,
    radio_range: f64,
    interference_range: Option<f64>,
    loss_near: Option<Prob>,
    loss_at_range: Option<Prob>,
    rts_cts: Option<bool>,
) -> Result<WifiSpec, ScenarioError> {
    let radio_range = metres(doc, "topology.radio_range", radio_range)?;
    let interference_range = match interference_range {
        Some(r) if metres(doc, "topology.interference_range", r)? < radio_range => {
            return Err(doc.error(
                "topology.interference_range",
                "must be at least radio_range (a frame that can be received interferes)",
            ));
        }
        Some(r) => r,
        None => 2.0 * radio_range,
    };
    let loss_near = loss_near.unwrap_or(Prob(0.0)).0;
    let loss_at_range = loss_at_range.unwrap_or(Prob(0.3)).0;
    if loss_near > loss_at_range {
        return Err(doc.error(
            "topology.loss_near",
            format!("loss grows with distance: loss_near must not exceed loss_at_range ({loss_at_range})"),
        ));
    }
    Ok(WifiSpec {
        radio_range,
        interference_range,
        loss_near,
        loss_at_range,
        rts_cts: rts_cts.unwrap_or(false),
    })
}

fn geometric_params(doc: Doc<'_>, p: GeometricParams) -> Result<Geometric, ScenarioError> {
    let nodes = count(doc, "topology.nodes", p.nodes, 1, MAX_PAIRWISE_NODES)?;
    let area = [
        metres(doc, "topology.area[0]", p.area[0])?,
        metres(doc, "topology.area[1]", p.area[1])?,
    ];
    let wifi = wifi_spec(
        doc,
        p.radio_range,
        p.interference_range,
        p.loss_near,
        p.loss_at_range,
        p.rts_cts,
    )?;
    Ok(Geometric {
        nodes,
        area,
        wifi,
        connected: p.connected.unwrap_or(true),
    })
}

fn sonet(doc: Doc<'_>, p: SonetParams, link: &LinkParamsSpec) -> Result<Network, ScenarioError> {
    let cities = count(doc, "topology.cities", p.cities, 3, MAX_NODES)?;
    let access = count(
        doc,
        "topology.access_per_city",
        p.access_per_city.unwrap_or(0),
        0,
        MAX_NODES,
    )?;
    if cities.saturating_mul(access + 1) > MAX_NODES {
        return Err(doc.error("topology", format!("more than {MAX_NODES} nodes")));
    }
    let switch_time = p.switch_time.map_or(Duration::from_millis(30), |d| d.0);
    if switch_time > MAX_SWITCH_TIME {
        return Err(doc.error(
            "topology.switch_time",
            "SONET protection switching completes within 50ms; use at most \"50ms\"",
        ));
    }
    let span_defaults = LinkParamsSpec::speed(10_000_000_000, Duration::from_millis(1));
    let access_defaults = LinkParamsSpec::speed(1_000_000_000, Duration::from_micros(500));
    let none = LinkParamsSpec::default();
    let span =
        LinkParamsSpec::merge(&[&span_defaults, link, p.ring_link.as_ref().unwrap_or(&none)]);
    let access_link = LinkParamsSpec::merge(&[
        &access_defaults,
        link,
        p.access_link.as_ref().unwrap_or(&none),
    ]);
    Ok(generators::sonet_ring(
        cities,
        access,
        &span,
        &access_link,
        switch_time,
    ))
}

fn import(
    doc: Doc<'_>,
    p: ImportParams,
    link: &LinkParamsSpec,
    base_dir: &Path,
) -> Result<Network, ScenarioError> {
    let path = base_dir.join(&p.file);
    let format = match p.format {
        Some(f) => f,
        None => match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gml") => ImportFormat::Gml,
            Some(e) if e.eq_ignore_ascii_case("graphml") => ImportFormat::Graphml,
            Some(e) if e.eq_ignore_ascii_case("json") => ImportFormat::Json,
            _ => {
                return Err(doc.error(
                    "topology.file",
                    "cannot tell the format from the extension: name it .gml, .graphml or .json, or set \"format\"",
                ));
            }
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        doc.error(
            "topology.file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let file_doc = Doc {
        text: &text,
        file: Some(&path),
    };
    match format {
        ImportFormat::Gml => gml::import(file_doc, link, p.parallel),
        ImportFormat::Graphml => graphml::import(file_doc, link, p.parallel),
        ImportFormat::Json => json_import::import(file_doc, link),
    }
}
