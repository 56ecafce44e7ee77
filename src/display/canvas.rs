//! Shared drawing helpers: font registration, the bitmap render loop, text
//! placement, colours and number formatting.

use std::ops::Range;

use anyhow::{ensure, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{cartesian::Cartesian2d, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::figure::Figure;
use super::font::left_bearing_px;
pub(crate) use super::font::{ensure_font, FONT};

/// The drawing area every figure is rendered on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Figure title size in pixels.
pub(crate) const TITLE_SIZE: f64 = 26.0;
/// Axis description size.
pub(crate) const AXIS_SIZE: f64 = 20.0;
/// Tick label, legend and row label size.
pub(crate) const LABEL_SIZE: f64 = 17.0;
/// Height reserved for a title line.
pub(crate) const TITLE_HEIGHT: u32 = 46;
/// Largest side of a figure, to fail early instead of allocating gigabytes.
pub(crate) const MAX_SIDE: u32 = 16_384;

/// Renders onto a white `width` x `height` canvas.
pub(crate) fn render<F>(width: u32, height: u32, draw: F) -> Result<Figure>
where
    F: FnOnce(&Area) -> Result<()>,
{
    check_size(width, height)?;
    let buf = vec![255u8; width as usize * height as usize * 3];
    render_on(width, height, buf, draw)
}

/// Renders onto an existing RGB buffer (for figures that write pixels directly).
pub(crate) fn render_on<F>(width: u32, height: u32, mut buf: Vec<u8>, draw: F) -> Result<Figure>
where
    F: FnOnce(&Area) -> Result<()>,
{
    check_size(width, height)?;
    ensure!(
        buf.len() == width as usize * height as usize * 3,
        "internal error: canvas buffer has the wrong size"
    );
    ensure_font()?;
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    Figure::from_rgb(width, height, &buf)
}

/// Fails if a figure would be empty or unreasonably large.
pub(crate) fn check_size(width: u32, height: u32) -> Result<()> {
    ensure!(
        width > 0 && height > 0,
        "figure size must be positive, got {width}x{height}"
    );
    ensure!(
        width <= MAX_SIDE && height <= MAX_SIDE,
        "figure of {width}x{height} pixels is too large (at most {MAX_SIDE} per side)"
    );
    Ok(())
}

/// Fills the `size` = `(w, h)` rectangle whose top-left corner is `corner` with
/// `color`, in an RGB buffer `width` pixels wide (as passed to [`render_on`]).
pub(crate) fn fill_rect(
    buf: &mut [u8],
    width: u32,
    corner: (u32, u32),
    size: (u32, u32),
    color: [u8; 3],
) {
    let stride = width as usize * 3;
    let ((x0, y0), (w, h)) = (corner, size);
    for y in y0..y0 + h {
        let row = &mut buf[y as usize * stride + x0 as usize * 3..][..w as usize * 3];
        for px in row.chunks_exact_mut(3) {
            px.copy_from_slice(&color);
        }
    }
}

/// Draws a one-pixel `color` frame just outside the `size` rectangle at
/// `corner` (see [`fill_rect`]); the rectangle must not touch the buffer's edge.
pub(crate) fn frame_rect(
    buf: &mut [u8],
    width: u32,
    corner: (u32, u32),
    size: (u32, u32),
    color: [u8; 3],
) {
    let ((x, y), (w, h)) = (corner, size);
    fill_rect(buf, width, (x - 1, y - 1), (w + 2, 1), color);
    fill_rect(buf, width, (x - 1, y + h), (w + 2, 1), color);
    fill_rect(buf, width, (x - 1, y - 1), (1, h + 2), color);
    fill_rect(buf, width, (x + w, y - 1), (1, h + 2), color);
}

/// Width in pixels of `text` at `size`.
pub(crate) fn text_width(text: &str, size: f64) -> u32 {
    if ensure_font().is_err() {
        return (text.chars().count() as f64 * size * 0.6) as u32;
    }
    match (FONT, size).into_font().box_size(text) {
        Ok((w, _)) => w,
        Err(_) => (text.chars().count() as f64 * size * 0.6) as u32,
    }
}

/// Widest of `texts` at `size` (0 for none).
pub(crate) fn max_text_width<'a>(texts: impl IntoIterator<Item = &'a str>, size: f64) -> u32 {
    texts
        .into_iter()
        .map(|t| text_width(t, size))
        .max()
        .unwrap_or(0)
}

/// Shortens `text` with an ellipsis so that it is at most `max_width` pixels wide.
pub(crate) fn fit_text(text: &str, size: f64, max_width: u32) -> String {
    if text_width(text, size) <= max_width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().chain(['…'].iter()).collect();
        if text_width(&candidate, size) <= max_width {
            return candidate;
        }
    }
    String::new()
}

