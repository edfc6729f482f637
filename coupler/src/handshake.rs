//! What the ranks tell each other at init and enddef, and the checks every rank makes of
//! it. Every rank gathers the same data and runs the same checks, so a problem is reported
//! alike on every rank and every rank stops: there is no rank left waiting.

use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;

use crate::component::{Component, FieldDef};
use crate::config::{Boundary, CouplingConfig, Exchange, GridPoint};
use crate::routes::{check_tiling, Region};
use crate::transport::allgather;

/// Longest component name, in bytes.
pub const NAME_LEN: usize = 64;

/// Groups world ranks by name, components ordered by their first rank.
pub fn components_of(names: &[String]) -> Vec<Component> {
    let mut components: Vec<Component> = Vec::new();
    for (rank, name) in names.iter().enumerate() {
        match components.iter_mut().find(|c| &c.name == name) {
            Some(c) => c.world_ranks.push(rank as i32),
            None => components.push(Component {
                name: name.clone(),
                world_ranks: vec![rank as i32],
            }),
        }
    }
    components
}

/// Every component of the configuration was launched, and every launched one is in it.
pub fn check_components(launched: &[Component], config: &CouplingConfig) -> Result<(), String> {
    let expected = config.components();
    let list = launched
        .iter()
        .map(|c| format!("'{}' ×{}", c.name, c.world_ranks.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut problems = Vec::new();
    for name in &expected {
        if !launched.iter().any(|c| &c.name == name) {
            problems.push(format!(
                "component '{name}' is named in [coupling] but was not launched (launched: {list}); \
                 start every component in one MPMD launch, e.g. mpiexec -n 2 ocean-model --config X : -n 1 ml-server --config X{}",
                crate::launcher::slurm_singleton_hint(launched.iter().map(|c| c.world_ranks.len()).sum())
            ));
        }
    }
    for c in launched {
        if c.name.len() >= NAME_LEN {
            problems.push(format!(
                "component name '{}' is longer than {} bytes",
                c.name,
                NAME_LEN - 1
            ));
        } else if !expected.contains(&c.name) {
            problems.push(format!(
                "component '{}' was launched but takes part in no exchange of [coupling] (components there: {})",
                c.name,
                expected.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// Gathers every rank's canonical configuration text.
pub fn gather_texts(
    world: &SimpleCommunicator,
    text: &str,
    deadline: Instant,
) -> Result<Vec<String>, Duration> {
    let lengths = allgather(&[text.len() as u64], world, deadline)?;
    let longest = lengths.iter().copied().max().unwrap_or(0) as usize;
    let mut mine = vec![0u8; longest];
    mine[..text.len()].copy_from_slice(text.as_bytes());
    let all = allgather(&mine, world, deadline)?;
    Ok(all
        .chunks(longest.max(1))
        .zip(&lengths)
        .map(|(c, &n)| String::from_utf8_lossy(&c[..n as usize]).into_owned())
        .collect())
}

/// All components read the same `[coupling]` table; else names the first item that differs.
pub fn check_same_config(components: &[Component], texts: &[String]) -> Result<(), String> {
    let leader = |c: &Component| &texts[c.world_ranks[0] as usize];
    let first = &components[0];
    for c in &components[1..] {
        for &r in &c.world_ranks {
            if texts[r as usize] != *leader(first) {
                let a: serde_json::Value = serde_json::from_str(leader(first)).unwrap_or_default();
                let b: serde_json::Value =
                    serde_json::from_str(&texts[r as usize]).unwrap_or_default();
                let (key, va, vb) = first_difference(&a, &b, "coupling")
                    .unwrap_or_else(|| ("coupling".into(), "?".into(), "?".into()));
                return Err(format!(
                    "the components read different coupling configurations: {key} is {va} for '{}' \
                     but {vb} for '{}' (world rank {r}); launch every component with the same --config file",
                    first.name, c.name
                ));
            }
        }
    }
    Ok(())
}

fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    let key_name = |k: &str| match k {
        "exchanges" => "exchange".to_string(),
        "timeout_s" => "timeout".to_string(),
        "run_duration_s" => "run.duration".to_string(),
        "lag_s" => "lag".to_string(),
        "point" => "grid".to_string(),
        other => other.to_string(),
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let sub = format!("{path}.{}", key_name(k));
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &sub) {
                            return Some(d);
                        }
                    }
                    None => return Some((sub, va.to_string(), "absent".into())),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]"))),
        (Value::Array(x), Value::Array(y)) => Some((
            format!("{path} (count)"),
            x.len().to_string(),
            y.len().to_string(),
        )),
        _ if a == b => None,
        _ => Some((
            path.replace("coupling.run.duration", "run.duration"),
            a.to_string(),
            b.to_string(),
        )),
    }
}

/// Values per exchange in a rank's enddef record: defined, i0, j0, ni, nj, levels, point.
const RECORD: usize = 7;

/// This rank's record for every exchange: its box of the field at its end, if any.
pub fn encode_fields(
    config: &CouplingConfig,
    component: &str,
    fields: &[(String, FieldDef)],
) -> Vec<i64> {
    let mut out = vec![0i64; RECORD * config.exchanges.len()];
    for (e, ex) in config.exchanges.iter().enumerate() {
        let name = if ex.src.component == component {
            &ex.src.field
        } else if ex.dst.component == component {
            &ex.dst.field
        } else {
            continue;
        };
        if let Some((_, d)) = fields.iter().find(|(n, _)| n == name) {
            let r = d.region;
            let point = match d.point {
                GridPoint::T => 0,
                GridPoint::U => 1,
                GridPoint::V => 2,
            };
            out[RECORD * e..RECORD * (e + 1)].copy_from_slice(&[
                1,
                r.i0 as i64,
                r.j0 as i64,
                r.ni as i64,
                r.nj as i64,
                d.levels as i64,
                point,
            ]);
        }
    }
    out
}

/// Per world rank, per exchange: the box, levels and point declared, if any.
pub fn decode_fields(
    all: &[i64],
    n_exchanges: usize,
) -> Vec<Vec<Option<(Region, usize, GridPoint)>>> {
    all.chunks(RECORD * n_exchanges.max(1))
        .map(|rank| {
            rank.chunks(RECORD)
                .map(|r| {
                    (r[0] == 1).then(|| {
                        let region = Region {
                            i0: r[1] as usize,
                            j0: r[2] as usize,
                            ni: r[3] as usize,
                            nj: r[4] as usize,
                        };
                        let point = match r[6] {
                            0 => GridPoint::T,
                            1 => GridPoint::U,
                            _ => GridPoint::V,
                        };
                        (region, r[5] as usize, point)
                    })
                })
                .collect()
        })
        .collect()
}

/// What one rank declared for one exchange: its box, levels and grid point, if any.
pub type Declared = Option<(Region, usize, GridPoint)>;

/// The source boxes, the destination boxes and the grid size of a checked exchange.
pub type CheckedExchange = (Vec<Region>, Vec<Region>, (usize, usize));

/// Checks one exchange's declarations on both sides; returns the boxes and the grid size.
pub fn check_exchange(
    grid: Option<(usize, usize)>,
    ex: &Exchange,
    src: &[Declared],
    dst: &[Declared],
    problems: &mut Vec<String>,
) -> Option<CheckedExchange> {
    let before = problems.len();
    let mut side = |decls: &[Declared], end: &crate::config::Endpoint| -> Vec<Region> {
        let mut boxes = Vec::new();
        for (rank, d) in decls.iter().enumerate() {
            match d {
                None => problems.push(format!(
                    "{}: rank {rank} of '{}' did not define field '{}' before enddef()",
                    ex.key(),
                    end.component,
                    end.field
                )),
                Some((region, levels, point)) => {
                    if *levels != ex.levels {
                        problems.push(format!(
                            "{}: field {end} has {levels} levels on rank {rank} of '{}', but {}.levels = {}",
                            ex.key(),
                            end.component,
                            ex.key(),
                            ex.levels
                        ));
                    }
                    if *point != ex.point {
                        problems.push(format!(
                            "{}: field {end} is on {point:?} points on rank {rank} of '{}', but {}.grid = \"{:?}\"",
                            ex.key(),
                            end.component,
                            ex.key(),
                            ex.point
                        ));
                    }
                    boxes.push(*region);
                }
            }
        }
        boxes
    };
    let src_boxes = side(src, &ex.src);
    let dst_boxes = side(dst, &ex.dst);
    if problems.len() > before {
        return None;
    }
    let size = match (check_tiling(&src_boxes), check_tiling(&dst_boxes)) {
        (Ok(a), Ok(b)) if a == b => a,
        (Ok(a), Ok(b)) => {
            problems.push(format!(
                "{}: the boxes of {} tile a {}×{} grid but those of {} tile {}×{}",
                ex.key(),
                ex.src,
                a.0,
                a.1,
                ex.dst,
                b.0,
                b.1
            ));
            return None;
        }
        (Err(e), _) => {
            problems.push(format!(
                "{}: the boxes of {} do not tile the grid: {e}",
                ex.key(),
                ex.src
            ));
            return None;
        }
        (_, Err(e)) => {
            problems.push(format!(
                "{}: the boxes of {} do not tile the grid: {e}",
                ex.key(),
                ex.dst
            ));
            return None;
        }
    };
    if let Some(g) = grid.filter(|&g| g != size) {
        problems.push(format!(
            "{}: the boxes of {} and {} tile a {}×{} grid, but coupling.grid = [{}, {}]",
            ex.key(),
            ex.src,
            ex.dst,
            size.0,
            size.1,
            g.0,
            g.1
        ));
        return None;
    }
    for (axis, n) in [("x", size.0), ("y", size.1)] {
        let edge = ex.boundary[if axis == "x" { 0 } else { 1 }];
        if edge == Boundary::Cyclic && ex.halo > n {
            problems.push(format!(
                "{}: halo {} is wider than the {n}-cell grid along the cyclic {axis} axis",
                ex.key(),
                ex.halo
            ));
            return None;
        }
    }
    Some((src_boxes, dst_boxes, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> CouplingConfig {
        CouplingConfig::from_toml(text, 86400.0).unwrap()
    }

    const TWO: &str = r#"
        [[exchange]]
        from = "ocean.u"
        to = "ml.u"
        grid = "U"
        period = "6h"
        [[exchange]]
        from = "ml.sx"
        to = "ocean.sx"
        grid = "U"
        period = "6h"
    "#;

    #[test]
    fn components_group_ranks_in_launch_order() {
        let names: Vec<String> = ["ml", "ocean", "ocean", "ml"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let comps = components_of(&names);
        assert_eq!(
            comps[0],
            Component {
                name: "ml".into(),
                world_ranks: vec![0, 3]
            }
        );
        assert_eq!(
            comps[1],
            Component {
                name: "ocean".into(),
                world_ranks: vec![1, 2]
            }
        );
    }

    #[test]
    fn a_missing_component_is_named() {
        let launched = components_of(&["ocean".to_string(), "ocean".to_string()]);
        let err = check_components(&launched, &config(TWO)).unwrap_err();
        assert!(
            err.contains(
                "component 'ml' is named in [coupling] but was not launched (launched: 'ocean' ×2)"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_different_config_names_the_item() {
        let a = config(TWO);
        let b = config(&TWO.replacen("period = \"6h\"", "period = \"3h\"", 1));
        let comps = components_of(&["ocean".to_string(), "ml".to_string()]);
        let err = check_same_config(&comps, &[a.canonical(), b.canonical()]).unwrap_err();
        assert!(err.contains("coupling.exchange[0].period"), "{err}");
        assert!(err.contains("21600"), "{err}");
        assert!(err.contains("10800"), "{err}");
    }

    #[test]
    fn records_round_trip_and_checks_name_the_rank() {
        let cfg = config(TWO);
        let def = |j0, nj| FieldDef {
            region: Region {
                i0: 0,
                j0,
                ni: 8,
                nj,
            },
            levels: 1,
            point: GridPoint::U,
        };
        let ocean0 = encode_fields(
            &cfg,
            "ocean",
            &[("u".into(), def(0, 4)), ("sx".into(), def(0, 4))],
        );
        let ocean1 = encode_fields(&cfg, "ocean", &[("u".into(), def(4, 4))]);
        let ml0 = encode_fields(
            &cfg,
            "ml",
            &[("u".into(), def(0, 8)), ("sx".into(), def(0, 8))],
        );
        let all: Vec<i64> = [ocean0, ocean1, ml0].concat();
        let decl = decode_fields(&all, 2);
        let ex0 = &cfg.exchanges[0];
        let mut problems = Vec::new();
        let ok = check_exchange(
            None,
            ex0,
            &[decl[0][0], decl[1][0]],
            &[decl[2][0]],
            &mut problems,
        );
        assert_eq!(ok.map(|(_, _, size)| size), Some((8, 8)));
        let ex1 = &cfg.exchanges[1];
        assert!(check_exchange(
            None,
            ex1,
            &[decl[2][1]],
            &[decl[0][1], decl[1][1]],
            &mut problems
        )
        .is_none());
        assert_eq!(problems.len(), 1);
        let mut grid_problems = Vec::new();
        assert!(check_exchange(
            Some((8, 9)),
            ex0,
            &[decl[0][0], decl[1][0]],
            &[decl[2][0]],
            &mut grid_problems
        )
        .is_none());
        assert!(
            grid_problems[0].contains("tile a 8×8 grid, but coupling.grid = [8, 9]"),
            "{}",
            grid_problems[0]
        );
        assert!(
            problems[0].contains("rank 1 of 'ocean' did not define field 'sx'"),
            "{}",
            problems[0]
        );
    }
}
