//! Charts as inline SVG, drawn on the server: no script is needed to see
//! them. Every label is escaped here, so callers pass plain text.

use std::fmt::Write;

use faultline_model::{escape_html, UnixNanos};

/// A row's event-frequency sparkline: one bar per step.
pub fn sparkline(values: &[u64]) -> String {
    let (w, h) = (96.0, 24.0);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = w / values.len().max(1) as f64;
    let mut svg = format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"{} events\">",
        values.iter().sum::<u64>()
    );
    for (i, v) in values.iter().enumerate() {
        let bar = if *v == 0 { 1.0 } else { (*v as f64 / max * (h - 2.0)).max(2.0) };
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\"{}/>",
            i as f64 * step,
            h - bar,
            (step - 1.0).max(1.0),
            if *v == 0 { " opacity=\"0.35\"" } else { "" }
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A marker on a time chart (a release's first appearance).
pub struct Marker {
    pub at: UnixNanos,
    pub label: String,
}

const W: f64 = 760.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 18.0;

/// Counts over time as bars, with labelled markers: the issue page's
/// frequency chart and the search histogram.
pub fn bar_chart(points: &[(UnixNanos, u64)], step_nanos: i64, markers: &[Marker]) -> String {
    let h = 150.0;
    let plot_h = h - BOTTOM - 8.0;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let (start, end) = span(points, step_nanos);
    let x = |t: UnixNanos| LEFT + (t - start) as f64 / (end - start).max(1) as f64 * (W - LEFT - 4.0);
    let mut svg = open(W, h);
    axis(&mut svg, W, h, &max.to_string());
    let bar_w = ((W - LEFT - 4.0) / points.len().max(1) as f64 - 1.0).max(1.0);
    for (t, v) in points {
        if *v == 0 {
            continue;
        }
        let bh = (*v as f64 / max as f64 * plot_h).max(1.5);
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{bh:.1}\"><title>{} events at {}</title></rect>",
            x(*t),
            h - BOTTOM - bh,
            v,
            escape_html(&faultline_model::format_rfc3339(*t))
        );
    }
    for m in markers.iter().filter(|m| m.at >= start && m.at <= end) {
        let mx = x(m.at);
        let _ = write!(
            svg,
            "<line class=\"release\" x1=\"{mx:.1}\" x2=\"{mx:.1}\" y1=\"4\" y2=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"12\">{}</text>",
            h - BOTTOM,
            mx + 3.0,
            escape_html(&m.label)
        );
    }
    time_labels(&mut svg, W, h, start, end);
    svg.push_str("</svg>");
    svg
}

/// One line of a line chart; `None` is a gap (no data in that step).
pub struct Series {
    pub name: String,
    /// CSS class of the line: "" (accent), "b" (red), "c" (amber).
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// Lines over shared time steps, the y axis labelled with `unit`.
pub fn line_chart(
    width: f64,
    times: &[UnixNanos],
    step_nanos: i64,
    series: &[Series],
    unit: fn(f64) -> String,
) -> String {
    let h = if width < 400.0 { 110.0 } else { 140.0 };
    let plot_h = h - BOTTOM - 8.0;
    let max = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let max = if max > 0.0 { max } else { 1.0 };
    let points: Vec<(UnixNanos, u64)> = times.iter().map(|t| (*t, 0)).collect();
    let (start, end) = span(&points, step_nanos);
    let x = |t: UnixNanos| LEFT + (t - start) as f64 / (end - start).max(1) as f64 * (width - LEFT - 4.0);
    let mut svg = open(width, h);
    axis(&mut svg, width, h, &unit(max));
    for s in series {
        let mut d = String::new();
        let mut pen_down = false;
        for (t, v) in times.iter().zip(&s.values) {
            match v {
                Some(v) => {
                    let y = h - BOTTOM - v / max * plot_h;
                    let _ = write!(d, "{}{:.1},{y:.1} ", if pen_down { "L" } else { "M" }, x(*t));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            svg,
            "<path class=\"line {}\" d=\"{}\"><title>{}</title></path>",
            s.class,
            d.trim_end(),
            escape_html(&s.name)
        );
    }
    time_labels(&mut svg, width, h, start, end);
    svg.push_str("</svg>");
    svg
}

/// [`line_chart`] with a dot on each point that has no neighbour to draw
/// a line to, so a lone step with data (one burst in a quiet day, a
/// check's first run) still shows. The dots are placed as `line_chart`
/// places its points.
pub fn line_chart_with_dots(
    width: f64,
    times: &[UnixNanos],
    step_nanos: i64,
    series: &[Series],
    unit: fn(f64) -> String,
) -> String {
    let mut svg = line_chart(width, times, step_nanos, series, unit);
    let h = if width < 400.0 { 110.0 } else { 140.0 };
    let plot_h = h - BOTTOM - 8.0;
    let max = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let max = if max > 0.0 { max } else { 1.0 };
    let points: Vec<(UnixNanos, u64)> = times.iter().map(|t| (*t, 0)).collect();
    let (start, end) = span(&points, step_nanos);
    let x = |t: UnixNanos| LEFT + (t - start) as f64 / (end - start).max(1) as f64 * (width - LEFT - 4.0);
    let mut dots = String::new();
    for s in series {
        let has = |i: Option<usize>| i.and_then(|i| s.values.get(i)).is_some_and(Option::is_some);
        for (i, (t, v)) in times.iter().zip(&s.values).enumerate() {
            let Some(v) = v else { continue };
            if has(i.checked_sub(1)) || has(Some(i + 1)) {
                continue;
            }
            let _ = write!(
                dots,
                "<circle class=\"dot {}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"><title>{} {} at {}</title></circle>",
                s.class,
                x(*t),
                h - BOTTOM - v / max * plot_h,
                escape_html(&s.name),
                escape_html(&unit(*v)),
                escape_html(&faultline_model::format_rfc3339(*t))
            );
        }
    }
    if let Some(close) = svg.rfind("</svg>") {
        svg.insert_str(close, &dots);
    }
    svg
}

fn span(points: &[(UnixNanos, u64)], step_nanos: i64) -> (UnixNanos, UnixNanos) {
    let start = points.first().map_or(0, |p| p.0);
    let end = points.last().map_or(1, |p| p.0 + step_nanos);
    (start, end.max(start + 1))
}

fn open(w: f64, h: f64) -> String {
    format!("<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\">")
}

fn axis(svg: &mut String, w: f64, h: f64, max_label: &str) {
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{w}\" y1=\"{y}\" y2=\"{y}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" x2=\"{w}\" y1=\"8\" y2=\"8\" stroke-dasharray=\"2 3\"/>\
         <text x=\"2\" y=\"12\">{}</text><text x=\"2\" y=\"{y}\">0</text>",
        escape_html(max_label),
        y = h - BOTTOM
    );
}

fn time_labels(svg: &mut String, w: f64, h: f64, start: UnixNanos, end: UnixNanos) {
    let label = |t: UnixNanos| {
        let text = faultline_model::format_rfc3339(t);
        // `2026-12-02T14:05:00Z` → `12-02 14:05`
        text.get(5..16).map(|s| s.replace('T', " ")).unwrap_or(text)
    };
    let _ = write!(
        svg,
        "<text x=\"{LEFT}\" y=\"{y}\">{}</text><text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}</text>",
        escape_html(&label(start)),
        w - 2.0,
        escape_html(&label(end)),
        y = h - 4.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_has_a_bar_per_step() {
        let svg = sparkline(&[0, 3, 1]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("aria-label=\"4 events\""));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bar_chart(&[(0, 1), (10, 2)], 10, &[Marker { at: 5, label: "<b>v2</b>".into() }]);
        assert!(svg.contains("&lt;b&gt;v2"), "{svg}");
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn lone_points_get_dots_where_the_line_would_be() {
        let series =
            Series { name: "<p95>".into(), class: "c", values: vec![Some(1.0), None, Some(2.0), Some(2.0)] };
        let svg = line_chart_with_dots(300.0, &[0, 10, 20, 30], 10, &[series], |v| format!("{v}"));
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        // The dot sits on the path's first point.
        let path_start = svg.split(" d=\"M").nth(1).and_then(|d| d.split(' ').next()).unwrap_or_default();
        let (px, py) = path_start.split_once(',').unwrap_or_default();
        assert!(svg.contains(&format!("cx=\"{px}\" cy=\"{py}\"")), "{svg}");
        assert!(svg.contains("&lt;p95&gt;") && svg.ends_with("</svg>"), "{svg}");
    }

    #[test]
    fn lines_break_at_gaps() {
        let series = Series { name: "p95".into(), class: "", values: vec![Some(1.0), None, Some(2.0)] };
        let svg = line_chart(300.0, &[0, 10, 20], 10, &[series], |v| format!("{v}"));
        assert_eq!(svg.matches('M').count(), 2, "{svg}");
    }
}
