//! Line plots: [`line_plot`] for curves such as training and validation loss.

use std::ops::Range;

use anyhow::{bail, Result};
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{
    draw_mesh, draw_text, label_axes, log_ticks, max_text_width, pad_range, palette, render,
    split_title, text_width, x_area_size, y_area_size, Anchor, Area, Ticked, TickedChart,
    DARK_GRAY, LABEL_SIZE,
};
use super::figure::Figure;

/// One named curve of a [`line_plot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry; an empty name gets no legend entry.
    pub name: String,
    /// `(x, y)` points in drawing order; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series with the given name and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
        }
    }

    /// A series whose x values are `0, 1, 2, ...` (e.g. one value per epoch).
    pub fn from_values(name: impl Into<String>, values: &[f64]) -> Series {
        Series::new(
            name,
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v))
                .collect(),
        )
    }
}

/// A labelled vertical line, e.g. "unfreeze encoder" at epoch 5.
#[derive(Debug, Clone, PartialEq)]
pub struct VMarker {
    /// Position on the x axis.
    pub x: f64,
    /// Text shown next to the top of the line.
    pub label: String,
}

impl VMarker {
    /// A marker at `x` with the given label.
    pub fn new(x: f64, label: impl Into<String>) -> VMarker {
        VMarker {
            x,
            label: label.into(),
        }
    }
}

/// Series with at most this many points also get a dot at each point.
const MAX_DOTTED_POINTS: usize = 30;
/// Height of one row of marker labels.
const MARKER_ROW: i32 = 22;
/// Height of one legend entry.
const LEGEND_ROW: i32 = 26;
/// Length of the line sample in the legend.
const LEGEND_SWATCH: u32 = 28;
const MARKER_TEXT: f64 = 15.0;

/// Draws one or more series as lines on an 800x500 figure; see [`line_plot_sized`].
pub fn line_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    markers: &[VMarker],
    log_y: bool,
) -> Result<Figure> {
    line_plot_sized(800, 500, title, x_label, y_label, series, markers, log_y)
}

/// Draws one or more series as lines, with a legend and labelled vertical markers.
///
/// Each series gets its own colour; short series (and single points) also get
/// a dot per point. Points with a non-finite coordinate — and, with `log_y`,
/// points with `y <= 0` — are skipped and break the line. Axis ranges cover
/// every drawn point and marker with a small margin.
///
/// Fails if no series has a drawable point or the size is invalid.
#[allow(clippy::too_many_arguments)]
pub fn line_plot_sized(
    width: u32,
    height: u32,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    markers: &[VMarker],
    log_y: bool,
) -> Result<Figure> {
    let drawable = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let mut bounds: Option<(f64, f64, f64, f64)> = None;
    for &(x, y) in series
        .iter()
        .flat_map(|s| &s.points)
        .filter(|p| drawable(p))
    {
        bounds = Some(match bounds {
            None => (x, x, y, y),
            Some((x0, x1, y0, y1)) => (x0.min(x), x1.max(x), y0.min(y), y1.max(y)),
        });
    }
    let Some((mut xmin, mut xmax, ymin, ymax)) = bounds else {
        bail!(
            "line plot {title:?} has no finite point to draw{}",
            if log_y {
                " (log scale needs y > 0)"
            } else {
                ""
            }
        );
    };
    let markers: Vec<&VMarker> = markers.iter().filter(|m| m.x.is_finite()).collect();
    for m in &markers {
        xmin = xmin.min(m.x);
        xmax = xmax.max(m.x);
    }
    let (x0, x1) = pad_range(xmin, xmax, 0.02);
    // Leave room for marker labels above the data.
    let top_pad = if markers.is_empty() { 0.05 } else { 0.16 };
    let plot = Plot {
        title,
        x_label,
        y_label,
        series,
        markers: &markers,
        x_range: (x0, x1),
        drawable: &drawable,
    };
    if log_y {
        let (l0, l1) = (ymin.log10(), ymax.log10());
        let (l0, l1) = if l1 - l0 < 1e-9 {
            (l0 - 0.5, l1 + 0.5)
        } else {
            let span = l1 - l0;
            (l0 - 0.05 * span, l1 + top_pad * span)
        };
        let (lo, hi) = (10f64.powf(l0), 10f64.powf(l1));
        let range: LogCoord<f64> = (lo..hi).log_scale().into();
        let y = Ticked::new(range, log_ticks(lo, hi), true);
        render(width, height, |root| plot.draw(root, y))
    } else {
        let (y0, y1) = if ymax - ymin <= 0.0 {
            pad_range(ymin, ymax, 0.05)
        } else {
            let span = ymax - ymin;
            (ymin - 0.05 * span, ymax + top_pad * span)
        };
        render(width, height, |root| {
            plot.draw(root, Ticked::linear(y0, y1, 6))
        })
    }
}