/// Where a text is anchored, and whether it reads bottom-to-top.
#[derive(Clone, Copy)]
pub(crate) struct Anchor {
    pub h: HPos,
    pub v: VPos,
    pub vertical: bool,
}

impl Anchor {
    pub(crate) const fn new(h: HPos, v: VPos) -> Anchor {
        Anchor {
            h,
            v,
            vertical: false,
        }
    }

    pub(crate) const fn vertical(h: HPos, v: VPos) -> Anchor {
        Anchor {
            h,
            v,
            vertical: true,
        }
    }
}

/// Draws `text` with its anchor at `pos` (absolute pixel coordinates of `area`).
///
/// Glyphs are drawn one at a time: plotters' ab_glyph renderer drops each
/// glyph's left side bearing and places glyphs about a fifth of the font size
/// above the box it reports, and both are corrected here. A vertical text
/// reads bottom-to-top; its anchor is given in the text's own frame.
pub(crate) fn draw_text(
    area: &Area,
    text: &str,
    pos: (i32, i32),
    size: f64,
    color: RGBColor,
    anchor: Anchor,
) -> Result<()> {
    if text.trim().is_empty() {
        return Ok(());
    }
    ensure_font()?;
    let total = f64::from(text_width(text, size));
    let height = (size / 1.24).floor();
    let along0 = match anchor.h {
        HPos::Left => 0.0,
        HPos::Center => -(total / 2.0).floor(),
        HPos::Right => -total,
    };
    let across = match anchor.v {
        VPos::Top => 0.0,
        VPos::Center => -(height / 2.0).floor(),
        VPos::Bottom => -height,
    } + (size * 0.2).round();
    let mut style = TextStyle::from((FONT, size).into_font())
        .color(&color)
        .pos(Pos::new(HPos::Left, VPos::Top));
    if anchor.vertical {
        style = style.transform(FontTransform::Rotate270);
    }
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        let pen = f64::from(text_width(&text[..i], size));
        let along = (along0 + pen + left_bearing_px(c, size)) as i32;
        let p = if anchor.vertical {
            (pos.0 + across as i32, pos.1 - along)
        } else {
            (pos.0 + along, pos.1 + across as i32)
        };
        area.draw(&Text::new(c.to_string(), p, style.clone()))?;
    }
    Ok(())
}

/// Draws a title centred at the top of `area` and returns the area below it.
/// An empty title takes no space.
pub(crate) fn split_title<'a>(area: &Area<'a>, title: &str) -> Result<Area<'a>> {
    if title.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let text = fit_text(title, TITLE_SIZE, w.saturating_sub(20));
    draw_text(
        area,
        &text,
        (w as i32 / 2, TITLE_HEIGHT as i32 / 2 + 2),
        TITLE_SIZE,
        BLACK,
        Anchor::new(HPos::Center, VPos::Center),
    )?;
    let (_, rest) = area.split_vertically(TITLE_HEIGHT);
    Ok(rest)
}

/// matplotlib's "tab10" palette: ten colours that are easy to tell apart.
pub(crate) const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The `i`-th palette colour (cycling after ten).
pub(crate) fn palette(i: usize) -> RGBColor {
    TAB10[i % TAB10.len()]
}

/// Light gray used for grid lines.
pub(crate) const GRID_GRAY: RGBColor = RGBColor(225, 225, 225);
/// Dark gray used for secondary text and markers.
pub(crate) const DARK_GRAY: RGBColor = RGBColor(90, 90, 90);

