//! The `underlay` section and the `tunnels` plan: the network between
//! nodes that tunnels cross, its path groups, and the tunnels the nodes
//! are asked to open.

use std::collections::BTreeSet;

use node_core::Duration;

use super::error::ScenarioError;
use super::resolve::Ctx;
use super::spec::{LinkParamsSpec, TunnelSpecRaw, UnderlaySpec};
use crate::model::{ChannelParams, PathGroup, TunnelPlan, Underlay};

/// Most path groups in a scenario.
const MAX_GROUPS: usize = 4096;

impl Ctx<'_> {
    pub(super) fn underlay(&self, u: &UnderlaySpec) -> Result<Underlay, ScenarioError> {
        // An Internet path unless the file says otherwise.
        let base = LinkParamsSpec::speed(100_000_000, Duration::from_millis(20));
        let path = LinkParamsSpec::merge(&[&base, &u.path]);
        let mut pairs: Vec<((usize, usize), ChannelParams)> = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, p) in u.pairs.iter().enumerate() {
            let at = format!("underlay.pairs[{i}].between");
            let [a, b] = p.between;
            self.node(&format!("{at}[0]"), a)?;
            self.node(&format!("{at}[1]"), b)?;
            if a == b {
                return Err(self.doc.error(&at, "a pair names two different nodes"));
            }
            let key = (a.min(b), a.max(b));
            if !seen.insert(key) {
                return Err(self
                    .doc
                    .error(&at, format!("the pair {a}, {b} is given twice")));
            }
            pairs.push((key, LinkParamsSpec::merge(&[&base, &u.path, &p.path])));
        }
        pairs.sort_by_key(|(k, _)| *k);
        let access = u.access.as_ref().map(|a| {
            // An access link serializes; its latency is the path's.
            let mut c = LinkParamsSpec::merge(&[
                &LinkParamsSpec::speed(path.bandwidth_bps, Duration::ZERO),
                a,
            ]);
            c.latency = Duration::ZERO;
            c
        });
        if u.groups.len() > MAX_GROUPS {
            return Err(self.doc.error(
                "underlay.groups",
                format!("at most {MAX_GROUPS} path groups"),
            ));
        }
        let mut groups: Vec<PathGroup> = Vec::new();
        for (i, g) in u.groups.iter().enumerate() {
            let at = format!("underlay.groups[{i}]");
            if g.name.is_empty() {
                return Err(self.doc.error(&format!("{at}.name"), "must not be empty"));
            }
            if let Some(j) = groups.iter().position(|o| o.name == g.name) {
                return Err(self.doc.error(
                    &format!("{at}.name"),
                    format!("\"{}\" is already the name of underlay.groups[{j}]", g.name),
                ));
            }
            let mut nodes: Option<Vec<usize>> = None;
            if let Some(list) = &g.nodes {
                if list.is_empty() {
                    return Err(self
                        .doc
                        .error(&format!("{at}.nodes"), "a group needs at least one node"));
                }
                let mut v = Vec::with_capacity(list.len());
                for (k, &n) in list.iter().enumerate() {
                    v.push(self.node(&format!("{at}.nodes[{k}]"), n)?);
                }
                nodes = Some(v);
            }
            if let Some([[x0, y0], [x1, y1]]) = g.area {
                if nodes.is_some() {
                    return Err(self.doc.error(
                        &format!("{at}.area"),
                        "a group names its nodes by `nodes` or by `area`, not both",
                    ));
                }
                let inside: Vec<usize> = self
                    .network
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| {
                        n.position.is_some_and(|[x, y]| {
                            x >= x0.min(x1) && x <= x0.max(x1) && y >= y0.min(y1) && y <= y0.max(y1)
                        })
                    })
                    .map(|(i, _)| i)
                    .collect();
                if inside.is_empty() {
                    return Err(self.doc.error(
                        &format!("{at}.area"),
                        "no node of the topology is placed in this area",
                    ));
                }
                nodes = Some(inside);
            }
            let max_latency = g.max_latency.map(|d| d.0);
            if g.crossing && nodes.is_none() {
                return Err(self.doc.error(
                    &format!("{at}.crossing"),
                    "`crossing` needs the group's `nodes` or `area`",
                ));
            }
            if nodes.is_none() && max_latency.is_none() {
                return Err(self.doc.error(
                    &at,
                    "a group needs `nodes`, `area` or `max_latency` (else it would be every path)",
                ));
            }
            if let Some(v) = nodes.as_mut() {
                v.sort_unstable();
                v.dedup();
            }
            groups.push(PathGroup {
                name: g.name.clone(),
                nodes,
                max_latency,
                crossing: g.crossing,
            });
        }
        let latency_per_km = u.latency_per_km.map(|d| d.0);
        if latency_per_km.is_some()
            && self
                .network
                .nodes
                .iter()
                .all(|n| n.position.is_none() && n.geo.is_none())
        {
            return Err(self.doc.error(
                "underlay.latency_per_km",
                "no node of this topology has a position (a geometric topology or an imported map with coordinates has)",
            ));
        }
        Ok(Underlay {
            path,
            pairs,
            access,
            latency_per_km,
            groups,
        })
    }

    /// The index of path group `name`.
    pub(super) fn path_group(
        &self,
        path: &str,
        name: &str,
        underlay: Option<&Underlay>,
    ) -> Result<usize, ScenarioError> {
        let Some(u) = underlay else {
            return Err(self.doc.error(
                path,
                "path groups are part of the underlay: the scenario needs an `underlay` section",
            ));
        };
        u.groups.iter().position(|g| g.name == name).ok_or_else(|| {
            let known: Vec<&str> = u.groups.iter().map(|g| g.name.as_str()).collect();
            self.doc.error(
                path,
                format!(
                    "no path group is named \"{name}\" (underlay.groups has: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
    }

    pub(super) fn tunnel(
        &self,
        i: usize,
        t: &TunnelSpecRaw,
        have_underlay: bool,
    ) -> Result<TunnelPlan, ScenarioError> {
        let path = format!("tunnels[{i}]");
        if !have_underlay {
            return Err(self.doc.error(
                &path,
                "tunnels cross the underlay: the scenario needs an `underlay` section",
            ));
        }
        let from = self.node(&format!("{path}.from"), t.from)?;
        let to = self.node(&format!("{path}.to"), t.to)?;
        if from == to {
            return Err(self
                .doc
                .error(&format!("{path}.to"), "a tunnel joins two different nodes"));
        }
        let at = t.at.map_or(Duration::ZERO, |d| d.0);
        self.within_run(&format!("{path}.at"), at)?;
        let close_at = t.close_at.map(|d| d.0);
        if let Some(c) = close_at {
            if c <= at {
                return Err(self.doc.error(
                    &format!("{path}.close_at"),
                    "a tunnel closes after it opens",
                ));
            }
            self.within_run(&format!("{path}.close_at"), c)?;
        }
        Ok(TunnelPlan {
            from,
            to,
            at,
            close_at,
        })
    }
}
