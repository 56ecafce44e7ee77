//! Scatter plots of 2-D points coloured by class: [`scatter_plot`].

use anyhow::{bail, ensure, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{
    draw_mesh, draw_text, fit_text, label_axes, max_text_width, pad_range, palette, render,
    split_title, x_area_size, y_area_size, Anchor, Area, Ticked, TickedChart, LABEL_SIZE,
};
use super::figure::Figure;

/// Longest legend entry, in pixels, before it is shortened with an ellipsis.
const MAX_LEGEND_TEXT: u32 = 220;

/// Draws a 900x650 scatter plot; see [`scatter_plot_sized`].
pub fn scatter_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    classes: &[usize],
    class_names: &[String],
) -> Result<Figure> {
    scatter_plot_sized(
        900,
        650,
        title,
        x_label,
        y_label,
        points,
        classes,
        class_names,
    )
}

/// Draws points as small filled circles, one colour per class (the ten
/// "tab10" colours, repeating after ten classes), with a legend at the right.
///
/// `classes[i]` is the class of `points[i]`; class `c` is called
/// `class_names[c]` in the legend, or just `c` when there is no such name.
/// The legend lists every named class and every class that occurs. Points with
/// a non-finite coordinate are skipped.
///
/// Fails if `points` and `classes` differ in length or no point is finite.
#[allow(clippy::too_many_arguments)]
pub fn scatter_plot_sized(
    width: u32,
    height: u32,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    classes: &[usize],
    class_names: &[String],
) -> Result<Figure> {
    ensure!(
        points.len() == classes.len(),
        "scatter plot has {} points but {} class indices",
        points.len(),
        classes.len()
    );
    let Some(ranges) = axis_ranges(points) else {
        bail!("scatter plot {title:?} has no finite point to draw");
    };
    let legend = legend_entries(classes, class_names);
    let legend_w = if legend.is_empty() {
        0
    } else {
        max_text_width(legend.iter().map(|(_, n)| n.as_str()), LABEL_SIZE) + 56
    };
    ensure!(
        legend_w + 200 < width,
        "scatter plot is too narrow ({width} px) for its legend"
    );

    render(width, height, |root| {
        let body = split_title(root, title)?;
        let (plot_area, legend_area) = body.split_horizontally(width - legend_w);
        let mut chart = build_chart(&plot_area, title, x_label, y_label, ranges)?;
        label_axes(root, &chart, x_label, y_label)?;
        draw_points(&mut chart, points, classes)?;
        draw_legend(root, &chart, legend_area.get_base_pixel(), &legend)
    })
}

/// Whether both coordinates of a point are finite.
fn is_finite_point(&(x, y): &(f64, f64)) -> bool {
    x.is_finite() && y.is_finite()
}

/// The x and y ranges that hold every finite point with a small margin, or
/// `None` if no point is finite.
fn axis_ranges(points: &[(f64, f64)]) -> Option<((f64, f64), (f64, f64))> {
    let mut bounds: Option<(f64, f64, f64, f64)> = None;
    for &(x, y) in points.iter().filter(|p| is_finite_point(p)) {
        bounds = Some(match bounds {
            None => (x, x, y, y),
            Some((x0, x1, y0, y1)) => (x0.min(x), x1.max(x), y0.min(y), y1.max(y)),
        });
    }
    let (xmin, xmax, ymin, ymax) = bounds?;
    Some((pad_range(xmin, xmax, 0.04), pad_range(ymin, ymax, 0.04)))
}

/// The legend: each named class and each class that occurs, in order, with
/// its name (or number) shortened to fit.
fn legend_entries(classes: &[usize], class_names: &[String]) -> Vec<(usize, String)> {
    let max_class = classes.iter().copied().max();
    let n_legend = class_names.len().max(max_class.map_or(0, |c| c + 1));
    let mut present = vec![false; n_legend];
    for &c in classes {
        present[c] = true;
    }
    (0..n_legend)
        .filter(|&c| c < class_names.len() || present[c])
        .map(|c| {
            let name = class_names.get(c).cloned().unwrap_or_else(|| c.to_string());
            (c, fit_text(&name, LABEL_SIZE, MAX_LEGEND_TEXT))
        })
        .collect()
}

/// A scatter plot's chart: linear x and y axes.
type ScatterChart<'a, 'b> = TickedChart<'a, 'b, RangedCoordf64, RangedCoordf64>;

