//! Heatmaps: [`heatmap`] for confusion matrices and activation maps.

use anyhow::{ensure, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{
    check_size, draw_text, fill_rect, fit_text, fmt_num, frame_rect, linear_ticks, max_text_width,
    render_on, text_width, tick_labels, Anchor, Area, AXIS_SIZE, LABEL_SIZE, TITLE_HEIGHT,
    TITLE_SIZE,
};
use super::figure::Figure;

const MARGIN: u32 = 16;
const HEAT_LABEL: f64 = 16.0;
/// Longest rotated column label or row label, in pixels, before it is shortened.
const MAX_LABEL: u32 = 200;
const COLORBAR_GAP: u32 = 22;
const COLORBAR_W: u32 = 20;
const NAN_COLOR: [u8; 3] = [200, 200, 200];
const FRAME: [u8; 3] = [120, 120, 120];

/// matplotlib's "Blues" colour map, starting from pure white.
const BLUES: [[f64; 3]; 9] = [
    [255.0, 255.0, 255.0],
    [222.0, 235.0, 247.0],
    [198.0, 219.0, 239.0],
    [158.0, 202.0, 225.0],
    [107.0, 174.0, 214.0],
    [66.0, 146.0, 198.0],
    [33.0, 113.0, 181.0],
    [8.0, 81.0, 156.0],
    [8.0, 48.0, 107.0],
];

/// Colour for `t` in `[0, 1]` (white to dark blue).
fn blues(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (BLUES.len() - 1) as f64;
    let i = (pos.floor() as usize).min(BLUES.len() - 2);
    let f = pos - i as f64;
    let mut out = [0u8; 3];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (BLUES[i][k] * (1.0 - f) + BLUES[i + 1][k] * f).round() as u8;
    }
    out
}

/// Draws a matrix as coloured cells (white = smallest value, dark blue =
/// largest) with a colour bar; see [`heatmap_with_axes`].
pub fn heatmap(
    title: &str,
    matrix: &[Vec<f64>],
    row_labels: &[String],
    col_labels: &[String],
    annotate: bool,
) -> Result<Figure> {
    heatmap_with_axes(title, "", "", matrix, row_labels, col_labels, annotate)
}

/// Draws a matrix as coloured cells with a colour bar, optional axis names
/// (`x_name` under the columns, `y_name` beside the rows — for a confusion
/// matrix "predicted" and "true") and, with `annotate`, each value written in
/// its cell in black or white, whichever contrasts.
///
/// `row_labels` / `col_labels` are either empty (no labels) or one per
/// row / column; crowded labels are thinned out, and annotations are left out
/// when cells are too small to hold them. Whole-number matrices are annotated
/// as integers. NaN cells are drawn gray.
///
/// Fails if the matrix is empty or ragged, or a label list has the wrong length.
pub fn heatmap_with_axes(
    title: &str,
    x_name: &str,
    y_name: &str,
    matrix: &[Vec<f64>],
    row_labels: &[String],
    col_labels: &[String],
    annotate: bool,
) -> Result<Figure> {
    let (rows, cols) = check_input(title, matrix, row_labels, col_labels)?;
    let finite: Vec<f64> = matrix
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let range = ValueRange::of(&finite);
    let (cell_w, cell_h) = cell_size(rows, cols)?;
    let annotations = Annotations::new(matrix, &finite, (cell_w, cell_h), annotate);
    let labels = AxisLabels::new(row_labels, col_labels, (cell_w, cell_h));
    let ticks = linear_ticks(range.min, range.max, 4);
    let tick_texts = tick_labels(&ticks, false);
    let layout = HeatmapLayout::new(
        (title, x_name, y_name),
        (rows, cols),
        (cell_w, cell_h),
        &labels,
        &tick_texts,
    )?;
    let buf = layout.paint(matrix, &range);

    render_on(layout.total_w, layout.total_h, buf, |root| {
        layout.draw_title(root, title)?;
        if annotations.visible {
            layout.draw_annotations(root, matrix, &range, &annotations)?;
        }
        layout.draw_axis_labels(root, &labels, x_name, y_name)?;
        layout.draw_colorbar_ticks(root, &range, &ticks, &tick_texts)
    })
}

