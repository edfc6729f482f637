//! Drawing with plotters' bitmap backend: colour maps of fields with a colour bar, and a
//! time series. With `text == false` nothing that needs a font is drawn.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{symmetric_limit, Field};
use crate::error::{PlotError, Result};

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const TITLE_SIZE: u32 = 22;
const LABEL_SIZE: u32 = 15;
/// Width of a colour bar with its labels (pixels).
const BAR_WIDTH: u32 = 120;

/// ColorBrewer RdBu, blue (negative) to red (positive).
const DIVERGING: [(u8, u8, u8); 11] = [
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
];

/// The colour of `s` in [-1, 1] (clamped) on the diverging map (also the analysis figures').
pub fn diverging(s: f64) -> RGBColor {
    let pos = (s.clamp(-1.0, 1.0) + 1.0) / 2.0 * (DIVERGING.len() - 1) as f64;
    let k = (pos.floor() as usize).min(DIVERGING.len() - 2);
    let w = pos - k as f64;
    let (a, b) = (DIVERGING[k], DIVERGING[k + 1]);
    let mix = |p: u8, q: u8| (p as f64 + w * (q as f64 - p as f64)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draw a figure of `size` pixels into the PNG file `path`.
fn figure(path: &Path, size: (u32, u32), body: impl FnOnce(&Area) -> DrawResult) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    body(&root).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// Colour maps of `panels` (field, title) side by side, each with its colour bar, in a
/// basin of `extent` (m) shown in km.
pub(super) fn maps(
    path: &Path,
    size: (u32, u32),
    text: bool,
    extent: (f64, f64),
    panels: &[(&Field, &str)],
) -> Result<()> {
    figure(path, size, |root| {
        for (area, (field, title)) in root.split_evenly((1, panels.len())).iter().zip(panels) {
            map_panel(area, text, extent, field, title)?;
        }
        Ok(())
    })
}

fn map_panel(area: &Area, text: bool, extent: (f64, f64), f: &Field, title: &str) -> DrawResult {
    let (width, _) = area.dim_in_pixel();
    let (map, bar) = area.split_horizontally(width.saturating_sub(BAR_WIDTH));
    let limit = symmetric_limit(&f.values);
    let lim = limit.unwrap_or(1.0);
    let (lx, ly) = (extent.0 / 1e3, extent.1 / 1e3);

    let mut builder = ChartBuilder::on(&map);
    builder.margin(15);
    if text {
        let title = match limit {
            Some(_) => title.to_string(),
            None => format!("{title}: zero everywhere"),
        };
        builder
            .caption(title, ("sans-serif", TITLE_SIZE))
            .x_label_area_size(45)
            .y_label_area_size(65);
    }
    let mut chart = builder.build_cartesian_2d(0.0..lx, 0.0..ly)?;
    // Each value fills the cell around its point, clipped to the basin.
    let (ni, nj) = (f.x.len(), f.y.len());
    let dx = lx / ni.max(1) as f64;
    let dy = ly / nj.max(1) as f64;
    let cells = (0..nj).flat_map(|j| (0..ni).map(move |i| (i, j)));
    chart.draw_series(cells.filter_map(|(i, j)| {
        let v = f.values[j * ni + i];
        if !v.is_finite() {
            return None;
        }
        let (x, y) = (f.x[i] / 1e3, f.y[j] / 1e3);
        let x0 = (x - 0.5 * dx).clamp(0.0, lx);
        let x1 = (x + 0.5 * dx).clamp(0.0, lx);
        let y0 = (y - 0.5 * dy).clamp(0.0, ly);
        let y1 = (y + 0.5 * dy).clamp(0.0, ly);
        Some(Rectangle::new(
            [(x0, y0), (x1, y1)],
            diverging(v / lim).filled(),
        ))
    }))?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, 0.0), (lx, ly)],
        BLACK.stroke_width(1),
    )))?;
    if text {
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x (km)")
            .y_desc("y (km)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", LABEL_SIZE))
            .axis_desc_style(("sans-serif", LABEL_SIZE + 1))
            .draw()?;
    }

    // The colour bar spans the same pixel rows as the map.
    let (_, rows) = chart.plotting_area().get_pixel_range();
    let top = rows.start - bar.get_base_pixel().1;
    let bottom = bar.dim_in_pixel().1 as i32 - (rows.end - bar.get_base_pixel().1);
    let mut builder = ChartBuilder::on(&bar);
    builder
        .margin_top(top.max(0))
        .margin_bottom(bottom.max(0))
        .margin_left(10)
        .margin_right(10);
    if text {
        builder.set_label_area_size(LabelAreaPosition::Right, 75);
    }
    let mut cbar = builder.build_cartesian_2d(0.0..1.0, -lim..lim)?;
    const STEPS: usize = 256;
    cbar.draw_series((0..STEPS).map(|k| {
        let s0 = -1.0 + 2.0 * k as f64 / STEPS as f64;
        let s1 = -1.0 + 2.0 * (k + 1) as f64 / STEPS as f64;
        Rectangle::new(
            [(0.0, s0 * lim), (1.0, s1 * lim)],
            diverging(0.5 * (s0 + s1)).filled(),
        )
    }))?;
    cbar.draw_series(std::iter::once(Rectangle::new(
        [(0.0, -lim), (1.0, lim)],
        BLACK.stroke_width(1),
    )))?;
    if text {
        let label = |v: &f64| tick_label(*v, lim);
        cbar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(9)
            .y_label_formatter(&label)
            .label_style(("sans-serif", LABEL_SIZE))
            .draw()?;
    }
    Ok(())
}

