//! The bundled font: registration with plotters, plus the glyph left side
//! bearings that plotters' ab_glyph renderer leaves out.
//!
//! plotters 0.3.7 draws each glyph with the left edge of its ink at the pen
//! position, dropping the glyph's left side bearing; with DejaVu Sans that
//! turns "10" into "1 0" and "Trouser" into "T rouser". [`left_bearing_px`]
//! reads the bearings from the font's own tables so that
//! [`super::canvas::draw_text`] can place every glyph where it belongs (read with `ab_glyph`,
//! which plotters already compiles in).

use std::sync::OnceLock;

use anyhow::{bail, Result};
use plotters::style::FontStyle;

/// Font family name used for all text.
pub(crate) const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/DejaVuSans.ttf"
));

/// Registers the bundled font with plotters (once per process).
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if !ok {
        bail!("the bundled DejaVuSans.ttf font could not be loaded");
    }
    Ok(())
}

/// Offset of the glyph's ink from the pen position, in pixels at font `size`
/// (what ab_glyph's `px_bounds().min.x` would be): the outline's `xMin` scaled so that
/// ascender − descender spans `size`, as ab_glyph scales fonts. 0 for characters without an
/// outline (space) or not in the font.
pub(crate) fn left_bearing_px(c: char, size: f64) -> f64 {
    use ab_glyph::Font;
    static FONT_REF: OnceLock<Option<ab_glyph::FontRef<'static>>> = OnceLock::new();
    let Some(font) = FONT_REF.get_or_init(|| ab_glyph::FontRef::try_from_slice(FONT_BYTES).ok())
    else {
        return 0.0;
    };
    let id = font.glyph_id(c);
    if id.0 == 0 {
        return 0.0;
    }
    font.outline(id).map_or(0.0, |o| {
        (f64::from(o.bounds.min.x) * size / f64::from(font.height_unscaled())).floor()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearings_come_from_the_bundled_font() {
        use ab_glyph::Font;
        let font = ab_glyph::FontRef::try_from_slice(FONT_BYTES).unwrap();
        assert_eq!(font.height_unscaled(), 2384.0);
        // "1" sits well right of its pen position, "T" almost at it, space has no outline.
        assert!(left_bearing_px('1', 40.0) >= 3.0);
        assert!(left_bearing_px('T', 40.0).abs() <= 1.0);
        assert_eq!(left_bearing_px(' ', 40.0), 0.0);
        assert_eq!(left_bearing_px('\u{10FFFF}', 20.0), 0.0);
    }
}