/// Checks that `matrix` is a non-empty rectangle and that each label list is
/// empty or has one entry per row / column; returns `(rows, columns)`.
fn check_input(
    title: &str,
    matrix: &[Vec<f64>],
    row_labels: &[String],
    col_labels: &[String],
) -> Result<(usize, usize)> {
    let nr = matrix.len();
    ensure!(nr > 0, "heatmap {title:?} has no rows");
    let nc = matrix[0].len();
    ensure!(nc > 0, "heatmap {title:?} has no columns");
    for (r, row) in matrix.iter().enumerate() {
        ensure!(
            row.len() == nc,
            "heatmap rows must have the same length: row 0 has {nc} values, row {r} has {}",
            row.len()
        );
    }
    ensure!(
        row_labels.is_empty() || row_labels.len() == nr,
        "{} row labels for {nr} rows",
        row_labels.len()
    );
    ensure!(
        col_labels.is_empty() || col_labels.len() == nc,
        "{} column labels for {nc} columns",
        col_labels.len()
    );
    Ok((nr, nc))
}

/// The value range the colour map spans.
struct ValueRange {
    min: f64,
    max: f64,
}

impl ValueRange {
    /// The range of the `finite` values; a single value is widened by 0.5 on
    /// both sides, and no value at all gives `0..1`.
    fn of(finite: &[f64]) -> ValueRange {
        let vmin = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let vmax = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (min, max) = if finite.is_empty() {
            (0.0, 1.0)
        } else if vmax > vmin {
            (vmin, vmax)
        } else {
            (vmin - 0.5, vmax + 0.5)
        };
        ValueRange { min, max }
    }

    /// Where `v` lies in the range: 0 at its minimum, 1 at its maximum.
    fn norm(&self, v: f64) -> f64 {
        (v - self.min) / (self.max - self.min)
    }
}

/// Cell `(width, height)` for a `rows` x `cols` matrix: filling about
/// 720x560 pixels, square-ish when the shape allows. Fails if the grid of
/// cells would be too large.
fn cell_size(rows: usize, cols: usize) -> Result<(u32, u32)> {
    let mut cell_w = (720 / cols as u32).clamp(3, 64);
    let mut cell_h = (560 / rows as u32).clamp(3, 64);
    if cell_w <= 2 * cell_h && cell_h <= 2 * cell_w {
        let s = cell_w.min(cell_h);
        (cell_w, cell_h) = (s, s);
    }
    check_size(
        cell_w.saturating_mul(cols as u32),
        cell_h.saturating_mul(rows as u32),
    )?;
    Ok((cell_w, cell_h))
}

/// The value written in each cell, and at what size.
struct Annotations {
    /// One text per cell, row by row (empty for non-finite values).
    texts: Vec<Vec<String>>,
    /// Font size, shrunk until the widest text fits its cell.
    size: f64,
    /// Whether annotations were asked for and fit at a readable size.
    visible: bool,
}

impl Annotations {
    /// Formats every cell of `matrix` (whole numbers as integers, small values
    /// with two decimals) and picks a size that fits cells of `cell` pixels.
    fn new(matrix: &[Vec<f64>], finite: &[f64], cell: (u32, u32), annotate: bool) -> Annotations {
        let (cell_w, cell_h) = cell;
        let integers = finite.iter().all(|v| v.fract() == 0.0 && v.abs() < 1e9);
        let small = finite.iter().all(|v| v.abs() < 10.0);
        let format_value = |v: f64| {
            if !v.is_finite() {
                String::new()
            } else if integers {
                format!("{v:.0}")
            } else if small {
                format!("{v:.2}")
            } else {
                fmt_num(v)
            }
        };
        let texts: Vec<Vec<String>> = matrix
            .iter()
            .map(|row| row.iter().map(|&v| format_value(v)).collect())
            .collect();
        let mut size = 16f64.min(f64::from(cell_h) * 0.5).floor();
        if annotate {
            let widest = texts
                .iter()
                .flatten()
                .max_by_key(|t| t.len())
                .map_or("", String::as_str);
            while size >= 9.0 && text_width(widest, size) + 4 > cell_w {
                size -= 1.0;
            }
        }
        Annotations {
            texts,
            size,
            visible: annotate && size >= 9.0,
        }
    }
}

