//! Grids of gray-scale images: [`image_grid`] and [`image_strip`].

use anyhow::{bail, ensure, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{
    check_size, draw_text, fit_text, frame_rect, max_text_width, render_on, text_width, Anchor,
    Area, LABEL_SIZE, TITLE_HEIGHT, TITLE_SIZE,
};
use super::figure::Figure;

/// One labelled row of an [`image_grid`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRow {
    /// Text drawn at the left of the row (e.g. "Ankle boot", "generated 10"); may be empty.
    pub label: String,
    /// Images, each `height * width` row-major intensities in `[0, 1]` (0 = black);
    /// values outside are clamped and NaN is drawn black.
    pub images: Vec<Vec<f32>>,
}

impl ImageRow {
    /// A row with the given label and images.
    pub fn new(label: impl Into<String>, images: Vec<Vec<f32>>) -> ImageRow {
        ImageRow {
            label: label.into(),
            images,
        }
    }
}

const MARGIN: u32 = 14;
const GAP: u32 = 6;
const SMALL_TEXT: f64 = 16.0;
const SMALL_TEXT_HEIGHT: u32 = 26;
const BORDER: [u8; 3] = [190, 190, 190];

/// Draws rows of gray-scale images, each pixel a `scale` x `scale` square.
///
/// Every image is `height * width` intensities in `[0, 1]`. Row labels are drawn
/// at the left, `column_titles` (one per column) above the columns, and a thin
/// gap separates the images. Rows may hold different numbers of images.
///
/// Fails if there are no rows or no images, if an image does not hold
/// `height * width` values, if a size is zero, or if `column_titles` does not
/// have one entry per column.
pub fn image_grid(
    title: Option<&str>,
    rows: &[ImageRow],
    height: usize,
    width: usize,
    scale: u32,
    column_titles: Option<&[String]>,
) -> Result<Figure> {
    draw_grid(title, rows, height, width, scale, column_titles, None)
}

/// Draws one row of gray-scale images with an optional caption under each
/// (e.g. the predicted class). See [`image_grid`] for the image format.
///
/// Fails if `images` is empty, an image has the wrong length, or `captions`
/// does not have one entry per image.
pub fn image_strip(
    title: Option<&str>,
    images: &[Vec<f32>],
    height: usize,
    width: usize,
    scale: u32,
    captions: Option<&[String]>,
) -> Result<Figure> {
    let row = ImageRow {
        label: String::new(),
        images: images.to_vec(),
    };
    draw_grid(
        title,
        std::slice::from_ref(&row),
        height,
        width,
        scale,
        None,
        captions,
    )
}

/// Draws `rows` of images (see [`image_grid`]) with optional column titles
/// above the columns or captions under the images.
fn draw_grid(
    title: Option<&str>,
    rows: &[ImageRow],
    height: usize,
    width: usize,
    scale: u32,
    column_titles: Option<&[String]>,
    captions: Option<&[String]>,
) -> Result<Figure> {
    let ncols = check_input(rows, height, width, scale, column_titles, captions)?;
    let title = title.unwrap_or("").trim();
    let layout = GridLayout::new(
        title,
        rows,
        ncols,
        column_titles,
        captions,
        (height, width),
        scale,
    )?;
    let buf = layout.paint(rows, width, scale);

    render_on(layout.total_w, layout.total_h, buf, |root| {
        layout.draw_title(root, title)?;
        if let Some(titles) = column_titles {
            layout.draw_column_titles(root, titles)?;
        }
        layout.draw_row_texts(root, rows, captions)
    })
}

/// Checks the sizes, every image's length and the number of column titles
/// and captions; returns the number of columns.
fn check_input(
    rows: &[ImageRow],
    height: usize,
    width: usize,
    scale: u32,
    column_titles: Option<&[String]>,
    captions: Option<&[String]>,
) -> Result<usize> {
    ensure!(!rows.is_empty(), "image grid needs at least one row");
    ensure!(
        height > 0 && width > 0 && scale > 0,
        "image size and scale must be positive, got {height}x{width} at scale {scale}"
    );
    let ncols = rows.iter().map(|r| r.images.len()).max().unwrap_or(0);
    ensure!(ncols > 0, "image grid needs at least one image");
    for (r, row) in rows.iter().enumerate() {
        for (c, img) in row.images.iter().enumerate() {
            if img.len() != height * width {
                bail!(
                    "image {c} of row {r} ({:?}) has {} values, expected {height}x{width} = {}",
                    row.label,
                    img.len(),
                    height * width
                );
            }
        }
    }
    if let Some(titles) = column_titles {
        ensure!(
            titles.len() == ncols,
            "{} column titles for {ncols} columns",
            titles.len()
        );
    }
    if let Some(caps) = captions {
        ensure!(
            caps.len() == ncols,
            "{} captions for {ncols} images",
            caps.len()
        );
    }
    Ok(ncols)
}