/// Formats a number with about four significant digits, switching to
/// scientific notation for very small or large magnitudes (`1.5e-4`).
pub(crate) fn fmt_num(v: f64) -> String {
    fmt_sig(v, 4)
}

/// Formats a number with at most `digits` significant digits (at least 1),
/// switching to scientific notation below 0.001 and from 100000 on.
pub(crate) fn fmt_sig(v: f64, digits: usize) -> String {
    let digits = digits.max(1);
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.prec$e}", prec = digits - 1);
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => s,
        };
    }
    let decimals = (digits as i32 - 1 - a.log10().floor() as i32).clamp(0, 8) as usize;
    let s = trim_zeros(&format!("{v:.decimals$}"));
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Pads `[lo, hi]` by `frac` of its span on both sides; a degenerate range is widened.
pub(crate) fn pad_range(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        let d = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        return (lo - d, hi + d);
    }
    (lo - span * frac, hi + span * frac)
}

/// Tick positions for a logarithmic axis over `[lo, hi]` (both positive):
/// powers of ten when the range spans several decades, else 1-2-5 or finer
/// steps, else evenly spaced round values.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |mults: &[f64], every: i32| -> Vec<f64> {
        let mut ticks = Vec::new();
        for k in (k0..=k1).filter(|k| k.rem_euclid(every) == 0) {
            for m in mults {
                let t = m * 10f64.powi(k);
                if t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9) {
                    ticks.push(t);
                }
            }
        }
        ticks
    };
    let decades = within(&[1.0], 1);
    if decades.len() >= 4 {
        let every = (decades.len() as i32 + 7) / 8;
        return within(&[1.0], every);
    }
    let choices: [(&[f64], usize); 3] = [
        (&[1.0, 2.0, 5.0], 4),
        (&[1.0, 2.0, 3.0, 5.0], 3),
        (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 3),
    ];
    for (mults, min_count) in choices {
        let ticks = within(mults, 1);
        if (min_count..=10).contains(&ticks.len()) {
            return ticks;
        }
    }
    linear_ticks(lo, hi, 5)
}

/// About `n + 1` evenly spaced round ticks (steps of 1, 2 or 5 times a power
/// of ten) within `[lo, hi]`.
pub(crate) fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || span.is_infinite() {
        return vec![lo];
    }
    let n = n.max(1);
    let mag = 10f64.powf((span / n as f64).log10().floor());
    let range_for = |step: f64| {
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        (first, last)
    };
    let mut best: Option<(usize, f64)> = None;
    for m in [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0] {
        let step = m * mag;
        let (first, last) = range_for(step);
        let count = (last - first + 1).max(0) as usize;
        let distance = count.abs_diff(n + 1);
        // On a tie prefer the larger step: fewer, less crowded labels.
        if best.is_none_or(|(d, _)| distance <= d) {
            best = Some((distance, step));
        }
    }
    let step = best.map_or(span, |(_, step)| step);
    let (first, last) = range_for(step);
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Labels for ticks: evenly spaced ticks share one number of decimals
/// (`0.00 0.05 0.10`), others use [`fmt_num`].
pub(crate) fn tick_labels(ticks: &[f64], log: bool) -> Vec<String> {
    let largest = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    let step = match ticks {
        [a, b, ..] if !log => b - a,
        _ => 0.0,
    };
    if step <= 0.0 || largest >= 1e5 || step < 1e-4 {
        return ticks.iter().map(|&t| fmt_num(t)).collect();
    }
    let decimals = (-step.log10() - 1e-9).ceil().max(0.0) as usize;
    // A step such as 0.25 needs one more decimal than its magnitude suggests.
    let scaled = step * 10f64.powi(decimals as i32);
    let decimals = if (scaled - scaled.round()).abs() > 1e-6 {
        decimals + 1
    } else {
        decimals
    };
    ticks
        .iter()
        .map(|t| {
            let s = format!("{t:.decimals$}");
            if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
                s[1..].to_string()
            } else {
                s
            }
        })
        .collect()
}

