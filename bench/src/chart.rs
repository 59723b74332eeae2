//! Charts as hand-written SVG (no font or drawing library needed), turned into PNG by
//! `rsvg-convert` when it is installed (Debian's `librsvg2-bin`).

use std::{fmt::Write as _, path::Path};

/// One line of a line chart.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 760.0;
const H: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 230.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A readable number for an axis tick.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6).replace(".0M", "M")
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3).replace(".0k", "k")
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Round tick step for a range.
fn nice_step(span: f64, ticks: f64) -> f64 {
    let raw = (span / ticks).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

fn frame(out: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{}</text>
<text x="{}" y="{}" text-anchor="middle">{}</text>
<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>
"#,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        esc(title),
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 14.0,
        esc(x_label),
        TOP + (H - TOP - BOTTOM) / 2.0,
        TOP + (H - TOP - BOTTOM) / 2.0,
        esc(y_label),
    );
}

/// A line chart; `log_x` puts x on a log10 scale.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
) -> String {
    let mut out = String::new();
    frame(&mut out, title, x_label, y_label);
    let tx = |x: f64| if log_x { x.max(1e-9).log10() } else { x };
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if all.is_empty() {
        out.push_str("</svg>\n");
        return out;
    }
    let (mut x0, mut x1) = (f64::MAX, f64::MIN);
    let mut y1 = 0f64;
    for &(x, y) in &all {
        x0 = x0.min(tx(x));
        x1 = x1.max(tx(x));
        y1 = y1.max(y);
    }
    if log_x {
        x0 = x0.floor();
        x1 = x1.ceil();
    } else {
        x0 = 0.0;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let ystep = nice_step(y1.max(1e-9), 5.0);
    let y1 = (y1 / ystep).ceil().max(1.0) * ystep;
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let px = |x: f64| LEFT + (tx(x) - x0) / (x1 - x0) * pw;
    let py = |y: f64| TOP + ph - y / y1 * ph;

    // Grid and ticks.
    let mut y = 0.0;
    while y <= y1 + ystep / 2.0 {
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
            x2 = LEFT + pw,
            yy = py(y),
            tx = LEFT - 6.0,
            ty = py(y) + 4.0,
            label = tick_label(y)
        );
        y += ystep;
    }
    let xticks: Vec<f64> = if log_x {
        let (a, b) = (x0 as i32, x1 as i32);
        (a..=b).map(|e| 10f64.powi(e)).collect()
    } else {
        let step = nice_step(x1 - x0, 6.0);
        let mut v = Vec::new();
        let mut x = 0.0;
        while x <= x1 + step / 2.0 {
            v.push(x);
            x += step;
        }
        v
    };
    for x in xticks {
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{TOP}" y2="{1}" stroke="#eee"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"##,
            px(x),
            TOP + ph,
            TOP + ph + 18.0,
            tick_label(x)
        );
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );

    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2.5"/>"#,
            pts.join(" ")
        );
        for &(x, y) in &s.points {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"/>"#,
                px(x),
                py(y)
            );
        }
        let ly = TOP + 10.0 + i as f64 * 22.0;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="18" height="4" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
            LEFT + pw + 12.0,
            ly,
            LEFT + pw + 36.0,
            ly + 6.0,
            esc(&s.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A horizontal bar chart of labelled values (with min–max whiskers when given).
pub fn bar_chart(title: &str, x_label: &str, bars: &[(String, f64, f64, f64)]) -> String {
    let mut out = String::new();
    let h = TOP + BOTTOM + bars.len() as f64 * 34.0;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{}</text>
<text x="{}" y="{}" text-anchor="middle">{}</text>
"#,
        W / 2.0,
        esc(title),
        W / 2.0 + 90.0,
        h - 14.0,
        esc(x_label)
    );
    let left = 250.0;
    let pw = W - left - 40.0;
    let max = bars.iter().map(|b| b.3.max(b.1)).fold(0f64, f64::max);
    let step = nice_step(max.max(1e-9), 5.0);
    let top = (max / step).ceil().max(1.0) * step;
    let px = |v: f64| left + v / top * pw;
    let mut t = 0.0;
    while t <= top + step / 2.0 {
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{TOP}" y2="{1}" stroke="#ddd"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3}</text>"##,
            px(t),
            h - BOTTOM,
            h - BOTTOM + 18.0,
            tick_label(t)
        );
        t += step;
    }
    for (i, (label, v, lo, hi)) in bars.iter().enumerate() {
        let y = TOP + 6.0 + i as f64 * 34.0;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{:.1}" text-anchor="end">{}</text><rect x="{left}" y="{y:.1}" width="{:.1}" height="22" fill="{color}"/><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#000" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"##,
            left - 8.0,
            y + 16.0,
            esc(label),
            (px(*v) - left).max(0.0),
            px(*lo),
            px(*hi),
            y + 11.0,
            y + 11.0,
            px(hi.max(*v)) + 6.0,
            y + 16.0,
            tick_label(*v)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Writes `svg` to `<path>.svg` and, when `rsvg-convert` is there, `<path>.png`. Returns the
/// file name to link (PNG if made, else SVG).
pub fn save(dir: &Path, name: &str, svg: &str) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg)?;
    let png_path = dir.join(format!("{name}.png"));
    if crate::servers::which("rsvg-convert") {
        let ok = std::process::Command::new("rsvg-convert")
            .arg("-o")
            .arg(&png_path)
            .arg(&svg_path)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(format!("{name}.png"));
        }
    }
    Ok(format!("{name}.svg"))
}