/// A colour-bar label with as many decimals as a range of ±`limit` needs. A tick that
/// is zero but for rounding in the axis arithmetic (−2.1e-25 on a ±2e-7 bar) is 0.
fn tick_label(v: f64, limit: f64) -> String {
    let v = if v.abs() <= 1e-9 * limit { 0.0 } else { v };
    if (1e-2..1e4).contains(&limit) {
        let decimals = (1.0 - limit.log10().floor()).clamp(0.0, 4.0) as usize;
        format!("{v:.decimals$}")
    } else if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v:.1e}")
    }
}

/// The power of 1000 and SI prefix to show energies up to `max` (J) in.
fn si_scale(max: f64) -> (f64, &'static str) {
    const PREFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    let k = if max > 0.0 {
        ((max.log10() / 3.0).floor() as i32).clamp(0, PREFIXES.len() as i32 - 1) as usize
    } else {
        0
    };
    (1e3f64.powi(k as i32), PREFIXES[k])
}

/// A line of `points` (day, J) against time in days.
pub(super) fn series(
    path: &Path,
    size: (u32, u32),
    text: bool,
    points: &[(f64, f64)],
    title: &str,
) -> Result<()> {
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let (scale, prefix) = si_scale(max);
    let scaled: Vec<(f64, f64)> = points.iter().map(|&(t, e)| (t, e / scale)).collect();
    let t0 = scaled.first().map_or(0.0, |p| p.0);
    let t1 = scaled.last().map_or(1.0, |p| p.0).max(t0 + 1e-3);
    let top = if max > 0.0 { 1.05 * max / scale } else { 1.0 };
    figure(path, size, |root| {
        let mut builder = ChartBuilder::on(root);
        builder.margin(20);
        if text {
            builder
                .caption(title, ("sans-serif", TITLE_SIZE))
                .x_label_area_size(45)
                .y_label_area_size(75);
        }
        let mut chart = builder.build_cartesian_2d(t0..t1, 0.0..top)?;
        if text {
            chart
                .configure_mesh()
                .x_desc("time (days)")
                .y_desc(format!("kinetic energy ({prefix}J)"))
                .label_style(("sans-serif", LABEL_SIZE))
                .axis_desc_style(("sans-serif", LABEL_SIZE + 1))
                .draw()?;
        }
        let line = RGBColor(33, 102, 172);
        chart.draw_series(LineSeries::new(
            scaled.iter().copied(),
            line.stroke_width(2),
        ))?;
        if scaled.len() < 2 {
            chart.draw_series(scaled.iter().map(|&p| Circle::new(p, 4, line.filled())))?;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(t0, 0.0), (t1, top)],
            BLACK.stroke_width(1),
        )))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_is_blue_white_red_and_clamped() {
        assert_eq!(diverging(-1.0), RGBColor(5, 48, 97));
        assert_eq!(diverging(0.0), RGBColor(247, 247, 247));
        assert_eq!(diverging(1.0), RGBColor(103, 0, 31));
        assert_eq!(diverging(7.0), diverging(1.0));
    }

    #[test]
    fn energies_get_an_si_prefix() {
        assert_eq!(si_scale(3.7e16), (1e15, "P"));
        assert_eq!(si_scale(12.0), (1.0, ""));
        assert_eq!(si_scale(0.0), (1.0, ""));
    }

    #[test]
    fn tick_labels_fit_the_range() {
        assert_eq!(tick_label(0.25, 0.5), "0.25");
        assert_eq!(tick_label(-0.015, 0.0195), "-0.015");
        assert_eq!(tick_label(20.0, 25.0), "20");
        assert_eq!(tick_label(-1.0e-7, 2e-7), "-1.0e-7");
        // Regression: the middle tick of ml_forcing.png's colour bar printed -2.1e-25.
        assert_eq!(tick_label(-2.1e-25, 2e-7), "0");
        assert_eq!(tick_label(-1e-18, 0.5), "0.00");
        assert_eq!(tick_label(3e-17, 25.0), "0");
    }
}
