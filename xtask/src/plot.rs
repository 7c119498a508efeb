// SPDX-License-Identifier: MIT OR Apache-2.0
//! The message benchmark's plot (`docs/msg-bench.png`): instructions per message against
//! message size, both axes logarithmic, one line per channel. Drawn with `plotters` into a
//! bitmap; the labels use DejaVu Sans embedded in the binary (the `dejavu` crate, through
//! plotters' `ab_glyph` text backend), so no system font is needed.

use crate::bench_msg::{MODES, Measured, size_label};
use crate::cmd::Result;
use plotters::prelude::*;
use std::path::Path;

const COLOURS: [RGBColor; 3] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(204, 51, 17),
];

/// Draws the plot of `m` into `path` (PNG, 1000 × 640).
pub fn messages(path: &Path, m: &Measured) -> Result {
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "cannot load the embedded DejaVu Sans font")?;
    let series: Vec<(&str, Vec<(u64, u64)>)> = MODES
        .iter()
        .map(|(mode, label)| {
            let points = m
                .runs
                .iter()
                .filter(|r| r.mode == *mode)
                .map(|r| (r.size, r.channel().max(1)))
                .collect();
            (*label, points)
        })
        .collect();
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let (min_x, max_x) = all
        .clone()
        .fold((u64::MAX, 1), |(lo, hi), &(x, _)| (lo.min(x), hi.max(x)));
    let (min_y, max_y) = all.fold((u64::MAX, 1), |(lo, hi), &(_, y)| (lo.min(y), hi.max(y)));
    if min_x > max_x {
        return Err("nothing to plot".into());
    }
    let sizes: Vec<f64> = series
        .first()
        .map(|(_, p)| p.iter().map(|&(x, _)| x as f64).collect())
        .unwrap_or_default();
    let root = BitMapBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Instructions per message, sender + receiver (medians of 1,000, QEMU TCG plugin)",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(
            ((min_x as f64) / 1.2..(max_x as f64) * 1.2)
                .log_scale()
                .with_key_points(sizes),
            ((min_y as f64) / 2.0..(max_y as f64) * 2.0).log_scale(),
        )
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("message size (bytes)")
        .y_desc("instructions per message")
        .x_label_formatter(&|x| size_label(x.round() as u64))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, ((label, points), colour)) in series.iter().zip(COLOURS).enumerate() {
        let line: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
        // CSM and the plain unprotected copy run the same code: CSM is drawn wide underneath,
        // the plain copy dashed on top, so that both stay visible.
        let width = if i == 0 { 7 } else { 3 };
        let style = colour.stroke_width(width);
        if i == 1 {
            chart
                .draw_series(DashedLineSeries::new(line.clone(), 12, 8, style))
                .map_err(|e| e.to_string())?
        } else {
            chart
                .draw_series(LineSeries::new(line.clone(), style))
                .map_err(|e| e.to_string())?
        }
        .label(*label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        chart
            .draw_series(
                line.iter()
                    .map(|&p| Circle::new(p, if i == 0 { 6 } else { 4 }, colour.filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
