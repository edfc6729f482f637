//! PNG figures of an `analysis.nc` ([`draw`]), made by `ml-server plot RUN_DIR`:
//!
//! * `pod_modes.png`: the four leading POD modes (diverging colours, symmetric limits);
//! * `singular_values.png`: the singular-value spectrum (log scale);
//! * `ke_spectrum.png`: the time-mean isotropic KE spectrum, log-log, with a k⁻³ guide;
//! * `transfer_spectrum.png`: the u·S cospectrum (> 0: backscatter, < 0: dissipation);
//! * `eke.png`, `std.png`: the EKE map and the std maps of u and v.
//!
//! The colours and the font are `eddylink-plot`'s, as in the ocean's figures: text needs a
//! TrueType font (`$EDDYLINK_FONT`, else one found under the usual font folders, see
//! [`eddylink_plot::font`]); without one the figures have no text.

use std::path::{Path, PathBuf};

use netcdf3::FileReader;
use plotters::coord::Shift;
use plotters::prelude::*;

use eddylink_plot::draw::diverging;

use crate::AnalysisError;

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A map `values[j * nx + i]`.
struct Map {
    nx: usize,
    ny: usize,
    values: Vec<f64>,
}

/// Draws the figures of the `analysis.nc` at `analysis_nc` into `out_dir`; returns their paths.
pub fn draw(analysis_nc: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let err = |e: &dyn std::fmt::Debug| AnalysisError::file(analysis_nc, e);
    let mut r = FileReader::open(analysis_nc).map_err(|e| err(&e))?;
    let ds = r.data_set();
    let (nx, ny) = (ds.dim_size("x").unwrap_or(0), ds.dim_size("y").unwrap_or(0));
    let has: Vec<String> = ds.get_var_names();
    let mut read = |name: &str| -> Option<Vec<f64>> {
        has.iter()
            .any(|h| h == name)
            .then(|| r.read_var_f64(name).ok())
            .flatten()
    };
    std::fs::create_dir_all(out_dir).map_err(|e| AnalysisError::file(out_dir, e))?;
    let text = eddylink_plot::font::text_available();
    let mut written = Vec::new();
    let mut figure = |name: &str, size: (u32, u32), body: &dyn Fn(&Area) -> DrawResult| {
        let path = out_dir.join(name);
        let fail = |e: &dyn std::fmt::Display| AnalysisError::File {
            path: path.clone(),
            message: e.to_string(),
        };
        let root = BitMapBackend::new(&path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        body(&root).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
        written.push(path.clone());
        Ok::<(), AnalysisError>(())
    };
    let modes = read("modes").or_else(|| read("modes_u"));
    if let (Some(s), Some(modes)) = (read("singular_values"), modes) {
        let shown = s.len().min(4);
        let energy: f64 = s.iter().map(|x| x * x).sum();
        let maps: Vec<(Map, String)> = (0..shown)
            .map(|m| {
                let values = modes[m * nx * ny..(m + 1) * nx * ny].to_vec();
                let share = 100.0 * s[m] * s[m] / energy;
                (
                    Map { nx, ny, values },
                    format!("mode {} ({share:.1} % of the energy)", m + 1),
                )
            })
            .collect();
        figure("pod_modes.png", (1200, 1100), &|root| {
            for (area, (map, title)) in root.split_evenly((2, 2)).iter().zip(&maps) {
                map_panel(area, text, map, title)?;
            }
            Ok(())
        })?;
        let points: Vec<(f64, f64)> = s
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        figure("singular_values.png", (900, 600), &|root| {
            line_chart(
                root,
                text,
                "POD singular values",
                "mode",
                "σ",
                &points,
                (false, true),
            )
        })?;
    }
    let k = read("wavenumber").unwrap_or_default();
    if let Some(e) = read("ke_spectrum") {
        let points: Vec<(f64, f64)> = k
            .iter()
            .zip(&e)
            .skip(1)
            .filter(|(_, &e)| e > 0.0)
            .map(|(&k, &e)| (k, e))
            .collect();
        figure("ke_spectrum.png", (900, 650), &|root| {
            line_chart(
                root,
                text,
                "time-mean KE spectrum E(k) (m³ s⁻²)",
                "k (rad m⁻¹)",
                "E",
                &points,
                (true, true),
            )
        })?;
    }
    if let Some(t) = read("transfer_spectrum") {
        let points: Vec<(f64, f64)> = k.iter().zip(&t).skip(1).map(|(&k, &t)| (k, t)).collect();
        figure("transfer_spectrum.png", (900, 650), &|root| {
            line_chart(
                root,
                text,
                "u·S cospectrum T(k) (m³ s⁻³): > 0 backscatter",
                "k (rad m⁻¹)",
                "T",
                &points,
                (true, false),
            )
        })?;
    }
    if let Some(eke) = read("eke") {
        let map = Map {
            nx,
            ny,
            values: eke,
        };
        figure("eke.png", (900, 800), &|root| {
            map_panel(root, text, &map, "EKE ½(var u + var v) (m² s⁻²)")
        })?;
    }
    let stds: Vec<(Map, String)> = ["u", "v"]
        .iter()
        .filter_map(|f| {
            read(&format!("{f}_std"))
                .map(|v| (Map { nx, ny, values: v }, format!("std of {f} (m s⁻¹)")))
        })
        .collect();
    if !stds.is_empty() {
        figure("std.png", (900 * stds.len() as u32, 800), &|root| {
            for (area, (map, title)) in root.split_evenly((1, stds.len())).iter().zip(&stds) {
                map_panel(area, text, map, title)?;
            }
            Ok(())
        })?;
    }
    Ok(written)
}

/// A colour map of `m` in cell indices, symmetric limits, with its title.
fn map_panel(area: &Area, text: bool, m: &Map, title: &str) -> DrawResult {
    let limit = m
        .values
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let mut chart = ChartBuilder::on(area);
    chart.margin(12);
    if text {
        chart.caption(format!("{title}   [±{limit:.2e}]"), ("sans-serif", 20));
        chart.x_label_area_size(30).y_label_area_size(40);
    }
    let mut chart = chart.build_cartesian_2d(0.0..m.nx as f64, 0.0..m.ny as f64)?;
    if text {
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("i")
            .y_desc("j")
            .draw()?;
    }
    chart.draw_series((0..m.ny).flat_map(|j| {
        (0..m.nx).map(move |i| {
            let colour = diverging(m.values[j * m.nx + i] / limit);
            Rectangle::new(
                [(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)],
                colour.filled(),
            )
        })
    }))?;
    Ok(())
}

/// A line chart of `points`, with log axes where `log` says (x, y).
fn line_chart(
    area: &Area,
    text: bool,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    points: &[(f64, f64)],
    log: (bool, bool),
) -> DrawResult {
    let (x0, x1) = bounds(points.iter().map(|p| p.0));
    let (y0, y1) = bounds(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area);
    chart.margin(16);
    if text {
        chart
            .caption(title, ("sans-serif", 22))
            .x_label_area_size(40)
            .y_label_area_size(80);
    }
    let style = ShapeStyle::from(&BLUE).stroke_width(2);
    let zero = [(x0, 0.0), (x1, 0.0)];
    macro_rules! plot {
        ($x:expr, $y:expr) => {{
            let mut c = chart.build_cartesian_2d($x, $y)?;
            if text {
                c.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw()?;
            }
            c.draw_series(LineSeries::new(points.iter().copied(), style))?;
            c.draw_series(points.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;
            if !log.1 {
                c.draw_series(LineSeries::new(zero, &BLACK))?;
            }
        }};
    }
    match log {
        (true, true) => plot!((x0..x1).log_scale(), (y0..y1).log_scale()),
        (false, true) => plot!(x0..x1, (y0..y1).log_scale()),
        (true, false) => plot!((x0..x1).log_scale(), y0.min(0.0)..y1.max(0.0)),
        (false, false) => plot!(x0..x1, y0..y1),
    }
    Ok(())
}

/// The range of `values`, widened a little (and never empty).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.1, 1.0);
    }
    if lo == hi {
        return (lo * 0.9 - 1e-30, hi * 1.1 + 1e-30);
    }
    if lo > 0.0 {
        (lo * 0.8, hi * 1.25)
    } else {
        (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    }
}