/// A coordinate whose mesh lines and labels sit at given ticks.
pub(crate) struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
    labels: Vec<String>,
}

impl<R: Ranged<ValueType = f64>> Ticked<R> {
    /// Wraps `inner` with the given ticks (kept only if inside its range).
    pub(crate) fn new(inner: R, ticks: Vec<f64>, log: bool) -> Ticked<R> {
        let r = inner.range();
        let (lo, hi) = (r.start.min(r.end), r.start.max(r.end));
        let ticks: Vec<f64> = ticks.into_iter().filter(|t| *t >= lo && *t <= hi).collect();
        let labels = tick_labels(&ticks, log);
        Ticked {
            inner,
            ticks,
            labels,
        }
    }

    /// Widest tick label at the tick label size.
    pub(crate) fn label_width(&self) -> u32 {
        max_text_width(self.labels.iter().map(String::as_str), LABEL_SIZE)
    }
}

impl Ticked<RangedCoordf64> {
    /// A linear axis over `[lo, hi]` with about `n` ticks.
    pub(crate) fn linear(lo: f64, hi: f64, n: usize) -> Self {
        Ticked::new((lo..hi).into(), linear_ticks(lo, hi, n), false)
    }
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// A chart whose two axes carry their own ticks.
pub(crate) type TickedChart<'a, 'b, X, Y> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<Ticked<X>, Ticked<Y>>>;

/// Room left of the plot for y tick labels and the y description.
pub(crate) fn y_area_size<R: Ranged<ValueType = f64>>(y: &Ticked<R>, y_desc: &str) -> u32 {
    let desc = if y_desc.is_empty() {
        0
    } else {
        AXIS_SIZE as u32 + 14
    };
    y.label_width() + 22 + desc
}

/// Room below the plot for x tick labels and the x description.
pub(crate) fn x_area_size(x_desc: &str) -> u32 {
    if x_desc.is_empty() {
        LABEL_SIZE as u32 + 18
    } else {
        LABEL_SIZE as u32 + 22 + AXIS_SIZE as u32 + 12
    }
}

/// Draws light grid lines at the ticks and the axis lines (labels come from [`label_axes`]).
pub(crate) fn draw_mesh<X, Y>(chart: &mut TickedChart<'_, '_, X, Y>, x_grid: bool) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(TRANSPARENT)
        .bold_line_style(GRID_GRAY)
        .axis_style(DARK_GRAY)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new());
    if !x_grid {
        mesh.disable_x_mesh();
    }
    mesh.draw()?;
    Ok(())
}

