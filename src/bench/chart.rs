//! The chart of a benchmark report: retrieval quality and latency per mode, side by side, as
//! an SVG drawn with plotters.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BenchError, BenchReport, ModeReport};
use crate::store::SearchMode;

/// Width and height of the whole picture, in pixels.
const SIZE: (u32, u32) = (1100, 440);

fn colour(mode: SearchMode) -> RGBColor {
    match mode {
        SearchMode::Dense => RGBColor(0x1f, 0x77, 0xb4),
        SearchMode::Keyword => RGBColor(0xff, 0x7f, 0x0e),
        SearchMode::Hybrid => RGBColor(0x2c, 0xa0, 0x2c),
    }
}

/// The mode's name in reports: dense, bm25, hybrid.
pub fn mode_name(mode: SearchMode) -> &'static str {
    match mode {
        SearchMode::Dense => "dense",
        SearchMode::Keyword => "bm25",
        SearchMode::Hybrid => "hybrid",
    }
}

/// Draws `report` to `path` (SVG): on the left recall@1/5/10 and MRR@10 per mode, on the
/// right the per-query latency (embedding + search) p50 / p95 / p99 per mode.
pub fn draw_chart(report: &BenchReport, path: &Path) -> Result<(), BenchError> {
    let failed = |e: &dyn std::fmt::Display| BenchError::Output {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let (left, right) = root.split_horizontally(SIZE.0 * 11 / 20);
    let quality = |m: &ModeReport| {
        let s = m.scores;
        vec![s.recall_at_1, s.recall_at_5, s.recall_at_10, s.mrr_at_10]
    };
    let latency = |m: &ModeReport| vec![m.total.p50_ms, m.total.p95_ms, m.total.p99_ms];
    let slowest = report
        .modes
        .iter()
        .map(|m| m.total.p99_ms)
        .fold(0.0, f64::max);
    let name = report.dataset.name();
    let quality_panel = Panel {
        title: format!("{name}: retrieval quality ({} questions)", report.questions),
        categories: &["R@1", "R@5", "R@10", "MRR@10"],
        top: 1.08,
        values: &quality,
        y_title: "share of questions",
        label: &|v| format!("{v:.3}"),
    };
    quality_panel
        .draw(&left, &report.modes)
        .map_err(|e| failed(&e))?;
    let latency_panel = Panel {
        title: format!("{name}: latency per query, embed + search"),
        categories: &["p50", "p95", "p99"],
        top: (slowest * 1.15).max(0.01),
        values: &latency,
        y_title: "milliseconds",
        label: &|v| format!("{v:.2}"),
    };
    latency_panel
        .draw(&right, &report.modes)
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// One panel: a group of bars per category, one bar per mode, with a legend.
struct Panel<'a> {
    title: String,
    categories: &'a [&'a str],
    /// The top of the y axis.
    top: f64,
    /// A mode's value per category.
    values: &'a dyn Fn(&ModeReport) -> Vec<f64>,
    y_title: &'a str,
    /// The text written above a bar.
    label: &'a dyn Fn(f64) -> String,
}

impl Panel<'_> {
    fn draw(
        &self,
        area: &Area<'_>,
        modes: &[ModeReport],
    ) -> Result<(), Box<dyn std::error::Error>> {
        let Self {
            title,
            categories,
            top,
            values,
            y_title,
            label,
        } = self;
        let top = *top;
        let n = categories.len() as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(title.as_str(), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..n, 0.0..top)?;
        chart
        .configure_mesh()
        .disable_x_mesh()
        // Ticks every half unit: the labels sit on the group centres (0.5, 1.5, …).
        .x_labels(categories.len() * 2 + 1)
        .x_label_formatter(&|x: &f64| {
            let centre = x - 0.5;
            if (centre - centre.round()).abs() < 1e-6 && centre >= 0.0 {
                categories
                    .get(centre.round() as usize)
                    .map(|c| (*c).to_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(*y_title)
        .draw()?;
        let slot = 0.8 / modes.len().max(1) as f64;
        for (m, mode) in modes.iter().enumerate() {
            let colour = colour(mode.mode);
            let values = values(mode);
            let bars: Vec<Rectangle<(f64, f64)>> = values
                .iter()
                .enumerate()
                .map(|(c, value)| {
                    let x0 = c as f64 + 0.1 + slot * m as f64;
                    Rectangle::new([(x0, 0.0), (x0 + slot * 0.92, *value)], colour.filled())
                })
                .collect();
            // The value above each bar: a bar too short to see still reads.
            let style = ("sans-serif", 11)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart.draw_series(values.iter().enumerate().map(|(c, value)| {
                let x = c as f64 + 0.1 + slot * m as f64 + slot * 0.46;
                Text::new(label(*value), (x, *value + top * 0.01), style.clone())
            }))?;
            chart
                .draw_series(bars)?
                .label(mode_name(mode.mode))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    }
}
