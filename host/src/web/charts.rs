//! Charts drawn on the server as inline SVG: they work without JavaScript, print, and cost a
//! phone on a slow connection a few kilobytes.
//!
//! Every piece of text is escaped here (checklist titles come from plugins), so templates
//! insert the result with `|safe`.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

/// One line of a chart: a label and (date, percentage) points, oldest first.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(NaiveDate, f64)>,
}

/// The chart's accessible texts, in the reader's language.
#[derive(Clone, Debug)]
pub struct ChartText<'a> {
    /// Prefix for the element ids of the title and description (unique on the page).
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// Shown when no series has a point.
    pub empty: &'a str,
}

pub const WIDTH: f64 = 480.0;
/// The plot area: gridlines run from `PLOT_LEFT` to `PLOT_RIGHT`, 100 % is at `PLOT_TOP` and
/// 0 % at `PLOT_BOTTOM`.
pub const PLOT_LEFT: f64 = 44.0;
pub const PLOT_RIGHT: f64 = 470.0;
pub const PLOT_TOP: f64 = 12.0;
pub const PLOT_BOTTOM: f64 = 212.0;
/// Points are kept off the plot's edges so their markers are not cut.
pub const X_FIRST: f64 = PLOT_LEFT + 10.0;
pub const X_LAST: f64 = PLOT_RIGHT - 10.0;
/// Where the legend starts and how tall each of its rows is.
const LEGEND_TOP: f64 = 254.0;
const LEGEND_ROW: f64 = 20.0;
/// The percentages with a gridline; 80 % is the usual competency threshold.
pub const GRIDLINES: [f64; 4] = [0.0, 50.0, 80.0, 100.0];
pub const THRESHOLD: f64 = 80.0;