struct Plot<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [Series],
    markers: &'a [&'a VMarker],
    x_range: (f64, f64),
    drawable: &'a dyn Fn(&(f64, f64)) -> bool,
}

/// A pixel rectangle `(x0, y0, x1, y1)`.
type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

impl Plot<'_> {
    /// Each series split into runs of drawable points.
    fn segments(&self, s: &Series) -> Vec<Vec<(f64, f64)>> {
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in &s.points {
            if (self.drawable)(p) {
                segments.last_mut().expect("never empty").push(*p);
            } else if !segments.last().expect("never empty").is_empty() {
                segments.push(Vec::new());
            }
        }
        segments.retain(|seg| !seg.is_empty());
        segments
    }

    fn draw<Y: Ranged<ValueType = f64>>(&self, root: &Area, y: Ticked<Y>) -> Result<()> {
        let body = split_title(root, self.title)?;
        let (width, _) = root.dim_in_pixel();
        let mut chart = self.build_chart(&body, width, y)?;
        label_axes(root, &chart, self.x_label, self.y_label)?;
        let (x_pixels, y_pixels) = chart.plotting_area().get_pixel_range();
        let plot = PlotPixels {
            x: x_pixels,
            y: y_pixels,
        };
        let all_segments: Vec<Vec<Vec<(f64, f64)>>> =
            self.series.iter().map(|s| self.segments(s)).collect();
        self.draw_curves(&mut chart, &all_segments)?;

        let samples = curve_samples(&chart, &all_segments);
        let mut occupied: Vec<Rect> = Vec::new();
        if let Some(legend) = self.draw_legend(root, &plot, &samples)? {
            occupied.push(legend);
        }
        self.draw_marker_labels(root, &chart, &plot, &mut occupied)
    }

    /// Builds the chart on `body` (the figure below its title, in a figure
    /// `width` pixels wide) and draws its grid lines and axes.
    fn build_chart<'a, 'b, Y: Ranged<ValueType = f64>>(
        &self,
        body: &'a Area<'b>,
        width: u32,
        y: Ticked<Y>,
    ) -> Result<LineChart<'a, 'b, Y>> {
        let x = Ticked::linear(
            self.x_range.0,
            self.x_range.1,
            (width as usize / 100).clamp(3, 10),
        );
        let mut chart = ChartBuilder::on(body)
            .margin_left(12)
            .margin_right(28)
            .margin_top(if self.title.is_empty() { 18 } else { 4 })
            .margin_bottom(8)
            .x_label_area_size(x_area_size(self.x_label))
            .y_label_area_size(y_area_size(&y, self.y_label))
            .build_cartesian_2d(x, y)?;
        draw_mesh(&mut chart, true)?;
        Ok(chart)
    }

    /// Draws the dashed vertical markers and then, over them, each series'
    /// `segments` as lines (with a dot per point for short series).
    fn draw_curves<Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut LineChart<'_, '_, Y>,
        all_segments: &[Vec<Vec<(f64, f64)>>],
    ) -> Result<()> {
        let (ylo, yhi) = {
            let r = chart.y_range();
            (r.start, r.end)
        };
        for m in self.markers {
            chart.draw_series(DashedLineSeries::new(
                [(m.x, ylo), (m.x, yhi)],
                7,
                5,
                DARK_GRAY.stroke_width(2),
            ))?;
        }
        for (i, segments) in all_segments.iter().enumerate() {
            let color = palette(i);
            let count: usize = segments.iter().map(Vec::len).sum();
            for seg in segments {
                chart.draw_series(LineSeries::new(seg.iter().copied(), color.stroke_width(3)))?;
                if count <= MAX_DOTTED_POINTS {
                    chart.draw_series(seg.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
                }
            }
        }
        Ok(())
    }

    /// Draws the legend of the named series in whichever corner of the plot
    /// covers the fewest curve `samples`; returns its rectangle, or `None`
    /// when no series has a name.
    fn draw_legend(
        &self,
        root: &Area,
        plot: &PlotPixels,
        samples: &[(i32, i32)],
    ) -> Result<Option<Rect>> {
        let entries: Vec<(usize, &Series)> = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty())
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        let text_w = max_text_width(entries.iter().map(|(_, s)| s.name.as_str()), LABEL_SIZE);
        let w = (14 + LEGEND_SWATCH + 10 + text_w + 14) as i32;
        let h = 10 + LEGEND_ROW * entries.len() as i32;
        let (lx, ly) = legend_corner(plot, (w, h), samples);
        root.draw(&Rectangle::new(
            [(lx, ly), (lx + w, ly + h)],
            WHITE.mix(0.9).filled(),
        ))?;
        root.draw(&Rectangle::new(
            [(lx, ly), (lx + w, ly + h)],
            RGBColor(190, 190, 190),
        ))?;
        for (row, (i, s)) in entries.iter().enumerate() {
            let cy = ly + 5 + LEGEND_ROW * row as i32 + LEGEND_ROW / 2;
            self.draw_legend_entry(root, (lx + 14, cy), palette(*i), s)?;
        }
        Ok(Some((lx, ly, lx + w, ly + h)))
    }

    /// Draws one legend entry starting at `(x, cy)`: a line sample (for series
    /// with more than one point), a dot (for short series) and the name.
    fn draw_legend_entry(
        &self,
        root: &Area,
        (x0, cy): (i32, i32),
        color: RGBColor,
        s: &Series,
    ) -> Result<()> {
        let x1 = x0 + LEGEND_SWATCH as i32;
        let points = self.segments(s).iter().map(Vec::len).sum::<usize>();
        if points > 1 {
            root.draw(&PathElement::new(
                vec![(x0, cy), (x1, cy)],
                color.stroke_width(3),
            ))?;
        }
        if points <= MAX_DOTTED_POINTS {
            root.draw(&Circle::new(((x0 + x1) / 2, cy), 4, color.filled()))?;
        }
        draw_text(
            root,
            &s.name,
            (x1 + 10, cy),
            LABEL_SIZE,
            BLACK,
            Anchor::new(HPos::Left, VPos::Center),
        )
    }

    /// Writes the marker labels near the top of the plot, left to right, on a
    /// light background, avoiding the `occupied` rectangles and each other.
    fn draw_marker_labels<Y: Ranged<ValueType = f64>>(
        &self,
        root: &Area,
        chart: &LineChart<'_, '_, Y>,
        plot: &PlotPixels,
        occupied: &mut Vec<Rect>,
    ) -> Result<()> {
        let yhi = chart.y_range().end;
        let mut sorted: Vec<&VMarker> = self.markers.to_vec();
        sorted.sort_by(|a, b| a.x.total_cmp(&b.x));
        for m in sorted.iter().filter(|m| !m.label.is_empty()) {
            let (px, _) = chart.backend_coord(&(m.x, yhi));
            let w = text_width(&m.label, MARKER_TEXT) as i32;
            let (left, rect) = place_marker_label(px, w, plot, occupied);
            occupied.push(rect);
            root.draw(&Rectangle::new(
                [(rect.0, rect.1), (rect.2, rect.3)],
                WHITE.mix(0.85).filled(),
            ))?;
            draw_text(
                root,
                &m.label,
                (left, (rect.1 + rect.3) / 2),
                MARKER_TEXT,
                DARK_GRAY,
                Anchor::new(HPos::Left, VPos::Center),
            )?;
        }
        Ok(())
    }
}