/// Pixel positions and sizes of the parts of an image grid.
struct GridLayout {
    /// Size of one scaled image.
    cell_w: u32,
    cell_h: u32,
    /// Width of a column: the image, or its title or caption if wider.
    slot_w: u32,
    /// Horizontal distance between columns.
    pitch_x: u32,
    /// Height of a row: the image, or the row label if taller.
    row_h: u32,
    /// Vertical distance between rows.
    pitch_y: u32,
    /// Height of the column title line (0 without titles).
    top_text: u32,
    /// Height of the caption line under each row (0 without captions).
    bottom_text: u32,
    /// Height of the figure title line (0 without a title).
    title_h: u32,
    /// Top-left corner of the first column's slot.
    x0: u32,
    y0: u32,
    total_w: u32,
    total_h: u32,
}

impl GridLayout {
    /// Lays out `rows` of up to `ncols` images of `image` = `(height, width)`
    /// pixels, each drawn `scale` times larger, with room for the title, row
    /// labels, column titles and captions. Fails if an image or the figure
    /// would be too large.
    fn new(
        title: &str,
        rows: &[ImageRow],
        ncols: usize,
        column_titles: Option<&[String]>,
        captions: Option<&[String]>,
        image: (usize, usize),
        scale: u32,
    ) -> Result<GridLayout> {
        let cell_w = u32::try_from(image.1)?.saturating_mul(scale);
        let cell_h = u32::try_from(image.0)?.saturating_mul(scale);
        check_size(cell_w, cell_h)?;

        let labels_w = max_text_width(rows.iter().map(|r| r.label.as_str()), LABEL_SIZE);
        let label_col = if labels_w > 0 { labels_w + 16 } else { 0 };
        let text_w = max_text_width(
            column_titles
                .into_iter()
                .chain(captions)
                .flatten()
                .map(String::as_str),
            SMALL_TEXT,
        );
        let slot_w = cell_w.max(if text_w > 0 { text_w + 8 } else { 0 });
        let pitch_x = slot_w + GAP;
        let line_if = |present: bool| if present { SMALL_TEXT_HEIGHT } else { 0 };
        let top_text = line_if(column_titles.is_some());
        let bottom_text = line_if(captions.is_some());
        // Rows are at least as tall as their label.
        let row_h = if labels_w > 0 { cell_h.max(24) } else { cell_h };
        let pitch_y = row_h + bottom_text + GAP;
        let title_h = if title.is_empty() { 0 } else { TITLE_HEIGHT };

        let content_w =
            u64::from(MARGIN * 2 + label_col) + u64::from(pitch_x) * ncols as u64 - u64::from(GAP);
        let min_w = if title.is_empty() {
            0
        } else {
            u64::from(text_width(title, TITLE_SIZE) + 2 * MARGIN)
        };
        let total_w = content_w.max(min_w);
        let total_h = u64::from(MARGIN * 2 + title_h + top_text)
            + u64::from(pitch_y) * rows.len() as u64
            - u64::from(GAP);
        let (total_w, total_h) = (
            u32::try_from(total_w).unwrap_or(u32::MAX),
            u32::try_from(total_h).unwrap_or(u32::MAX),
        );
        check_size(total_w, total_h)?;
        Ok(GridLayout {
            cell_w,
            cell_h,
            slot_w,
            pitch_x,
            row_h,
            pitch_y,
            top_text,
            bottom_text,
            title_h,
            x0: MARGIN + label_col,
            y0: MARGIN + title_h + top_text,
            total_w,
            total_h,
        })
    }

    /// Left edge of the images in column `c`.
    fn image_x(&self, c: usize) -> u32 {
        self.x0 + c as u32 * self.pitch_x + (self.slot_w - self.cell_w) / 2
    }

    /// Top edge of the images in row `r`.
    fn image_y(&self, r: usize) -> u32 {
        self.y0 + r as u32 * self.pitch_y + (self.row_h - self.cell_h) / 2
    }