/// Colours that stay apart for the common colour-vision deficiencies (Okabe–Ito).
const PALETTE: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
];

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// A percentage as people write it: `80`, `83.3`.
pub fn percent(p: f64) -> String {
    let rounded = (p * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn safe_id(id: &str) -> String {
    let s: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if s.is_empty() { "chart".into() } else { s }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Maps dates and percentages to chart coordinates.
struct Scale {
    first: NaiveDate,
    span_days: i64,
}

impl Scale {
    fn x(&self, d: NaiveDate) -> f64 {
        if self.span_days == 0 {
            return (X_FIRST + X_LAST) / 2.0;
        }
        let days = (d - self.first).num_days() as f64;
        X_FIRST + days / self.span_days as f64 * (X_LAST - X_FIRST)
    }

    fn y(p: f64) -> f64 {
        let p = if p.is_finite() {
            p.clamp(0.0, 100.0)
        } else {
            0.0
        };
        PLOT_BOTTOM - p / 100.0 * (PLOT_BOTTOM - PLOT_TOP)
    }
}

/// Labelled dates on the time axis: the first days of months at a step that keeps at most six
/// labels, or the first and last dates when the span is too short for two month labels.
fn time_ticks(first: NaiveDate, last: NaiveDate) -> Vec<(NaiveDate, String)> {
    if first == last {
        return vec![(first, ymd(first))];
    }
    let month_index = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    for step in [1, 2, 3, 6, 12, 24, 60] {
        let mut ticks = Vec::new();
        let mut m = month_index(first);
        if first.day() != 1 {
            m += 1;
        }
        let end = month_index(last);
        while m <= end {
            if m % step == 0
                && let Some(d) =
                    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
            {
                let label = if step >= 12 {
                    d.format("%Y").to_string()
                } else {
                    d.format("%Y-%m").to_string()
                };
                ticks.push((d, label));
            }
            m += 1;
        }
        if ticks.len() <= 6 {
            if ticks.len() >= 2 {
                return ticks;
            }
            break;
        }
    }
    vec![(first, ymd(first)), (last, ymd(last))]
}

fn anchor(x: f64) -> &'static str {
    if x < PLOT_LEFT + 30.0 {
        "start"
    } else if x > PLOT_RIGHT - 30.0 {
        "end"
    } else {
        "middle"
    }
}

/// A line chart of percentages (0–100) over time, one line per series.
pub fn score_chart(text: &ChartText<'_>, series: &[Series]) -> String {
    let id = safe_id(text.id);
    let drawn: Vec<(usize, &Series)> = series
        .iter()
        .filter(|s| !s.points.is_empty())
        .enumerate()
        .collect();
    let legend_rows = drawn.len() as f64;
    let height = if drawn.is_empty() {
        LEGEND_TOP - 10.0
    } else {
        LEGEND_TOP + legend_rows * LEGEND_ROW
    };

    let mut description = text.description.to_string();
    for (_, s) in &drawn {
        let recent: Vec<String> = s
            .points
            .iter()
            .rev()
            .take(12)
            .rev()
            .map(|(d, p)| format!("{} % ({})", percent(*p), ymd(*d)))
            .collect();
        let _ = write!(description, " {}: {}.", s.label, recent.join(", "));
    }

    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMidYMin meet" font-family="sans-serif" font-size="13">"#
    );
    let _ = write!(
        svg,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(text.title),
        escape(description.trim())
    );

    svg.push_str(r#"<g class="grid">"#);
    for g in GRIDLINES {
        let y = Scale::y(g);
        let threshold = g == THRESHOLD;
        let _ = write!(
            svg,
            r##"<line class="gridline{}" data-percent="{g:.0}" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"{}/>"##,
            if threshold { " threshold" } else { "" },
            if threshold { "#2e7d32" } else { "#cccccc" },
            if threshold {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            }
        );
        let _ = write!(
            svg,
            r##"<text class="y-label" x="{:.1}" y="{:.1}" text-anchor="end" fill="#555555">{g:.0}%</text>"##,
            PLOT_LEFT - 6.0,
            y + 4.0
        );
    }
    svg.push_str("</g>");

    if drawn.is_empty() {
        let _ = write!(
            svg,
            r##"<text class="empty" x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555555">{}</text></svg>"##,
            (PLOT_LEFT + PLOT_RIGHT) / 2.0,
            (PLOT_TOP + PLOT_BOTTOM) / 2.0,
            escape(text.empty)
        );
        return svg;
    }

    let first = drawn
        .iter()
        .flat_map(|(_, s)| s.points.iter().map(|p| p.0))
        .min()
        .unwrap_or_default();
    let last = drawn
        .iter()
        .flat_map(|(_, s)| s.points.iter().map(|p| p.0))
        .max()
        .unwrap_or_default();
    let scale = Scale {
        first,
        span_days: (last - first).num_days(),
    };

    svg.push_str(r#"<g class="x-axis">"#);
    for (d, label) in time_ticks(first, last) {
        let x = scale.x(d);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{PLOT_BOTTOM}" y2="{:.1}" stroke="#999999"/><text class="x-label" x="{x:.1}" y="{:.1}" text-anchor="{}" fill="#555555">{}</text>"##,
            PLOT_BOTTOM + 5.0,
            PLOT_BOTTOM + 20.0,
            anchor(x),
            escape(&label)
        );
    }
    svg.push_str("</g>");

    for (n, s) in &drawn {
        let colour = PALETTE[n % PALETTE.len()];
        let label = escape(&s.label);
        let _ = write!(
            svg,
            r#"<g class="series" data-series="{n}" data-label="{label}">"#
        );
        if s.points.len() > 1 {
            let coords: Vec<String> = s
                .points
                .iter()
                .map(|(d, p)| format!("{:.1},{:.1}", scale.x(*d), Scale::y(*p)))
                .collect();
            let _ = write!(
                svg,
                r#"<polyline class="line" points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                coords.join(" ")
            );
        }
        for (d, p) in &s.points {
            let _ = write!(
                svg,
                r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="5" fill="{colour}" data-date="{}" data-percent="{}"><title>{label} · {}: {} %</title></circle>"#,
                scale.x(*d),
                Scale::y(*p),
                ymd(*d),
                percent(*p),
                ymd(*d),
                percent(*p)
            );
        }
        svg.push_str("</g>");
    }

    svg.push_str(r#"<g class="legend">"#);
    for (n, s) in &drawn {
        let colour = PALETTE[n % PALETTE.len()];
        let y = LEGEND_TOP + *n as f64 * LEGEND_ROW;
        let _ = write!(
            svg,
            r#"<line x1="{PLOT_LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            PLOT_LEFT + 20.0,
            y - 4.0,
            y - 4.0,
            PLOT_LEFT + 10.0,
            y - 4.0,
            PLOT_LEFT + 26.0,
            y,
            escape(&clip(&s.label, 52))
        );
    }
    svg.push_str("</g></svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn text() -> ChartText<'static> {
        ChartText {
            id: "scores",
            title: "Scores over time",
            description: "Percentage per checklist.",
            empty: "No scores yet.",
        }
    }

    /// The value of `attr` in each element that starts with `tag`.
    fn attrs(svg: &str, tag: &str, attr: &str) -> Vec<String> {
        svg.split(tag)
            .skip(1)
            .map(|rest| {
                let end = rest.find('>').unwrap();
                let element = &rest[..end];
                let key = format!(" {attr}=\"");
                let start = element
                    .find(&key)
                    .unwrap_or_else(|| panic!("{attr} in {element}"))
                    + key.len();
                element[start..].split('"').next().unwrap().to_string()
            })
            .collect()
    }

    fn coords(svg: &str) -> Vec<(f64, f64)> {
        let xs = attrs(svg, "<circle class=\"point\"", "cx");
        let ys = attrs(svg, "<circle class=\"point\"", "cy");
        xs.iter()
            .zip(&ys)
            .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.06
    }

    #[test]
    fn points_sit_at_their_date_and_percentage() {
        let series = [
            Series {
                label: "AMTSL".into(),
                points: vec![
                    (d("2024-01-01"), 0.0),
                    (d("2024-07-01"), 50.0),
                    (d("2024-12-31"), 100.0),
                ],
            },
            Series {
                label: "PPH".into(),
                points: vec![(d("2024-03-01"), 80.0)],
            },
        ];
        let svg = score_chart(&text(), &series);
        let c = coords(&svg);
        assert_eq!(c.len(), 4);
        // 365 days from the first to the last point.
        assert!(
            close(c[0].0, X_FIRST) && close(c[0].1, PLOT_BOTTOM),
            "{c:?}"
        );
        let mid = X_FIRST + 182.0 / 365.0 * (X_LAST - X_FIRST);
        assert!(close(c[1].0, mid), "{} vs {mid}", c[1].0);
        assert!(close(c[1].1, (PLOT_TOP + PLOT_BOTTOM) / 2.0));
        assert!(close(c[2].0, X_LAST) && close(c[2].1, PLOT_TOP));
        let march = X_FIRST + 60.0 / 365.0 * (X_LAST - X_FIRST);
        assert!(close(c[3].0, march));
        assert!(close(c[3].1, PLOT_BOTTOM - 0.8 * (PLOT_BOTTOM - PLOT_TOP)));
        // One line for the series with several points, none for the single point.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(
            attrs(&svg, "<circle class=\"point\"", "data-percent"),
            ["0", "50", "100", "80"]
        );
        assert!(
            svg.contains("<title>AMTSL · 2024-07-01: 50 %</title>"),
            "{svg}"
        );
    }

    #[test]
    fn gridlines_and_accessibility() {
        let svg = score_chart(
            &text(),
            &[Series {
                label: "AMTSL".into(),
                points: vec![(d("2024-01-01"), 60.0), (d("2024-02-01"), 83.33)],
            }],
        );
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="scores-title scores-desc""#));
        assert!(svg.contains(r#"<title id="scores-title">Scores over time</title>"#));
        assert!(
            svg.contains("AMTSL: 60 % (2024-01-01), 83.3 % (2024-02-01)."),
            "{svg}"
        );
        assert_eq!(
            attrs(&svg, "<line class=\"gridline", "data-percent"),
            ["0", "50", "80", "100"]
        );
        let ys: Vec<f64> = attrs(&svg, "<line class=\"gridline", "y1")
            .iter()
            .map(|y| y.parse().unwrap())
            .collect();
        assert_eq!(ys, [212.0, 112.0, 52.0, 12.0]);
        assert_eq!(svg.matches("gridline threshold").count(), 1);
        for label in ["0%", "50%", "80%", "100%"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
    }

    #[test]
    fn text_is_escaped() {
        let svg = score_chart(
            &ChartText {
                id: "x\" onload=\"alert(1)",
                title: "<script>&",
                description: "a'b",
                empty: "",
            },
            &[Series {
                label: "<b>Tom & \"Jerry\"</b>".into(),
                points: vec![(d("2024-01-01"), 50.0)],
            }],
        );
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("onload=\""));
        assert!(svg.contains("&lt;script&gt;&amp;"));
        assert!(svg.contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"));
        assert!(svg.contains("a&#39;b"));
        assert!(svg.contains(r#"id="xonloadalert1-title""#));
    }

    #[test]
    fn empty_series_draw_the_grid_and_a_message() {
        let svg = score_chart(
            &text(),
            &[Series {
                label: "AMTSL".into(),
                points: vec![],
            }],
        );
        assert!(svg.contains(">No scores yet.</text>"));
        assert_eq!(svg.matches("<circle").count(), 0);
        assert_eq!(svg.matches("<polyline").count(), 0);
        assert_eq!(svg.matches("class=\"gridline").count(), 4);
        assert!(score_chart(&text(), &[]).contains("No scores yet."));
    }

    #[test]
    fn a_single_point_sits_in_the_middle() {
        let svg = score_chart(
            &text(),
            &[Series {
                label: "AMTSL".into(),
                points: vec![(d("2025-05-05"), 73.0)],
            }],
        );
        let c = coords(&svg);
        assert_eq!(c.len(), 1);
        assert!(close(c[0].0, (X_FIRST + X_LAST) / 2.0));
        assert!(close(c[0].1, PLOT_BOTTOM - 0.73 * (PLOT_BOTTOM - PLOT_TOP)));
        assert_eq!(svg.matches("<polyline").count(), 0);
        assert_eq!(attrs(&svg, "<text class=\"x-label\"", "x").len(), 1);
        assert!(svg.contains(">2025-05-05</text>"));
    }

    #[test]
    fn out_of_range_percentages_stay_on_the_plot() {
        let svg = score_chart(
            &text(),
            &[Series {
                label: "odd plugin".into(),
                points: vec![(d("2025-01-01"), 130.0), (d("2025-01-02"), -5.0)],
            }],
        );
        let c = coords(&svg);
        assert!(close(c[0].1, PLOT_TOP) && close(c[1].1, PLOT_BOTTOM));
        assert!(svg.contains("2025-01-01: 130 %"));
    }

    fn x_labels(svg: &str) -> Vec<String> {
        svg.split("<text class=\"x-label\"")
            .skip(1)
            .map(|rest| {
                let start = rest.find('>').unwrap() + 1;
                rest[start..].split('<').next().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn time_labels_follow_the_span() {
        let chart = |a: &str, b: &str| {
            score_chart(
                &text(),
                &[Series {
                    label: "s".into(),
                    points: vec![(d(a), 10.0), (d(b), 90.0)],
                }],
            )
        };
        // Two years: half-year steps across the new years.
        let svg = chart("2023-06-15", "2025-06-01");
        assert_eq!(x_labels(&svg), ["2023-07", "2024-01", "2024-07", "2025-01"]);
        let xs: Vec<f64> = attrs(&svg, "<text class=\"x-label\"", "x")
            .iter()
            .map(|x| x.parse().unwrap())
            .collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
        let span = (d("2025-06-01") - d("2023-06-15")).num_days() as f64;
        let jan_2024 = X_FIRST
            + (d("2024-01-01") - d("2023-06-15")).num_days() as f64 / span * (X_LAST - X_FIRST);
        assert!(close(xs[1], jan_2024), "{} vs {jan_2024}", xs[1]);
        // Eight years: one label every two years, written as years.
        assert_eq!(
            x_labels(&chart("2018-03-01", "2026-02-01")),
            ["2020", "2022", "2024", "2026"]
        );
        // Within a quarter: months.
        assert_eq!(
            x_labels(&chart("2025-01-10", "2025-03-20")),
            ["2025-02", "2025-03"]
        );
        // Within a month: the first and last dates.
        assert_eq!(
            x_labels(&chart("2025-01-10", "2025-01-20")),
            ["2025-01-10", "2025-01-20"]
        );
    }
}