/// Builds the chart over `ranges` = `((x0, x1), (y0, y1))` on `plot_area`
/// (the figure below its title, left of the legend) and draws its grid lines
/// and axes.
fn build_chart<'a, 'b>(
    plot_area: &'a Area<'b>,
    title: &str,
    x_label: &str,
    y_label: &str,
    ranges: ((f64, f64), (f64, f64)),
) -> Result<ScatterChart<'a, 'b>> {
    let ((x0, x1), (y0, y1)) = ranges;
    let (plot_w, plot_h) = plot_area.dim_in_pixel();
    let x = Ticked::linear(x0, x1, (plot_w as usize / 100).clamp(3, 10));
    let y = Ticked::linear(y0, y1, (plot_h as usize / 80).clamp(3, 8));
    let mut chart = ChartBuilder::on(plot_area)
        .margin_left(12)
        .margin_right(10)
        .margin_top(if title.is_empty() { 18 } else { 4 })
        .margin_bottom(8)
        .x_label_area_size(x_area_size(x_label))
        .y_label_area_size(y_area_size(&y, y_label))
        .build_cartesian_2d(x, y)?;
    draw_mesh(&mut chart, true)?;
    Ok(chart)
}

/// Draws each finite point as a translucent dot in its class colour; dots are
/// smaller when there are many points, so that clusters stay visible.
fn draw_points(chart: &mut ScatterChart, points: &[(f64, f64)], classes: &[usize]) -> Result<()> {
    let radius = match points.len() {
        0..=500 => 5,
        501..=3000 => 3,
        _ => 2,
    };
    chart.draw_series(
        points
            .iter()
            .zip(classes)
            .filter(|(p, _)| is_finite_point(p))
            .map(|(&p, &c)| Circle::new(p, radius, palette(c).mix(0.75).filled())),
    )?;
    Ok(())
}

/// Draws the legend in the right column whose top-left corner is
/// `legend_origin`: a coloured dot and the class name per line, starting
/// level with the top of the plot.
fn draw_legend(
    root: &Area,
    chart: &ScatterChart,
    legend_origin: (i32, i32),
    legend: &[(usize, String)],
) -> Result<()> {
    let (legend_x, legend_y) = legend_origin;
    let (_, plot_pixels) = chart.plotting_area().get_pixel_range();
    let row_h = 26;
    for (i, (c, name)) in legend.iter().enumerate() {
        let y = plot_pixels.start + 10 + row_h * i as i32 + row_h / 2;
        let y = y.max(legend_y + row_h / 2);
        root.draw(&Circle::new((legend_x + 16, y), 6, palette(*c).filled()))?;
        draw_text(
            root,
            name,
            (legend_x + 32, y),
            LABEL_SIZE,
            BLACK,
            Anchor::new(HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::figure::decode;
    use super::*;

    #[test]
    fn renders_many_points() {
        let n = 10_000;
        let points: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let t = i as f64 * 0.01;
                (
                    t.cos() * (1.0 + (i % 10) as f64),
                    t.sin() * (1.0 + (i % 10) as f64),
                )
            })
            .collect();
        let classes: Vec<usize> = (0..n).map(|i| i % 10).collect();
        let names: Vec<String> = (0..10).map(|i| format!("class {i}")).collect();
        let fig = scatter_plot("Latent space", "z1", "z2", &points, &classes, &names).unwrap();
        let (w, h, _) = decode(&fig);
        assert_eq!((w, h), (900, 650));
    }

    #[test]
    fn handles_missing_names_and_odd_points() {
        let points = [(0.0, 0.0), (f64::NAN, 1.0), (1.0, 1.0)];
        assert!(scatter_plot("", "", "", &points, &[0, 1, 12], &[]).is_ok());
        assert!(scatter_plot("t", "x", "y", &[(1.0, 1.0)], &[0], &["only".to_string()]).is_ok());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(scatter_plot("t", "x", "y", &[(0.0, 0.0)], &[0, 1], &[]).is_err());
        assert!(scatter_plot("t", "x", "y", &[], &[], &[]).is_err());
        assert!(scatter_plot("t", "x", "y", &[(f64::NAN, 0.0)], &[0], &[]).is_err());
        assert!(scatter_plot_sized(100, 100, "t", "x", "y", &[(0.0, 0.0)], &[0], &[]).is_err());
    }
}
