//! VRM node constraints (`VRMC_node_constraint` on a node's `extensions`): roll, aim and
//! rotation constraints read into [`NodeConstraint`]s with every index checked and sorted so
//! that each comes after the constraints it depends on. Constraints that form (or depend on) a
//! circular dependency are left out, as the specification asks, with one warning.

use crate::gltf;
use facecast_core::model::{ConstraintKind, Node, NodeConstraint};
use serde_json::Value;

/// At most this many constraints are read (an avatar has a few dozen twist bones at most).
const MAX_CONSTRAINTS: usize = 1024;
/// Aim constraints whose source or parent is deeper than this in the hierarchy are left out
/// (their paths from the root are refreshed every frame; a real skeleton is < 100 deep).
const MAX_DEPTH: usize = 256;

/// What went wrong while reading, counted for one warning.
#[derive(Default)]
struct Problems {
    bad_nodes: usize,
    self_source: usize,
    malformed: usize,
    circular: usize,
    too_deep: usize,
    over_limit: usize,
}

/// The constraint of one node's `VRMC_node_constraint` extension, or why there is none.
fn parse(node: u32, ext: &Value, n_nodes: usize, p: &mut Problems) -> Option<NodeConstraint> {
    let Some(c) = ext.get("constraint") else {
        p.malformed += 1;
        return None;
    };
    let found: Vec<(&str, &Value)> = ["roll", "aim", "rotation"]
        .into_iter()
        .filter_map(|k| c.get(k).map(|v| (k, v)))
        .collect();
    let [(key, body)] = found[..] else {
        p.malformed += 1;
        return None;
    };
    let source = match body.get("source").and_then(Value::as_u64) {
        Some(s) if (s as usize) < n_nodes => s as u32,
        _ => {
            p.bad_nodes += 1;
            return None;
        }
    };
    if source == node {
        p.self_source += 1;
        return None;
    }
    let weight = match body.get("weight").map(Value::as_f64) {
        None => 1.0,
        Some(Some(w)) if w.is_finite() => (w as f32).clamp(0.0, 1.0),
        Some(_) => {
            p.malformed += 1;
            return None;
        }
    };
    let axis_name = |k: &str| body.get(k).and_then(Value::as_str);
    let kind = match key {
        "roll" => match axis_name("rollAxis") {
            Some("X") => ConstraintKind::Roll { axis: 0 },
            Some("Y") => ConstraintKind::Roll { axis: 1 },
            Some("Z") => ConstraintKind::Roll { axis: 2 },
            _ => {
                p.malformed += 1;
                return None;
            }
        },
        "aim" => {
            let axis = match axis_name("aimAxis") {
                Some("PositiveX") => [1.0, 0.0, 0.0],
                Some("NegativeX") => [-1.0, 0.0, 0.0],
                Some("PositiveY") => [0.0, 1.0, 0.0],
                Some("NegativeY") => [0.0, -1.0, 0.0],
                Some("PositiveZ") => [0.0, 0.0, 1.0],
                Some("NegativeZ") => [0.0, 0.0, -1.0],
                _ => {
                    p.malformed += 1;
                    return None;
                }
            };
            ConstraintKind::Aim { axis }
        }
        _ => ConstraintKind::Rotation,
    };
    Some(NodeConstraint {
        node,
        source,
        weight,
        kind,
    })
}

/// Node `n` and its ancestors (a bounded walk: parent loops end it).
fn lineage(nodes: &[Node], n: u32) -> impl Iterator<Item = u32> + '_ {
    let mut cur = Some(n);
    let mut steps = 0usize;
    std::iter::from_fn(move || {
        let c = cur?;
        steps += 1;
        cur = nodes[c as usize]
            .parent
            .filter(|&p| (p as usize) < nodes.len() && p != c && steps < nodes.len());
        Some(c)
    })
}

/// Read the node constraints (`nodes`: the avatar's nodes, indexed as the file's), in
/// evaluation order.
pub(crate) fn read(
    root: &gltf::Root,
    nodes: &[Node],
    warnings: &mut Vec<String>,
) -> Vec<NodeConstraint> {
    let mut p = Problems::default();
    let mut cons: Vec<NodeConstraint> = root
        .nodes
        .iter()
        .enumerate()
        .take(nodes.len())
        .filter_map(|(i, n)| {
            let ext = n.extensions.as_ref()?.get("VRMC_node_constraint")?;
            parse(i as u32, ext, nodes.len(), &mut p)
        })
        .collect();
    if cons.len() > MAX_CONSTRAINTS {
        p.over_limit = cons.len() - MAX_CONSTRAINTS;
        cons.truncate(MAX_CONSTRAINTS);
    }
    let before = cons.len();
    cons.retain(|c| match c.kind {
        ConstraintKind::Aim { .. } => {
            let above = nodes[c.node as usize].parent.unwrap_or(c.node);
            [c.source, above]
                .iter()
                .all(|&n| (n as usize) >= nodes.len() || lineage(nodes, n).nth(MAX_DEPTH).is_none())
        }
        _ => true,
    });
    p.too_deep = before - cons.len();
    // Which constraint moves each node (one per node: the extension sits on the node).
    let mut by_node = vec![usize::MAX; nodes.len()];
    for (k, c) in cons.iter().enumerate() {
        by_node[c.node as usize] = k;
    }
    // Dependencies: a roll or rotation constraint reads its source's local rotation; an aim
    // constraint reads where its source is and how its parent is turned in the world, so it
    // depends on every constraint above either.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); cons.len()];
    let mut pending = vec![0usize; cons.len()];
    for (k, c) in cons.iter().enumerate() {
        let mut deps: Vec<usize> = match c.kind {
            ConstraintKind::Aim { .. } => {
                let above = nodes[c.node as usize]
                    .parent
                    .filter(|&q| (q as usize) < nodes.len());
                lineage(nodes, c.source)
                    .chain(above.into_iter().flat_map(|q| lineage(nodes, q)))
                    .map(|n| by_node[n as usize])
                    .filter(|&d| d != usize::MAX)
                    .collect()
            }
            _ => Some(by_node[c.source as usize])
                .filter(|&d| d != usize::MAX)
                .into_iter()
                .collect(),
        };
        deps.sort_unstable();
        deps.dedup();
        pending[k] = deps.len();
        for d in deps {
            dependents[d].push(k);
        }
    }
    // Kahn's order, lowest node first among the ready ones; what never becomes ready is in a
    // cycle or waits on one.
    let mut ready: std::collections::BTreeSet<usize> =
        (0..cons.len()).filter(|&k| pending[k] == 0).collect();
    let mut order = Vec::with_capacity(cons.len());
    while let Some(k) = ready.pop_first() {
        order.push(k);
        for &d in &dependents[k] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.insert(d);
            }
        }
    }
    p.circular = cons.len() - order.len();
    let mut slots: Vec<Option<NodeConstraint>> = cons.drain(..).map(Some).collect();
    let out: Vec<NodeConstraint> = order.iter().filter_map(|&k| slots[k].take()).collect();
    crate::error::left_out(
        warnings,
        "node constraints",
        &[
            (p.bad_nodes, "name a source node that does not exist"),
            (p.self_source, "name their own node as the source"),
            (
                p.malformed,
                "have no single roll, aim or rotation constraint with a known axis and a numeric weight",
            ),
            (p.circular, "form or wait on a circular dependency"),
            (
                p.too_deep,
                "aim at or hang from a node more than 256 levels deep",
            ),
            (p.over_limit, "are over the reader's limit of 1024"),
        ],
    );
    out
}
