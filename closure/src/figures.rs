//! The figures of the closure's evaluation (docs/science.md), drawn with plotters; text
//! needs a TrueType font found at run time (see `eddylink_plot::font`), without one the
//! figures are drawn unlabelled.
//!
//! * `closure_ke.png`: basin-mean kinetic energy of the truth and each run against time;
//! * `closure_spectra.png`: their time-mean isotropic KE spectra, log-log;
//! * `closure_maps.png`: time-mean KE and η standard deviation, truth and each run;
//! * `closure_r2.png`: the offline R² map of the mean forcing (sx, sy) on held-out days.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Line colours of the runs, in order (the truth is black).
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(153, 0, 0),
];

fn text() -> bool {
    eddylink_plot::font::text_available()
}

fn colour(k: usize) -> RGBColor {
    if k == 0 {
        BLACK
    } else {
        COLOURS[(k - 1) % COLOURS.len()]
    }
}

/// Lines (name, points), the first drawn as the reference (black, thick).
pub fn lines(
    path: &Path,
    title: &str,
    (xlabel, ylabel): (&str, &str),
    curves: &[(String, Vec<(f64, f64)>)],
    log: bool,
) -> Result<()> {
    let pts = curves
        .iter()
        .flat_map(|c| c.1.iter().copied())
        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log || (p.0 > 0.0 && p.1 > 0.0)));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return Err(anyhow!("{}: nothing to draw", path.display()));
    }
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut b = ChartBuilder::on(&root);
    b.margin(20);
    if text() {
        b.caption(title, ("sans-serif", 24))
            .x_label_area_size(45)
            .y_label_area_size(80);
    }
    // One body for the linear and the log-log chart (their coordinate types differ).
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            if text() {
                chart
                    .configure_mesh()
                    .x_desc(xlabel)
                    .y_desc(ylabel)
                    .draw()?;
            } else {
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .disable_y_mesh()
                    .draw()?;
            }
            for (k, (name, p)) in curves.iter().enumerate() {
                let style = ShapeStyle::from(colour(k)).stroke_width(if k == 0 { 3 } else { 2 });
                let kept = p
                    .iter()
                    .copied()
                    .filter(|q| !log || (q.0 > 0.0 && q.1 > 0.0));
                let series = chart.draw_series(LineSeries::new(kept, style))?;
                if text() {
                    series
                        .label(name.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                }
            }
            if text() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()?;
            }
        }};
    }
    if log {
        draw!(b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1 * 1.2).log_scale())?);
    } else {
        let pad = 0.05 * (y1 - y0).max(1e-30);
        draw!(b.build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?);
    }
    root.present()?;
    Ok(())
}

/// A map: `values[j * nx + i]`, NaN left white.
pub struct Map<'a> {
    pub title: String,
    pub nx: usize,
    pub ny: usize,
    pub values: &'a [f64],
}

/// Sequential (light yellow → dark blue) or diverging (blue → white → red) colours.
fn shade(s: f64, diverging: bool) -> RGBColor {
    let s = s.clamp(0.0, 1.0);
    let stops: &[(u8, u8, u8)] = if diverging {
        &[
            (33, 102, 172),
            (146, 197, 222),
            (247, 247, 247),
            (244, 165, 130),
            (178, 24, 43),
        ]
    } else {
        &[
            (255, 255, 217),
            (161, 218, 180),
            (65, 182, 196),
            (34, 94, 168),
            (8, 29, 88),
        ]
    };
    let pos = s * (stops.len() - 1) as f64;
    let k = (pos.floor() as usize).min(stops.len() - 2);
    let w = pos - k as f64;
    let mix = |a: u8, b: u8| (a as f64 + w * (b as f64 - a as f64)).round() as u8;
    let (a, b) = (stops[k], stops[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Rows of maps; each row shares its colour limits (`lo..hi`, diverging or not).
pub fn map_grid(path: &Path, title: &str, rows: &[(Vec<Map>, f64, f64, bool)]) -> Result<()> {
    let cols = rows.iter().map(|r| r.0.len()).max().unwrap_or(1);
    let cell = 260u32;
    let header = if text() { 40 } else { 0 };
    let root = BitMapBackend::new(
        path,
        (
            cell * cols as u32 + 20,
            cell * rows.len() as u32 + header + 20,
        ),
    )
    .into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(header);
    if text() {
        top.titled(title, ("sans-serif", 24))?;
    }
    let panels = body.split_evenly((rows.len(), cols));
    for (r, (maps, lo, hi, diverging)) in rows.iter().enumerate() {
        for (c, m) in maps.iter().enumerate() {
            panel(&panels[r * cols + c], m, *lo, *hi, *diverging)?;
        }
    }
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<BitMapBackend, Shift>,
    m: &Map,
    lo: f64,
    hi: f64,
    diverging: bool,
) -> Result<()> {
    let mut b = ChartBuilder::on(area);
    b.margin(6);
    if text() {
        b.caption(&m.title, ("sans-serif", 15));
    }
    let mut chart = b.build_cartesian_2d(0.0..m.nx as f64, 0.0..m.ny as f64)?;
    let span = (hi - lo).max(1e-300);
    chart.draw_series(
        (0..m.ny)
            .flat_map(|j| (0..m.nx).map(move |i| (i, j)))
            .filter_map(|(i, j)| {
                let v = m.values[j * m.nx + i];
                v.is_finite().then(|| {
                    Rectangle::new(
                        [(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)],
                        shade((v - lo) / span, diverging).filled(),
                    )
                })
            }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_written_and_not_blank() {
        let dir = std::env::temp_dir().join(format!("closure-fig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let curve = |a: f64| {
            (1..50)
                .map(|k| (k as f64, a * (k as f64).powf(-3.0)))
                .collect::<Vec<_>>()
        };
        let p = dir.join("lines.png");
        lines(
            &p,
            "t",
            ("k", "E"),
            &[("truth".into(), curve(1.0)), ("run".into(), curve(2.0))],
            true,
        )
        .unwrap();
        let values: Vec<f64> = (0..64).map(|k| k as f64).collect();
        let q = dir.join("maps.png");
        let maps = vec![Map {
            title: "a".into(),
            nx: 8,
            ny: 8,
            values: &values,
        }];
        map_grid(&q, "m", &[(maps, 0.0, 63.0, false)]).unwrap();
        for f in [p, q] {
            let img = std::fs::read(&f).unwrap();
            assert!(img.len() > 1000, "{} is {} bytes", f.display(), img.len());
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