    /// Horizontal centre of column `c`.
    fn center_x(&self, c: usize) -> i32 {
        (self.x0 + c as u32 * self.pitch_x + self.slot_w / 2) as i32
    }

    /// A white RGB buffer with every image and its frame painted in.
    fn paint(&self, rows: &[ImageRow], width: usize, scale: u32) -> Vec<u8> {
        let mut buf = vec![255u8; self.total_w as usize * 3 * self.total_h as usize];
        for (r, row) in rows.iter().enumerate() {
            for (c, img) in row.images.iter().enumerate() {
                let corner = (self.image_x(c), self.image_y(r));
                let size = (self.cell_w, self.cell_h);
                frame_rect(&mut buf, self.total_w, corner, size, BORDER);
                self.paint_image(&mut buf, corner, img, width, scale);
            }
        }
        buf
    }

    /// Paints `img` (`width` pixels per line) into `buf` with its top-left
    /// corner at `corner`, each pixel a `scale` x `scale` gray square.
    fn paint_image(
        &self,
        buf: &mut [u8],
        corner: (u32, u32),
        img: &[f32],
        width: usize,
        scale: u32,
    ) {
        let stride = self.total_w as usize * 3;
        let (ix, iy) = (corner.0 as usize, corner.1 as usize);
        for py in 0..self.cell_h as usize {
            let src = &img[(py / scale as usize) * width..][..width];
            let line = &mut buf[(iy + py) * stride + ix * 3..][..self.cell_w as usize * 3];
            for (px, out) in line.chunks_exact_mut(3).enumerate() {
                let v = src[px / scale as usize];
                let g = if v.is_nan() {
                    0
                } else {
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                };
                out.fill(g);
            }
        }
    }

    /// Writes the title centred at the top (nothing for an empty title).
    fn draw_title(&self, root: &Area, title: &str) -> Result<()> {
        if title.is_empty() {
            return Ok(());
        }
        draw_text(
            root,
            title,
            (
                self.total_w as i32 / 2,
                (MARGIN + self.title_h / 2) as i32 - 6,
            ),
            TITLE_SIZE,
            BLACK,
            Anchor::new(HPos::Center, VPos::Center),
        )
    }

    /// Writes one title above each column, shortened to the column's width.
    fn draw_column_titles(&self, root: &Area, titles: &[String]) -> Result<()> {
        for (c, t) in titles.iter().enumerate() {
            let t = fit_text(t, SMALL_TEXT, self.slot_w);
            draw_text(
                root,
                &t,
                (self.center_x(c), (self.y0 - self.top_text / 2) as i32 - 2),
                SMALL_TEXT,
                BLACK,
                Anchor::new(HPos::Center, VPos::Center),
            )?;
        }
        Ok(())
    }

