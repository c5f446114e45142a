//! Line charts as SVG text (plotters' SVG backend: text is SVG `<text>`, so
//! no font file is needed). Every chart of a report goes through [`svg`].

use plotters::prelude::*;

/// One line of a chart.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points (x, y); non-finite values are skipped.
    pub points: Vec<(f64, f64)>,
    /// Error bars (x, low, high), drawn when given.
    pub bars: Vec<(f64, f64, f64)>,
    /// A reference (a published or theoretical figure, not data): drawn
    /// dashed, without markers.
    pub reference: bool,
}

/// A chart: a title, axis labels with units, and lines.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// X axis label, with its unit.
    pub x_label: String,
    /// Y axis label, with its unit.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Names for x = 0, 1, 2, … when the x axis is categorical.
    pub x_categories: Option<Vec<String>>,
    /// Draw a marker on every point (for sparse data such as sweeps).
    pub markers: bool,
}

/// Pixel size of every chart.
const SIZE: (u32, u32) = (1000, 440);
/// Width of the legend column, right of the plot (so it never hides data).
const LEGEND_WIDTH: u32 = 290;
/// Longest legend entry, in characters.
const LEGEND_CHARS: usize = 42;

/// Renders `chart` as an SVG document.
pub fn svg(chart: &Chart) -> Result<String, String> {
    let mut out = String::new();
    draw(chart, &mut out).map_err(|e| format!("{}: {e}", chart.title))?;
    Ok(out)
}

fn finite(p: &(f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

/// The ranges of the data, widened so that no range is empty and y starts
/// at zero (these are rates, shares, sizes and delays).
fn ranges(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
    let mut ys = (0.0f64, f64::NEG_INFINITY);
    for s in &chart.series {
        for &(x, y) in s.points.iter().filter(|p| finite(p)) {
            xs = (xs.0.min(x), xs.1.max(x));
            ys.1 = ys.1.max(y);
            ys.0 = ys.0.min(y);
        }
        for &(x, lo, hi) in &s.bars {
            if x.is_finite() && lo.is_finite() && hi.is_finite() {
                ys = (ys.0.min(lo), ys.1.max(hi));
            }
        }
    }
    if !xs.0.is_finite() {
        xs = (0.0, 1.0);
    }
    if !ys.1.is_finite() || ys.1 <= ys.0 {
        ys.1 = ys.0 + 1.0;
    }
    if xs.1 <= xs.0 {
        xs = (xs.0 - 0.5, xs.0 + 0.5);
    }
    if chart.x_categories.is_some() {
        xs = (xs.0 - 0.25, xs.1 + 0.25);
    }
    ys.1 += (ys.1 - ys.0) * 0.05;
    (xs, ys)
}

fn draw(chart: &Chart, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let ((x0, x1), (y0, y1)) = ranges(chart);
    let mut c = ChartBuilder::on(&plot_area)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let categories = chart.x_categories.clone();
    let x_fmt = move |x: &f64| match &categories {
        Some(names) => {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
        None => short(*x),
    };
    let y_fmt = |y: &f64| short(*y);
    let mut mesh = c.configure_mesh();
    mesh.x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15));
    if let Some(names) = &chart.x_categories {
        // One tick per category, so that every label sits on a whole number.
        mesh.x_labels(names.len().max(2) * 4 + 1);
    }
    mesh.draw()?;
    for (i, s) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = s.points.iter().copied().filter(finite).collect();
        if s.reference {
            c.draw_series(DashedLineSeries::new(points, 8, 6, color.stroke_width(1)))?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(1))
                });
            continue;
        }
        c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(s.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        if chart.markers {
            c.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        c.draw_series(
            s.bars
                .iter()
                .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
                .map(|&(x, lo, hi)| {
                    ErrorBar::new_vertical(x, lo, (lo + hi) / 2.0, hi, color.stroke_width(1), 8)
                }),
        )?;
    }
    legend(chart, &legend_area)?;
    root.present()?;
    Ok(())
}

/// The legend, one entry per line of the chart, in its own column.
fn legend<DB: DrawingBackend>(
    chart: &Chart,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let top = 44;
    let step = 20;
    for (i, s) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let y = top + step * i as i32;
        area.draw(&PathElement::new(
            vec![(6, y), (30, y)],
            color.stroke_width(3),
        ))?;
        let mut name: String = s.name.chars().take(LEGEND_CHARS).collect();
        if s.name.chars().count() > LEGEND_CHARS {
            name.push('…');
        }
        area.draw(&Text::new(
            name,
            (36, y - 7),
            ("sans-serif", 12).into_font(),
        ))?;
    }
    Ok(())
}

/// A tick label: few digits, SI suffixes for large numbers.
pub(crate) fn short(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{scaled:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_an_empty_and_a_degenerate_chart() {
        let empty = Chart {
            title: "nothing".into(),
            ..Chart::default()
        };
        assert!(svg(&empty).unwrap().contains("<svg"));
        let one = Chart {
            title: "one point".into(),
            x_label: "x (s)".into(),
            y_label: "y (b/s)".into(),
            series: vec![Series {
                name: "a & b".into(),
                points: vec![(1.0, 5.0), (2.0, f64::NAN)],
                bars: vec![(1.0, 4.0, 6.0)],
                reference: false,
            }],
            x_categories: Some(vec!["only".into()]),
            markers: true,
        };
        let s = svg(&one).unwrap();
        assert!(s.contains("a &amp; b"), "legend text is escaped");
        assert!(s.contains("y (b/s)"));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(short(2_500_000.0), "2.5M");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(12_000.0), "12k");
    }
}
