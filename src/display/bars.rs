//! Bar charts: [`bar_chart`] compares one value per configuration.

use anyhow::{ensure, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{
    draw_mesh, draw_text, fit_text, fmt_num, fmt_sig, label_axes, max_text_width, render,
    split_title, text_width, y_area_size, Anchor, Area, Ticked, TickedChart, DARK_GRAY, LABEL_SIZE,
    TAB10,
};
use super::figure::Figure;

/// One bar of a [`bar_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Text under the bar, e.g. "z10 lr1e-3 wd1e-5".
    pub label: String,
    /// Height of the bar (may be negative).
    pub value: f64,
    /// Half-length of an error bar drawn at the top (e.g. a standard deviation), if any.
    pub error: Option<f64>,
}

impl Bar {
    /// A bar without error bar.
    pub fn new(label: impl Into<String>, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            error: None,
        }
    }

    /// A bar with an error bar of half-length `error`.
    pub fn with_error(label: impl Into<String>, value: f64, error: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            error: Some(error),
        }
    }
}

const BAR_LABEL: f64 = 16.0;
/// Longest rotated bar label, in pixels, before it is shortened.
const MAX_ROTATED_LABEL: u32 = 260;
const BAR_COLOR: RGBColor = TAB10[0];
const ERROR_COLOR: RGBColor = RGBColor(40, 40, 40);
const REFERENCE_COLOR: RGBColor = TAB10[3];
/// About the space left of the plot for tick labels and the axis description.
const Y_AREA: u32 = 100;

/// Draws a bar chart whose size follows the number of bars (at least 700 px wide);
/// see [`bar_chart_sized`].
pub fn bar_chart(
    title: &str,
    y_label: &str,
    bars: &[Bar],
    reference: Option<(f64, &str)>,
) -> Result<Figure> {
    let width = (200 + 64 * bars.len() as u32).clamp(700, 1600);
    let label_h = label_layout(bars, width).0;
    bar_chart_sized(width, 460 + label_h, title, y_label, bars, reference)
}

/// Draws one vertical bar per entry with its value printed above it, optional
/// error bars, and an optional dashed horizontal reference line labelled with
/// its name and value (e.g. `Some((0.021, "PCA-10"))`).
///
/// Labels that do not fit under their bar are written vertically (and very
/// long ones shortened with an ellipsis); value labels shrink to fit.
///
/// Fails if there are no bars, a value or reference is not finite, or an error is negative or not finite.
pub fn bar_chart_sized(
    width: u32,
    height: u32,
    title: &str,
    y_label: &str,
    bars: &[Bar],
    reference: Option<(f64, &str)>,
) -> Result<Figure> {
    check_input(width, height, title, bars, reference)?;
    let layout = BarLayout::new(width, bars, reference);
    render(width, height, |root| {
        let body = split_title(root, title)?;
        let mut chart = build_chart(&body, title, y_label, bars.len(), &layout)?;
        label_axes(root, &chart, "", y_label)?;
        draw_bars(&mut chart, bars, &layout)?;
        if let Some(reference) = reference {
            draw_reference(root, &mut chart, bars.len(), reference)?;
        }
        for (i, (bar, value)) in bars.iter().zip(&layout.values).enumerate() {
            draw_value(root, &chart, i, bar, value, layout.value_size)?;
            draw_bar_label(root, &chart, i, bar, &layout)?;
        }
        Ok(())
    })
}

/// Checks that there are bars, that values, errors and the reference are
/// usable, and that the figure has room for a chart.
fn check_input(
    width: u32,
    height: u32,
    title: &str,
    bars: &[Bar],
    reference: Option<(f64, &str)>,
) -> Result<()> {
    ensure!(!bars.is_empty(), "bar chart {title:?} has no bars");
    for b in bars {
        ensure!(
            b.value.is_finite(),
            "bar {:?} has a non-finite value {}",
            b.label,
            b.value
        );
        if let Some(e) = b.error {
            ensure!(
                e.is_finite() && e >= 0.0,
                "bar {:?} has an invalid error {e}",
                b.label
            );
        }
    }
    if let Some((r, name)) = reference {
        ensure!(r.is_finite(), "reference line {name:?} is not finite");
    }
    ensure!(
        width > Y_AREA + 100 && height > 200,
        "bar chart of {width}x{height} pixels is too small"
    );
    Ok(())
}

/// What a bar chart needs before it is drawn: label room, axis range and value texts.
struct BarLayout {
    /// Height of the label area under the bars.
    label_h: u32,
    /// Whether bar labels are written vertically.
    rotated: bool,
    /// Bottom of the value axis.
    y0: f64,
    /// Top of the value axis.
    y1: f64,
    /// The value printed at each bar.
    values: Vec<String>,
    /// Font size of the values, shrunk until they fit a bar slot.
    value_size: f64,
}