/// A line plot's chart: linear x axis, linear or logarithmic y axis.
type LineChart<'a, 'b, Y> = TickedChart<'a, 'b, RangedCoordf64, Y>;

/// The pixel extent of the plotting area.
struct PlotPixels {
    x: Range<i32>,
    y: Range<i32>,
}

/// Pixel positions along the drawn curves (the points and seven steps
/// between each pair), to keep the legend off the data.
fn curve_samples<Y: Ranged<ValueType = f64>>(
    chart: &LineChart<'_, '_, Y>,
    all_segments: &[Vec<Vec<(f64, f64)>>],
) -> Vec<(i32, i32)> {
    let mut samples: Vec<(i32, i32)> = Vec::new();
    for seg in all_segments.iter().flatten() {
        let px: Vec<(i32, i32)> = seg.iter().map(|p| chart.backend_coord(p)).collect();
        samples.extend(px.iter().copied());
        for pair in px.windows(2) {
            for k in 1..8 {
                let t = f64::from(k) / 8.0;
                let lerp = |a: i32, b: i32| a + (f64::from(b - a) * t).round() as i32;
                samples.push((lerp(pair[0].0, pair[1].0), lerp(pair[0].1, pair[1].1)));
            }
        }
    }
    samples
}

/// Top-left corner for a legend of `size` = `(w, h)` pixels: the plot corner
/// (top right, top left, bottom right, bottom left on a tie) that covers the
/// fewest `samples`.
fn legend_corner(plot: &PlotPixels, (w, h): (i32, i32), samples: &[(i32, i32)]) -> (i32, i32) {
    let inset = 10;
    let (left, right) = (plot.x.start + inset, plot.x.end - inset - w);
    let (top, bottom) = (plot.y.start + inset, plot.y.end - inset - h);
    let candidates = [(right, top), (left, top), (right, bottom), (left, bottom)];
    let cost = |&(x, y): &(i32, i32)| {
        samples
            .iter()
            .filter(|p| {
                overlaps(
                    (x - 4, y - 4, x + w + 4, y + h + 4),
                    (p.0, p.1, p.0 + 1, p.1 + 1),
                )
            })
            .count()
    };
    candidates
        .iter()
        .min_by_key(|c| cost(c))
        .copied()
        .expect("four candidates")
}

