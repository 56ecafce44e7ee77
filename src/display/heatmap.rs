//! Heatmaps: [`heatmap`] for confusion matrices and activation maps.

use anyhow::{ensure, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{
    check_size, draw_text, fit_text, fmt_num, linear_ticks, max_text_width, render_on, text_width,
    tick_labels, Anchor, AXIS_SIZE, LABEL_SIZE, TITLE_HEIGHT, TITLE_SIZE,
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

    let finite: Vec<f64> = matrix
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let vmin = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let vmax = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (vmin, vmax) = if finite.is_empty() {
        (0.0, 1.0)
    } else if vmax > vmin {
        (vmin, vmax)
    } else {
        (vmin - 0.5, vmax + 0.5)
    };
    let norm = |v: f64| (v - vmin) / (vmax - vmin);

    // Cell size: fill about 720x560 pixels, square-ish when the shape allows.
    let mut cell_w = (720 / nc as u32).clamp(3, 64);
    let mut cell_h = (560 / nr as u32).clamp(3, 64);
    if cell_w <= 2 * cell_h && cell_h <= 2 * cell_w {
        let s = cell_w.min(cell_h);
        (cell_w, cell_h) = (s, s);
    }
    let grid_w = cell_w.saturating_mul(nc as u32);
    let grid_h = cell_h.saturating_mul(nr as u32);
    check_size(grid_w, grid_h)?;

    // Value annotations.
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
    let mut annot_size = 16f64.min(f64::from(cell_h) * 0.5).floor();
    if annotate {
        let widest = texts
            .iter()
            .flatten()
            .max_by_key(|t| t.len())
            .map_or("", String::as_str);
        while annot_size >= 9.0 && text_width(widest, annot_size) + 4 > cell_w {
            annot_size -= 1.0;
        }
    }
    let annotate = annotate && annot_size >= 9.0;

    // Labels.
    let row_texts: Vec<String> = row_labels
        .iter()
        .map(|l| fit_text(l, HEAT_LABEL, MAX_LABEL))
        .collect();
    let col_texts: Vec<String> = col_labels
        .iter()
        .map(|l| fit_text(l, HEAT_LABEL, MAX_LABEL))
        .collect();
    let row_w = max_text_width(row_texts.iter().map(String::as_str), HEAT_LABEL);
    let row_area = if row_w > 0 { row_w + 12 } else { 0 };
    let row_step = (22 / cell_h + u32::from(22 % cell_h != 0)).max(1) as usize;
    let col_w = max_text_width(col_texts.iter().map(String::as_str), HEAT_LABEL);
    let col_rotated = col_w + 6 > cell_w;
    let col_area = if col_texts.is_empty() {
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
    let x_name_h = if x_name.is_empty() { 0 } else { 34 };
    let y_name_w = if y_name.is_empty() { 0 } else { 34 };
    let ticks = linear_ticks(vmin, vmax, 4);
    let tick_texts = tick_labels(&ticks, false);
    let tick_w = max_text_width(tick_texts.iter().map(String::as_str), LABEL_SIZE);
    let title_h = if title.is_empty() { 0 } else { TITLE_HEIGHT };

    let grid_x = MARGIN + y_name_w + row_area;
    let grid_y = MARGIN + title_h;
    let bar_x = grid_x + grid_w + COLORBAR_GAP;
    let bar_h = grid_h.max(120);
    let content_w = bar_x + COLORBAR_W + 8 + tick_w + MARGIN;
    let total_w = content_w.max(if title.is_empty() {
        0
    } else {
        text_width(title, TITLE_SIZE) + 2 * MARGIN
    });
    let total_h = grid_y + grid_h.max(bar_h) + col_area + x_name_h + MARGIN;
    check_size(total_w, total_h)?;

    // Cells and colour bar go straight into the pixel buffer.
    let stride = total_w as usize * 3;
    let mut buf = vec![255u8; stride * total_h as usize];
    let mut fill = |x0: u32, y0: u32, w: u32, h: u32, color: [u8; 3]| {
        for y in y0..y0 + h {
            let row = &mut buf[y as usize * stride + x0 as usize * 3..][..w as usize * 3];
            for px in row.chunks_exact_mut(3) {
                px.copy_from_slice(&color);
            }
        }
    };
    for (r, row) in matrix.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let color = if v.is_finite() {
                blues(norm(v))
            } else {
                NAN_COLOR
            };
            fill(
                grid_x + c as u32 * cell_w,
                grid_y + r as u32 * cell_h,
                cell_w,
                cell_h,
                color,
            );
        }
    }
    for y in 0..bar_h {
        let t = 1.0 - f64::from(y) / f64::from(bar_h - 1);
        fill(bar_x, grid_y + y, COLORBAR_W, 1, blues(t));
    }
    // Frames around the grid and the colour bar.
    for (x, y, w, h) in [
        (grid_x, grid_y, grid_w, grid_h),
        (bar_x, grid_y, COLORBAR_W, bar_h),
    ] {
        fill(x - 1, y - 1, w + 2, 1, FRAME);
        fill(x - 1, y + h, w + 2, 1, FRAME);
        fill(x - 1, y - 1, 1, h + 2, FRAME);
        fill(x + w, y - 1, 1, h + 2, FRAME);
    }

    render_on(total_w, total_h, buf, |root| {
        if !title.is_empty() {
            draw_text(
                root,
                &fit_text(title, TITLE_SIZE, total_w - 2 * MARGIN),
                (total_w as i32 / 2, (MARGIN + title_h / 2) as i32 - 8),
                TITLE_SIZE,
                BLACK,
                Anchor::new(HPos::Center, VPos::Center),
            )?;
        }
        if annotate {
            for (r, row) in matrix.iter().enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    let color = if v.is_finite() && norm(v) > 0.55 {
                        WHITE
                    } else {
                        BLACK
                    };
                    draw_text(
                        root,
                        &texts[r][c],
                        (
                            (grid_x + c as u32 * cell_w + cell_w / 2) as i32,
                            (grid_y + r as u32 * cell_h + cell_h / 2) as i32,
                        ),
                        annot_size,
                        color,
                        Anchor::new(HPos::Center, VPos::Center),
                    )?;
                }
            }
        }
        for (r, label) in row_texts.iter().enumerate().step_by(row_step) {
            draw_text(
                root,
                label,
                (
                    (grid_x - 8) as i32,
                    (grid_y + r as u32 * cell_h + cell_h / 2) as i32,
                ),
                HEAT_LABEL,
                BLACK,
                Anchor::new(HPos::Right, VPos::Center),
            )?;
        }
        let label_y = (grid_y + grid_h + 8) as i32;
        for (c, label) in col_texts.iter().enumerate().step_by(col_step) {
            let x = (grid_x + c as u32 * cell_w + cell_w / 2) as i32;
            let anchor = if col_rotated {
                Anchor::vertical(HPos::Right, VPos::Center)
            } else {
                Anchor::new(HPos::Center, VPos::Top)
            };
            draw_text(root, label, (x, label_y), HEAT_LABEL, BLACK, anchor)?;
        }
        if !x_name.is_empty() {
            draw_text(
                root,
                x_name,
                (
                    (grid_x + grid_w / 2) as i32,
                    (grid_y + grid_h + col_area + x_name_h / 2) as i32,
                ),
                AXIS_SIZE,
                BLACK,
                Anchor::new(HPos::Center, VPos::Center),
            )?;
        }
        if !y_name.is_empty() {
            draw_text(
                root,
                y_name,
                ((MARGIN + y_name_w / 2) as i32, (grid_y + grid_h / 2) as i32),
                AXIS_SIZE,
                BLACK,
                Anchor::vertical(HPos::Center, VPos::Center),
            )?;
        }
        for (&t, text) in ticks.iter().zip(&tick_texts) {
            let y = grid_y + ((1.0 - norm(t)) * f64::from(bar_h - 1)).round() as u32;
            root.draw(&PathElement::new(
                vec![
                    ((bar_x + COLORBAR_W) as i32, y as i32),
                    ((bar_x + COLORBAR_W + 4) as i32, y as i32),
                ],
                RGBColor(FRAME[0], FRAME[1], FRAME[2]),
            ))?;
            draw_text(
                root,
                text,
                ((bar_x + COLORBAR_W + 8) as i32, y as i32),
                LABEL_SIZE,
                BLACK,
                Anchor::new(HPos::Left, VPos::Center),
            )?;
        }
        Ok(())
    })
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