impl BarLayout {
    /// Lays out `bars` on a chart `width` pixels wide, with an optional reference value.
    fn new(width: u32, bars: &[Bar], reference: Option<(f64, &str)>) -> BarLayout {
        let (label_h, rotated) = label_layout(bars, width);
        let slot = slot_width(width, bars.len());
        let (y0, y1) = value_range(bars, reference);
        let values: Vec<String> = bars.iter().map(|b| fmt_sig(b.value, 3)).collect();
        let mut value_size = 15.0;
        while value_size > 10.0
            && max_text_width(values.iter().map(String::as_str), value_size) + 4 > slot as u32
        {
            value_size -= 1.0;
        }
        BarLayout {
            label_h,
            rotated,
            y0,
            y1,
            values,
            value_size,
        }
    }
}

/// The value axis range: it always includes 0, every error bar and the
/// reference, with room beyond the bars for their values.
fn value_range(bars: &[Bar], reference: Option<(f64, &str)>) -> (f64, f64) {
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for b in bars {
        let e = b.error.unwrap_or(0.0);
        lo = lo.min(b.value - e);
        hi = hi.max(b.value + e);
    }
    if let Some((r, _)) = reference {
        lo = lo.min(r);
        hi = hi.max(r);
    }
    let span = if hi - lo > 0.0 { hi - lo } else { 1.0 };
    let y1 = if hi > 0.0 || lo >= 0.0 {
        hi + 0.12 * span
    } else {
        hi
    };
    let y0 = if lo < 0.0 { lo - 0.12 * span } else { lo };
    (y0, y1)
}

/// A bar chart: bar `i` is centred at x = `i`.
type BarChart<'a, 'b> = TickedChart<'a, 'b, RangedCoordf64, RangedCoordf64>;

/// Builds the chart for `n` bars on `body` (the figure below its title) and
/// draws its horizontal grid lines and axes.
fn build_chart<'a, 'b>(
    body: &'a Area<'b>,
    title: &str,
    y_label: &str,
    n: usize,
    layout: &BarLayout,
) -> Result<BarChart<'a, 'b>> {
    let (_, body_h) = body.dim_in_pixel();
    let x: RangedCoordf64 = (-0.5..n as f64 - 0.5).into();
    let y = Ticked::linear(
        layout.y0,
        layout.y1,
        ((body_h - layout.label_h) as usize / 70).clamp(3, 8),
    );
    let y_area = y_area_size(&y, y_label);
    let mut chart = ChartBuilder::on(body)
        .margin_left(12)
        .margin_right(24)
        .margin_top(if title.is_empty() { 18 } else { 4 })
        .margin_bottom(6)
        .x_label_area_size(layout.label_h)
        .y_label_area_size(y_area)
        .build_cartesian_2d(Ticked::new(x, Vec::new(), false), y)?;
    draw_mesh(&mut chart, false)?;
    Ok(chart)
}

/// Draws the bars, a zero line when the axis goes below 0, and the error bars.
fn draw_bars(chart: &mut BarChart, bars: &[Bar], layout: &BarLayout) -> Result<()> {
    let half = 0.36;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let x = i as f64;
        Rectangle::new([(x - half, 0.0), (x + half, b.value)], BAR_COLOR.filled())
    }))?;
    if layout.y0 < 0.0 {
        chart.draw_series(LineSeries::new(
            [(-0.5, 0.0), (bars.len() as f64 - 0.5, 0.0)],
            DARK_GRAY.stroke_width(1),
        ))?;
    }
    for (i, b) in bars.iter().enumerate() {
        if let Some(e) = b.error.filter(|&e| e > 0.0) {
            let x = i as f64;
            let cap = 0.14;
            let style = ERROR_COLOR.stroke_width(2);
            chart.draw_series(LineSeries::new([(x, b.value - e), (x, b.value + e)], style))?;
            for y in [b.value - e, b.value + e] {
                chart.draw_series(LineSeries::new([(x - cap, y), (x + cap, y)], style))?;
            }
        }
    }
    Ok(())
}

/// Draws the dashed reference line across all `n` bars and writes its name
/// and value above its right end, on a light background.
fn draw_reference(
    root: &Area,
    chart: &mut BarChart,
    n: usize,
    (r, name): (f64, &str),
) -> Result<()> {
    chart.draw_series(DashedLineSeries::new(
        [(-0.5, r), (n as f64 - 0.5, r)],
        10,
        6,
        REFERENCE_COLOR.stroke_width(2),
    ))?;
    let text = if name.is_empty() {
        fmt_num(r)
    } else {
        format!("{name} = {}", fmt_num(r))
    };
    let (px, py) = chart.backend_coord(&(n as f64 - 0.5, r));
    let w = text_width(&text, LABEL_SIZE) as i32;
    root.draw(&Rectangle::new(
        [(px - w - 12, py - 26), (px - 2, py - 3)],
        WHITE.mix(0.8).filled(),
    ))?;
    draw_text(
        root,
        &text,
        (px - 6, py - 5),
        LABEL_SIZE,
        REFERENCE_COLOR,
        Anchor::new(HPos::Right, VPos::Bottom),
    )
}