/// Row and column labels, shortened to fit, with the room they need.
struct AxisLabels {
    /// Row labels (empty for none).
    rows: Vec<String>,
    /// Width left of the grid for the row labels.
    row_area: u32,
    /// Every `row_step`-th row label is drawn, so that they do not overlap.
    row_step: usize,
    /// Column labels (empty for none).
    cols: Vec<String>,
    /// Whether column labels are written vertically.
    col_rotated: bool,
    /// Height under the grid for the column labels.
    col_area: u32,
    /// Every `col_step`-th column label is drawn.
    col_step: usize,
}

impl AxisLabels {
    /// Fits the labels to cells of `cell` pixels, rotating column labels
    /// wider than their cell and thinning out crowded ones.
    fn new(row_labels: &[String], col_labels: &[String], cell: (u32, u32)) -> AxisLabels {
        let (cell_w, cell_h) = cell;
        let fit = |labels: &[String]| -> Vec<String> {
            labels
                .iter()
                .map(|l| fit_text(l, HEAT_LABEL, MAX_LABEL))
                .collect()
        };
        let rows = fit(row_labels);
        let cols = fit(col_labels);
        let row_w = max_text_width(rows.iter().map(String::as_str), HEAT_LABEL);
        let row_area = if row_w > 0 { row_w + 12 } else { 0 };
        let row_step = (22 / cell_h + u32::from(22 % cell_h != 0)).max(1) as usize;
        let col_w = max_text_width(cols.iter().map(String::as_str), HEAT_LABEL);
        let col_rotated = col_w + 6 > cell_w;
        let col_area = if cols.is_empty() {
            6
        } else if col_rotated {
            col_w + 16
        } else {
            30
        };
        let col_step = if col_rotated {
            (22 / cell_w + u32::from(22 % cell_w != 0)).max(1)
        } else {
            1
        } as usize;
        AxisLabels {
            rows,
            row_area,
            row_step,
            cols,
            col_rotated,
            col_area,
            col_step,
        }
    }
}

/// Pixel positions and sizes of the parts of a heatmap.
struct HeatmapLayout {
    cell_w: u32,
    cell_h: u32,
    /// Top-left corner of the grid of cells.
    grid_x: u32,
    grid_y: u32,
    grid_w: u32,
    grid_h: u32,
    /// Left edge of the colour bar (its top is `grid_y`).
    bar_x: u32,
    bar_h: u32,
    /// Height of the title line (0 without a title).
    title_h: u32,
    /// Height under the grid for the column labels.
    col_area: u32,
    /// Height of the x axis name line (0 without one).
    x_name_h: u32,
    /// Width of the y axis name column (0 without one).
    y_name_w: u32,
    total_w: u32,
    total_h: u32,
}

impl HeatmapLayout {
    /// Places grid, labels, axis names and colour bar for a `shape` =
    /// `(rows, cols)` matrix of `cell`-sized cells; `texts` are the title and
    /// the x and y axis names. Fails if the figure would be too large.
    fn new(
        texts: (&str, &str, &str),
        shape: (usize, usize),
        cell: (u32, u32),
        labels: &AxisLabels,
        tick_texts: &[String],
    ) -> Result<HeatmapLayout> {
        let (title, x_name, y_name) = texts;
        let (cell_w, cell_h) = cell;
        let grid_w = cell_w.saturating_mul(shape.1 as u32);
        let grid_h = cell_h.saturating_mul(shape.0 as u32);
        let x_name_h = if x_name.is_empty() { 0 } else { 34 };
        let y_name_w = if y_name.is_empty() { 0 } else { 34 };
        let tick_w = max_text_width(tick_texts.iter().map(String::as_str), LABEL_SIZE);
        let title_h = if title.is_empty() { 0 } else { TITLE_HEIGHT };

        let grid_x = MARGIN + y_name_w + labels.row_area;
        let grid_y = MARGIN + title_h;
        let bar_x = grid_x + grid_w + COLORBAR_GAP;
        let bar_h = grid_h.max(120);
        let content_w = bar_x + COLORBAR_W + 8 + tick_w + MARGIN;
        let total_w = content_w.max(if title.is_empty() {
            0
        } else {
            text_width(title, TITLE_SIZE) + 2 * MARGIN
        });
        let total_h = grid_y + grid_h.max(bar_h) + labels.col_area + x_name_h + MARGIN;
        check_size(total_w, total_h)?;
        Ok(HeatmapLayout {
            cell_w,
            cell_h,
            grid_x,
            grid_y,
            grid_w,
            grid_h,
            bar_x,
            bar_h,
            title_h,
            col_area: labels.col_area,
            x_name_h,
            y_name_w,
            total_w,
            total_h,
        })
    }