/// Where to put a label `w` pixels wide for the marker at pixel column `px`:
/// right of the line if it fits in the plot, else left; the other side is
/// tried before moving down a row, until the label overlaps nothing in
/// `occupied` (or 20 rows down). Returns the text's left edge and its
/// background rectangle.
fn place_marker_label(px: i32, w: i32, plot: &PlotPixels, occupied: &[Rect]) -> (i32, Rect) {
    let h = MARKER_ROW - 2;
    let right_side = px + 5;
    let left_side = px - 7 - w;
    let sides: Vec<i32> = [right_side, left_side]
        .into_iter()
        .filter(|&l| l >= plot.x.start + 2 && l + w <= plot.x.end - 2)
        .collect();
    let sides = if sides.is_empty() {
        vec![right_side]
    } else {
        sides
    };
    let mut row = 0;
    loop {
        let top = plot.y.start + 4 + MARKER_ROW * row;
        for &left in &sides {
            let rect = (left - 2, top, left + w + 2, top + h);
            if row >= 20 || !occupied.iter().any(|&o| overlaps(o, rect)) {
                return (left, rect);
            }
        }
        row += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::figure::decode;
    use super::*;

    fn curves() -> Vec<Series> {
        vec![
            Series::from_values("train", &[0.9, 0.5, 0.3, 0.25, 0.2]),
            Series::from_values("validation", &[1.0, 0.6, 0.45, 0.4, 0.41]),
        ]
    }

    #[test]
    fn renders_png_of_requested_size() {
        let fig = line_plot(
            "Loss",
            "epoch",
            "MSE",
            &curves(),
            &[VMarker::new(2.0, "unfreeze")],
            false,
        )
        .unwrap();
        let (w, h, px) = decode(&fig);
        assert_eq!((w, h), (800, 500));
        // Something other than the white background was drawn.
        assert!(px.iter().any(|&b| b < 200));
        let fig = line_plot_sized(640, 360, "", "", "", &curves(), &[], true).unwrap();
        assert_eq!((fig.width(), fig.height()), (640, 360));
    }

    #[test]
    fn single_point_and_non_finite_points() {
        let one = [Series::new("one", vec![(3.0, 0.5)])];
        assert!(line_plot("t", "x", "y", &one, &[], false).is_ok());
        assert!(line_plot("t", "x", "y", &one, &[], true).is_ok());
        let gappy = [Series::new(
            "gappy",
            vec![
                (0.0, 1.0),
                (1.0, f64::NAN),
                (2.0, f64::INFINITY),
                (3.0, 2.0),
                (f64::NAN, 1.0),
            ],
        )];
        assert!(line_plot(
            "t",
            "x",
            "y",
            &gappy,
            &[VMarker::new(f64::NAN, "bad")],
            false
        )
        .is_ok());
    }

    #[test]
    fn errors_without_finite_points() {
        assert!(line_plot("t", "x", "y", &[], &[], false).is_err());
        let nan = [Series::new(
            "nan",
            vec![(0.0, f64::NAN), (f64::INFINITY, 1.0)],
        )];
        assert!(line_plot("t", "x", "y", &nan, &[], false).is_err());
        let non_positive = [Series::new("zero", vec![(0.0, 0.0), (1.0, -1.0)])];
        assert!(line_plot("t", "x", "y", &non_positive, &[], true).is_err());
        assert!(line_plot("t", "x", "y", &non_positive, &[], false).is_ok());
        assert!(line_plot_sized(0, 10, "t", "x", "y", &curves(), &[], false).is_err());
    }
}