/// Writes `value` beyond the end of bar `i` (and its error bar): above a
/// positive bar, below a negative one, on a light background so that it stays
/// readable where it crosses the reference line.
fn draw_value(
    root: &Area,
    chart: &BarChart,
    i: usize,
    bar: &Bar,
    value: &str,
    size: f64,
) -> Result<()> {
    let e = bar.error.unwrap_or(0.0);
    let (above, end) = if bar.value >= 0.0 {
        (true, bar.value + e)
    } else {
        (false, bar.value - e)
    };
    let (px, py) = chart.backend_coord(&(i as f64, end));
    let w = text_width(value, size) as i32;
    let h = size as i32;
    let (top, anchor_y, v) = if above {
        (py - 6 - h, py - 6, VPos::Bottom)
    } else {
        (py + 6, py + 6, VPos::Top)
    };
    root.draw(&Rectangle::new(
        [(px - w / 2 - 2, top), (px + w / 2 + 2, top + h)],
        WHITE.mix(0.85).filled(),
    ))?;
    draw_text(
        root,
        value,
        (px, anchor_y),
        size,
        BLACK,
        Anchor::new(HPos::Center, v),
    )
}

/// Writes the label of bar `i` under the axis, vertically (and shortened) if
/// the layout says labels are rotated.
fn draw_bar_label(
    root: &Area,
    chart: &BarChart,
    i: usize,
    bar: &Bar,
    layout: &BarLayout,
) -> Result<()> {
    let (px, py) = chart.backend_coord(&(i as f64, layout.y0));
    if layout.rotated {
        let label = fit_text(&bar.label, BAR_LABEL, MAX_ROTATED_LABEL);
        draw_text(
            root,
            &label,
            (px, py + 10),
            BAR_LABEL,
            BLACK,
            Anchor::vertical(HPos::Right, VPos::Center),
        )
    } else {
        draw_text(
            root,
            &bar.label,
            (px, py + 10),
            BAR_LABEL,
            BLACK,
            Anchor::new(HPos::Center, VPos::Top),
        )
    }
}

/// Approximate width of one bar slot for a chart `width` pixels wide.
fn slot_width(width: u32, n: usize) -> f64 {
    f64::from(width.saturating_sub(Y_AREA + 34)) / n.max(1) as f64
}

/// Height of the label area and whether labels must be written vertically.
fn label_layout(bars: &[Bar], width: u32) -> (u32, bool) {
    let widest = max_text_width(bars.iter().map(|b| b.label.as_str()), BAR_LABEL);
    if f64::from(widest) + 8.0 <= slot_width(width, bars.len()) {
        (40, false)
    } else {
        (widest.min(MAX_ROTATED_LABEL) + 22, true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::figure::decode;
    use super::*;

    fn configs() -> Vec<Bar> {
        let mut bars = Vec::new();
        for z in [2, 10, 32] {
            for lr in ["1e-3", "3e-4"] {
                for wd in ["0", "1e-5", "1e-4"] {
                    let v = 0.01 + z as f64 * 1e-4;
                    bars.push(Bar::with_error(format!("z{z} lr{lr} wd{wd}"), v, 0.001));
                }
            }
        }
        bars
    }

    #[test]
    fn renders_many_bars_with_rotated_labels() {
        let bars = configs();
        assert_eq!(bars.len(), 18);
        let fig = bar_chart("Test MSE", "MSE", &bars, Some((0.0125, "PCA-10"))).unwrap();
        let (w, h, _) = decode(&fig);
        assert_eq!((w, h), (fig.width(), fig.height()));
        assert!(label_layout(&bars, w).1, "long labels are rotated");
        assert!(h > 460 + 100);
    }

    #[test]
    fn few_bars_have_horizontal_labels() {
        let bars = vec![
            Bar::new("AE", 0.02),
            Bar::new("PCA", 0.03),
            Bar::new("VAE", -0.01),
        ];
        assert!(!label_layout(&bars, 700).1);
        let fig = bar_chart("", "", &bars, None).unwrap();
        assert_eq!(decode(&fig).0, 700);
        let fig = bar_chart_sized(500, 300, "t", "y", &[Bar::new("zero", 0.0)], None).unwrap();
        assert_eq!((fig.width(), fig.height()), (500, 300));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(bar_chart("t", "y", &[], None).is_err());
        assert!(bar_chart("t", "y", &[Bar::new("nan", f64::NAN)], None).is_err());
        assert!(bar_chart("t", "y", &[Bar::with_error("neg", 1.0, -0.1)], None).is_err());
        assert!(bar_chart(
            "t",
            "y",
            &[Bar::new("a", 1.0)],
            Some((f64::INFINITY, "ref"))
        )
        .is_err());
        assert!(bar_chart_sized(50, 50, "t", "y", &[Bar::new("a", 1.0)], None).is_err());
    }
}