/// Writes the tick labels and axis descriptions of `chart` onto `root`.
pub(crate) fn label_axes<X, Y>(
    root: &Area,
    chart: &TickedChart<'_, '_, X, Y>,
    x_desc: &str,
    y_desc: &str,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (x_pixels, y_pixels) = chart.plotting_area().get_pixel_range();
    let spec = chart.as_coord_spec();
    let (xs, ys) = (spec.x_spec(), spec.y_spec());
    let y_mid = chart.y_range().start;
    let x_mid = chart.x_range().start;
    for (t, label) in xs.ticks.iter().zip(&xs.labels) {
        let (px, _) = chart.backend_coord(&(*t, y_mid));
        draw_text(
            root,
            label,
            (px, y_pixels.end + 8),
            LABEL_SIZE,
            BLACK,
            Anchor::new(HPos::Center, VPos::Top),
        )?;
    }
    for (t, label) in ys.ticks.iter().zip(&ys.labels) {
        let (_, py) = chart.backend_coord(&(x_mid, *t));
        draw_text(
            root,
            label,
            (x_pixels.start - 9, py),
            LABEL_SIZE,
            BLACK,
            Anchor::new(HPos::Right, VPos::Center),
        )?;
    }
    draw_text(
        root,
        x_desc,
        (
            (x_pixels.start + x_pixels.end) / 2,
            y_pixels.end + 8 + LABEL_SIZE as i32 + 12,
        ),
        AXIS_SIZE,
        BLACK,
        Anchor::new(HPos::Center, VPos::Top),
    )?;
    draw_text(
        root,
        y_desc,
        (
            x_pixels.start - 9 - ys.label_width() as i32 - 14 - AXIS_SIZE as i32,
            (y_pixels.start + y_pixels.end) / 2,
        ),
        AXIS_SIZE,
        BLACK,
        Anchor::vertical(HPos::Center, VPos::Top),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_compactly() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(0.012345), "0.01235");
        assert_eq!(fmt_num(123.456), "123.5");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(-3.25), "-3.25");
        assert_eq!(fmt_num(0.00015), "1.5e-4");
        assert_eq!(fmt_num(1e-4), "1e-4");
        assert_eq!(fmt_num(250000.0), "2.5e5");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_sig(0.006603, 3), "0.0066");
        assert_eq!(fmt_sig(0.02251, 3), "0.0225");
        assert_eq!(fmt_sig(123.456, 3), "123");
        assert_eq!(fmt_sig(0.00012345, 3), "1.23e-4");
    }

    #[test]
    fn pads_ranges() {
        assert_eq!(pad_range(0.0, 10.0, 0.1), (-1.0, 11.0));
        assert_eq!(pad_range(5.0, 5.0, 0.1), (4.5, 5.5));
        assert_eq!(pad_range(0.0, 0.0, 0.1), (-1.0, 1.0));
    }

    #[test]
    fn measures_and_fits_text() {
        let short = text_width("ab", 20.0);
        let long = text_width("ab ab ab ab", 20.0);
        assert!(short > 0 && long > short * 3);
        let fitted = fit_text("a very long label indeed", 16.0, 60);
        assert!(fitted.ends_with('…'));
        assert!(text_width(&fitted, 16.0) <= 60);
        assert_eq!(fit_text("ok", 16.0, 60), "ok");
    }

    #[test]
    fn render_rejects_bad_sizes() {
        assert!(render(0, 10, |_| Ok(())).is_err());
        assert!(render(MAX_SIDE + 1, 10, |_| Ok(())).is_err());
        let fig = render(7, 5, |_| Ok(())).unwrap();
        assert_eq!((fig.width(), fig.height()), (7, 5));
    }

    #[test]
    fn log_and_linear_ticks() {
        assert_eq!(log_ticks(0.01, 0.1), vec![0.01, 0.02, 0.05, 0.1]);
        assert_eq!(log_ticks(0.012, 0.1), vec![0.02, 0.03, 0.05, 0.1]);
        assert_eq!(log_ticks(1e-6, 1.0).len(), 7);
        assert_eq!(log_ticks(1e-12, 1.0).len(), 7);
        let linear = log_ticks(0.012, 0.025);
        assert!(linear.len() >= 3 && linear.iter().all(|t| (0.012..=0.025).contains(t)));
        let ticks = linear_ticks(0.0, 1.0, 5);
        assert_eq!(ticks.len(), 6);
        assert!((ticks[3] - 0.6).abs() < 1e-12);
        assert_eq!(
            linear_ticks(-0.58, 29.58, 8),
            vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
        );
        assert_eq!(linear_ticks(3.0, 3.0, 5), vec![3.0]);
    }

    #[test]
    fn tick_labels_share_decimals() {
        assert_eq!(
            tick_labels(&[0.0, 0.05, 0.1], false),
            ["0.00", "0.05", "0.10"]
        );
        assert_eq!(
            tick_labels(&[-0.5, -0.25, 0.0], false),
            ["-0.50", "-0.25", "0.00"]
        );
        assert_eq!(tick_labels(&[0.0, 5.0, 10.0], false), ["0", "5", "10"]);
        assert_eq!(
            tick_labels(&[0.46, 0.48, 0.5], false),
            ["0.46", "0.48", "0.50"]
        );
        assert_eq!(
            tick_labels(&[0.01, 0.02, 0.05], true),
            ["0.01", "0.02", "0.05"]
        );
        assert_eq!(tick_labels(&[1e-6, 1e-5], true), ["1e-6", "1e-5"]);
        assert_eq!(tick_labels(&[0.0, 2e5], false), ["0", "2e5"]);
    }
}
