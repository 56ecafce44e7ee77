//! [`Figure`]: an encoded PNG image plus the ways to show or store it.

use std::fmt;
use std::fs;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// A rendered figure: a PNG-encoded 8-bit RGB image held in memory.
///
/// Build one with the plotting functions of [`crate::display`] or from raw
/// pixels with [`Figure::from_rgb`]. In an evcxr notebook a `Figure` that is
/// the value of a cell is shown inline (see [`Figure::evcxr_display`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Figure {
    png: Vec<u8>,
    width: u32,
    height: u32,
}

impl Figure {
    /// Encodes `width * height` RGB pixels (row-major, 3 bytes per pixel, `0..=255`) as a PNG.
    ///
    /// Fails if a side is zero or `rgb` does not hold exactly `width * height * 3` bytes.
    pub fn from_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Figure> {
        ensure!(
            width > 0 && height > 0,
            "figure size must be positive, got {width}x{height}"
        );
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(3))
            .context("figure size overflows")?;
        ensure!(
            rgb.len() == expected,
            "a {width}x{height} RGB figure needs {expected} bytes, got {}",
            rgb.len()
        );
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, width, height);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            // Figures are shipped inside executed notebooks: spend the CPU on smaller files.
            encoder.set_compression(png::Compression::Best);
            encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
            let mut writer = encoder.write_header().context("writing PNG header")?;
            writer
                .write_image_data(rgb)
                .context("encoding PNG image data")?;
            writer.finish().context("finishing PNG")?;
        }
        Ok(Figure { png, width, height })
    }

    /// Reads a PNG file (e.g. one saved by [`Figure::save`]); fails with the path if it is
    /// missing or not a PNG.
    pub fn from_png_file(path: impl AsRef<Path>) -> Result<Figure> {
        let path = path.as_ref();
        let png = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let info = png::Decoder::new(std::io::Cursor::new(&png))
            .read_info()
            .with_context(|| format!("{} is not a PNG image", path.display()))?
            .info()
            .clone();
        Ok(Figure {
            width: info.width,
            height: info.height,
            png,
        })
    }

    /// The encoded PNG file contents.
    pub fn png_bytes(&self) -> &[u8] {
        &self.png
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Writes the PNG to `path`, creating missing parent directories.
    ///
    /// The write is atomic: the bytes go to a temporary file in the same
    /// directory, which is flushed to disk and then renamed over `path`, so a
    /// reader never sees a half-written image.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file_name = match path.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => bail!(
                "cannot save a figure to {}: not a file path",
                path.display()
            ),
        };
        crate::fsutil::write_bytes_atomic(path, &self.png)
            .map_err(|e| crate::fsutil::write_error(path, e))
            .with_context(|| format!("saving figure {file_name}"))
    }

    /// The PNG as standard base64 (no line breaks).
    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.png)
    }

    /// A `data:image/png;base64,...` URI, usable as the `src` of an HTML `<img>`.
    pub fn to_data_uri(&self) -> String {
        format!("data:image/png;base64,{}", self.to_base64())
    }

    /// An HTML `<img>` tag showing the figure at its natural size.
    pub fn to_html(&self) -> String {
        format!(
            "<img src=\"{}\" width=\"{}\" height=\"{}\"/>",
            self.to_data_uri(),
            self.width,
            self.height
        )
    }

    /// The text evcxr reads from stdout to show this figure inline.
    fn evcxr_payload(&self) -> String {
        format!(
            "EVCXR_BEGIN_CONTENT image/png\n{}\nEVCXR_END_CONTENT",
            self.to_base64()
        )
    }

    /// Shows the figure inline in an evcxr notebook by printing it in evcxr's
    /// rich-output protocol. evcxr calls this automatically when a `Figure` is
    /// the value of a cell; call it explicitly to show several figures from one cell.
    pub fn evcxr_display(&self) {
        println!("{}", self.evcxr_payload());
    }
}

impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Figure({}x{} px, {} bytes of PNG)",
            self.width,
            self.height,
            self.png.len()
        )
    }
}

/// Decodes a figure back to `(width, height, rgb bytes)`; used by the tests of every module.
#[cfg(test)]
pub(crate) fn decode(fig: &Figure) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(fig.png_bytes());
    let mut reader = decoder.read_info().expect("valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("valid PNG data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Figure {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        Figure::from_rgb(4, 3, &rgb).unwrap()
    }

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "latentlab-display-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn png_round_trips_pixels() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let fig = Figure::from_rgb(4, 3, &rgb).unwrap();
        assert_eq!((fig.width(), fig.height()), (4, 3));
        assert!(fig.png_bytes().starts_with(b"\x89PNG\r\n\x1a\n"));
        let (w, h, pixels) = decode(&fig);
        assert_eq!((w, h), (4, 3));
        assert_eq!(pixels, rgb);
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(Figure::from_rgb(4, 3, &[0; 35]).is_err());
        assert!(Figure::from_rgb(0, 3, &[]).is_err());
        assert!(Figure::from_rgb(u32::MAX, u32::MAX, &[]).is_err());
    }

    #[test]
    fn data_uri_and_evcxr_payload() {
        let fig = tiny();
        let uri = fig.to_data_uri();
        assert!(uri.starts_with("data:image/png;base64,iVBORw0KGgo"));
        let decoded = BASE64
            .decode(uri.trim_start_matches("data:image/png;base64,"))
            .unwrap();
        assert_eq!(decoded, fig.png_bytes());
        let payload = fig.evcxr_payload();
        let lines: Vec<&str> = payload.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "EVCXR_BEGIN_CONTENT image/png");
        assert_eq!(lines[1], fig.to_base64());
        assert_eq!(lines[2], "EVCXR_END_CONTENT");
        assert!(fig
            .to_html()
            .starts_with("<img src=\"data:image/png;base64,"));
        assert_eq!(
            format!("{fig:?}"),
            format!("Figure(4x3 px, {} bytes of PNG)", fig.png_bytes().len())
        );
    }

    #[test]
    fn save_is_atomic_and_round_trips() {
        let dir = scratch_dir("save");
        let path = dir.join("nested/deeper/fig.png");
        let fig = tiny();
        fig.save(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), fig.png_bytes());

        // Overwriting replaces the content and leaves no temporary file behind.
        let other = Figure::from_rgb(1, 1, &[255, 0, 0]).unwrap();
        other.save(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), other.png_bytes());
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["fig.png".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn save_failure_cleans_up() {
        let dir = scratch_dir("fail");
        fs::create_dir_all(dir.join("taken")).unwrap();
        // Renaming a file over a non-empty directory fails.
        fs::write(dir.join("taken/inner"), b"x").unwrap();
        assert!(tiny().save(dir.join("taken")).is_err());
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["taken".to_string()]);
        assert!(tiny().save("/").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