    /// Writes each row's label at its left and, if given, the captions under its images.
    fn draw_row_texts(
        &self,
        root: &Area,
        rows: &[ImageRow],
        captions: Option<&[String]>,
    ) -> Result<()> {
        for (r, row) in rows.iter().enumerate() {
            draw_text(
                root,
                &row.label,
                (
                    (self.x0 - 12) as i32,
                    (self.image_y(r) + self.cell_h / 2) as i32,
                ),
                LABEL_SIZE,
                BLACK,
                Anchor::new(HPos::Right, VPos::Center),
            )?;
            let Some(caps) = captions else { continue };
            let caption_y = (self.image_y(r) + self.cell_h + self.bottom_text / 2) as i32 + 1;
            for (c, cap) in caps.iter().enumerate().take(row.images.len()) {
                let cap = fit_text(cap, SMALL_TEXT, self.slot_w);
                draw_text(
                    root,
                    &cap,
                    (self.center_x(c), caption_y),
                    SMALL_TEXT,
                    BLACK,
                    Anchor::new(HPos::Center, VPos::Center),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::figure::decode;
    use super::*;

    fn img(h: usize, w: usize, v: f32) -> Vec<f32> {
        vec![v; h * w]
    }

    #[test]
    fn size_follows_rows_columns_and_scale() {
        let rows: Vec<ImageRow> = (0..3)
            .map(|_| ImageRow::new("", (0..4).map(|_| img(5, 7, 0.5)).collect()))
            .collect();
        let fig = image_grid(None, &rows, 5, 7, 3, None).unwrap();
        let (w, h, _) = decode(&fig);
        assert_eq!((w, h), (fig.width(), fig.height()));
        assert_eq!(w, 2 * MARGIN + 4 * (7 * 3 + GAP) - GAP);
        assert_eq!(h, 2 * MARGIN + 3 * (5 * 3 + GAP) - GAP);

        let bigger = image_grid(None, &rows, 5, 7, 6, None).unwrap();
        assert_eq!(bigger.width(), 2 * MARGIN + 4 * (7 * 6 + GAP) - GAP);
        assert_eq!(bigger.height(), 2 * MARGIN + 3 * (5 * 6 + GAP) - GAP);

        // Labels, column titles and a title add room.
        let mut labelled = rows.clone();
        labelled[0].label = "Ankle boot".into();
        let titles: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
        let fig = image_grid(Some("Samples"), &labelled, 5, 7, 3, Some(&titles)).unwrap();
        assert!(fig.width() > w + text_width("Ankle boot", LABEL_SIZE));
        // Labelled rows are at least 24 px tall, enough for their text.
        assert_eq!(
            fig.height(),
            2 * MARGIN + TITLE_HEIGHT + SMALL_TEXT_HEIGHT + 3 * (24 + GAP) - GAP
        );
        assert!(fig.height() > h + TITLE_HEIGHT + SMALL_TEXT_HEIGHT);
    }

    #[test]
    fn pixels_are_scaled_gray_values() {
        // A 2x2 image: black, white / mid-gray, clamped above 1.
        let rows = [ImageRow::new("", vec![vec![0.0, 1.0, 0.5, 7.0]])];
        let fig = image_grid(None, &rows, 2, 2, 4, None).unwrap();
        let (w, _, px) = decode(&fig);
        let at = |x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            [px[i], px[i + 1], px[i + 2]]
        };
        let (ox, oy) = (MARGIN, MARGIN);
        assert_eq!(at(ox, oy), [0, 0, 0]);
        assert_eq!(at(ox + 3, oy + 3), [0, 0, 0]);
        assert_eq!(at(ox + 4, oy), [255, 255, 255]);
        assert_eq!(at(ox, oy + 4), [128, 128, 128]);
        assert_eq!(at(ox + 7, oy + 7), [255, 255, 255]);
        assert_eq!(at(ox - 1, oy), BORDER);
        assert_eq!(at(0, 0), [255, 255, 255]);
    }

    #[test]
    fn rejects_bad_input() {
        let good = ImageRow::new("a", vec![img(2, 2, 0.0)]);
        assert!(image_grid(None, &[], 2, 2, 1, None).is_err());
        assert!(image_grid(None, &[ImageRow::new("a", vec![])], 2, 2, 1, None).is_err());
        let bad = ImageRow::new("b", vec![vec![0.0; 3]]);
        let err = image_grid(None, &[good.clone(), bad], 2, 2, 1, None).unwrap_err();
        assert!(err.to_string().contains("row 1"), "{err}");
        assert!(image_grid(None, std::slice::from_ref(&good), 2, 2, 0, None).is_err());
        assert!(image_grid(None, std::slice::from_ref(&good), 0, 2, 1, None).is_err());
        let titles = vec!["x".to_string(), "y".to_string()];
        assert!(image_grid(None, &[good], 2, 2, 1, Some(&titles)).is_err());
        assert!(image_strip(None, &[], 2, 2, 1, None).is_err());
        assert!(image_strip(None, &[img(2, 2, 0.0)], 2, 2, 1, Some(&titles)).is_err());
        assert!(image_grid(
            None,
            &[ImageRow::new("", vec![img(1, 1, 0.0)])],
            1,
            1,
            100_000,
            None
        )
        .is_err());
    }

    #[test]
    fn strip_with_captions() {
        let images: Vec<Vec<f32>> = (0..5).map(|i| img(4, 4, i as f32 / 4.0)).collect();
        let caps: Vec<String> = (0..5).map(|i| format!("#{i}")).collect();
        let fig = image_strip(Some("Strip"), &images, 4, 4, 10, Some(&caps)).unwrap();
        let (w, h, _) = decode(&fig);
        assert_eq!(w, 2 * MARGIN + 5 * (40 + GAP) - GAP);
        assert_eq!(h, 2 * MARGIN + TITLE_HEIGHT + 40 + SMALL_TEXT_HEIGHT);
    }
}