    /// Centre of cell `(r, c)` in pixels.
    fn cell_center(&self, r: usize, c: usize) -> (i32, i32) {
        (
            (self.grid_x + c as u32 * self.cell_w + self.cell_w / 2) as i32,
            (self.grid_y + r as u32 * self.cell_h + self.cell_h / 2) as i32,
        )
    }

    /// A white RGB buffer with the cells, the colour bar and their frames painted in.
    fn paint(&self, matrix: &[Vec<f64>], range: &ValueRange) -> Vec<u8> {
        let width = self.total_w;
        let mut buf = vec![255u8; width as usize * 3 * self.total_h as usize];
        for (r, row) in matrix.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let color = if v.is_finite() {
                    blues(range.norm(v))
                } else {
                    NAN_COLOR
                };
                let corner = (
                    self.grid_x + c as u32 * self.cell_w,
                    self.grid_y + r as u32 * self.cell_h,
                );
                fill_rect(&mut buf, width, corner, (self.cell_w, self.cell_h), color);
            }
        }
        for y in 0..self.bar_h {
            let t = 1.0 - f64::from(y) / f64::from(self.bar_h - 1);
            let corner = (self.bar_x, self.grid_y + y);
            fill_rect(&mut buf, width, corner, (COLORBAR_W, 1), blues(t));
        }
        for (corner, size) in [
            ((self.grid_x, self.grid_y), (self.grid_w, self.grid_h)),
            ((self.bar_x, self.grid_y), (COLORBAR_W, self.bar_h)),
        ] {
            frame_rect(&mut buf, width, corner, size, FRAME);
        }
        buf
    }

    /// Writes the title, shortened to fit, centred above the grid.
    fn draw_title(&self, root: &Area, title: &str) -> Result<()> {
        if title.is_empty() {
            return Ok(());
        }
        draw_text(
            root,
            &fit_text(title, TITLE_SIZE, self.total_w - 2 * MARGIN),
            (
                self.total_w as i32 / 2,
                (MARGIN + self.title_h / 2) as i32 - 8,
            ),
            TITLE_SIZE,
            BLACK,
            Anchor::new(HPos::Center, VPos::Center),
        )
    }

    /// Writes each value in its cell, white on dark cells and black on light ones.
    fn draw_annotations(
        &self,
        root: &Area,
        matrix: &[Vec<f64>],
        range: &ValueRange,
        annotations: &Annotations,
    ) -> Result<()> {
        for (r, row) in matrix.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let color = if v.is_finite() && range.norm(v) > 0.55 {
                    WHITE
                } else {
                    BLACK
                };
                draw_text(
                    root,
                    &annotations.texts[r][c],
                    self.cell_center(r, c),
                    annotations.size,
                    color,
                    Anchor::new(HPos::Center, VPos::Center),
                )?;
            }
        }
        Ok(())
    }

    /// Writes the row labels left of the grid, the column labels under it and
    /// the axis names beyond them (an empty name draws nothing).
    fn draw_axis_labels(
        &self,
        root: &Area,
        labels: &AxisLabels,
        x_name: &str,
        y_name: &str,
    ) -> Result<()> {
        for (r, label) in labels.rows.iter().enumerate().step_by(labels.row_step) {
            let (_, y) = self.cell_center(r, 0);
            let anchor = Anchor::new(HPos::Right, VPos::Center);
            let pos = ((self.grid_x - 8) as i32, y);
            draw_text(root, label, pos, HEAT_LABEL, BLACK, anchor)?;
        }
        let label_y = (self.grid_y + self.grid_h + 8) as i32;
        for (c, label) in labels.cols.iter().enumerate().step_by(labels.col_step) {
            let (x, _) = self.cell_center(0, c);
            let anchor = if labels.col_rotated {
                Anchor::vertical(HPos::Right, VPos::Center)
            } else {
                Anchor::new(HPos::Center, VPos::Top)
            };
            draw_text(root, label, (x, label_y), HEAT_LABEL, BLACK, anchor)?;
        }
        let x_name_pos = (
            (self.grid_x + self.grid_w / 2) as i32,
            (self.grid_y + self.grid_h + self.col_area + self.x_name_h / 2) as i32,
        );
        let center = Anchor::new(HPos::Center, VPos::Center);
        draw_text(root, x_name, x_name_pos, AXIS_SIZE, BLACK, center)?;
        let y_name_pos = (
            (MARGIN + self.y_name_w / 2) as i32,
            (self.grid_y + self.grid_h / 2) as i32,
        );
        let vertical = Anchor::vertical(HPos::Center, VPos::Center);
        draw_text(root, y_name, y_name_pos, AXIS_SIZE, BLACK, vertical)
    }

    /// Draws the tick marks and value labels right of the colour bar.
    fn draw_colorbar_ticks(
        &self,
        root: &Area,
        range: &ValueRange,
        ticks: &[f64],
        tick_texts: &[String],
    ) -> Result<()> {
        let bar_right = self.bar_x + COLORBAR_W;
        for (&t, text) in ticks.iter().zip(tick_texts) {
            let y =
                self.grid_y + ((1.0 - range.norm(t)) * f64::from(self.bar_h - 1)).round() as u32;
            root.draw(&PathElement::new(
                vec![
                    (bar_right as i32, y as i32),
                    ((bar_right + 4) as i32, y as i32),
                ],
                RGBColor(FRAME[0], FRAME[1], FRAME[2]),
            ))?;
            draw_text(
                root,
                text,
                ((bar_right + 8) as i32, y as i32),
                LABEL_SIZE,
                BLACK,
                Anchor::new(HPos::Left, VPos::Center),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::figure::decode;
    use super::*;

    fn confusion() -> (Vec<Vec<f64>>, Vec<String>) {
        let names = [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ];
        let m = (0..10)
            .map(|r| {
                (0..10)
                    .map(|c| {
                        if r == c {
                            900.0 - 10.0 * r as f64
                        } else {
                            ((r * 7 + c * 3) % 40) as f64
                        }
                    })
                    .collect()
            })
            .collect();
        (m, names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn confusion_matrix_renders() {
        let (m, names) = confusion();
        let fig =
            heatmap_with_axes("Confusion", "predicted", "true", &m, &names, &names, true).unwrap();
        let (w, h, px) = decode(&fig);
        assert_eq!((w, h), (fig.width(), fig.height()));
        // The top-left cell holds the largest value: dark blue (with a white number on it).
        let cell = 56u32;
        let grid_x =
            MARGIN + 34 + max_text_width(names.iter().map(String::as_str), HEAT_LABEL) + 12;
        let (x, y) = (grid_x + 3, MARGIN + TITLE_HEIGHT + 3);
        let i = ((y * w + x) * 3) as usize;
        assert_eq!(&px[i..i + 3], &BLUES[8].map(|c| c as u8));
        assert!(grid_x + 10 * cell < w);
    }

    #[test]
    fn activation_map_without_labels() {
        let m: Vec<Vec<f64>> = (0..16)
            .map(|r| (0..64).map(|c| ((r * c) as f64).sin()).collect())
            .collect();
        assert!(heatmap("Activations", &m, &[], &[], true).is_ok());
        let cols: Vec<String> = (0..64).map(|c| format!("unit {c}")).collect();
        assert!(heatmap("", &m, &[], &cols, false).is_ok());
        let constant = vec![vec![1.0, 1.0], vec![f64::NAN, 1.0]];
        assert!(heatmap("", &constant, &[], &[], true).is_ok());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(heatmap("t", &[], &[], &[], true).is_err());
        assert!(heatmap("t", &[vec![]], &[], &[], true).is_err());
        assert!(heatmap("t", &[vec![1.0, 2.0], vec![3.0]], &[], &[], true).is_err());
        let one = vec!["a".to_string()];
        assert!(heatmap("t", &[vec![1.0, 2.0]], &[], &one, true).is_err());
        assert!(heatmap("t", &[vec![1.0, 2.0]], &one, &[], true).is_ok());
        assert!(heatmap("t", &[vec![1.0], vec![2.0]], &one, &[], true).is_err());
    }

    #[test]
    fn colour_map_ends() {
        assert_eq!(blues(0.0), [255, 255, 255]);
        assert_eq!(blues(1.0), [8, 48, 107]);
        assert_eq!(blues(f64::NAN), [255, 255, 255]);
    }
}
