//! The bundled font: registration with plotters, plus the glyph left side
//! bearings that plotters' ab_glyph renderer leaves out.
//!
//! plotters 0.3.7 draws each glyph with the left edge of its ink at the pen
//! position, dropping the glyph's left side bearing; with DejaVu Sans that
//! turns "10" into "1 0" and "Trouser" into "T rouser". [`left_bearing_px`]
//! reads the bearings from the font's own tables so that
//! [`super::canvas::draw_text`] can place every glyph where it belongs.

use std::collections::HashMap;
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

/// Per-character horizontal metrics, in font units.
struct Bearings {
    /// `xMin` of each character's outline (absent for characters without one).
    x_min: HashMap<char, i16>,
    /// ascender − descender: ab_glyph scales fonts so that this spans the pixel size.
    height_units: f64,
}

/// Offset of the glyph's ink from the pen position, in pixels at font `size`
/// (what ab_glyph's `px_bounds().min.x` would be). 0 for unknown characters.
pub(crate) fn left_bearing_px(c: char, size: f64) -> f64 {
    static BEARINGS: OnceLock<Option<Bearings>> = OnceLock::new();
    match BEARINGS.get_or_init(|| parse_bearings(FONT_BYTES)) {
        Some(b) => b
            .x_min
            .get(&c)
            .map_or(0.0, |&x| (f64::from(x) * size / b.height_units).floor()),
        None => 0.0,
    }
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

fn i16_at(data: &[u8], at: usize) -> Option<i16> {
    u16_at(data, at).map(|v| v as i16)
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *data.get(at)?,
        *data.get(at + 1)?,
        *data.get(at + 2)?,
        *data.get(at + 3)?,
    ]))
}

/// Reads `xMin` for every character of the Basic Multilingual Plane that the
/// font's format-4 `cmap` maps, from the `glyf` headers. `None` if a table is missing or malformed.
fn parse_bearings(font: &[u8]) -> Option<Bearings> {
    let num_tables = usize::from(u16_at(font, 4)?);
    let mut tables = HashMap::new();
    for i in 0..num_tables {
        let rec = 12 + 16 * i;
        let tag = font.get(rec..rec + 4)?;
        tables.insert(tag, u32_at(font, rec + 8)? as usize);
    }
    let table = |tag: &[u8]| tables.get(tag).copied();
    let head = table(b"head")?;
    let long_loca = i16_at(font, head + 50)? != 0;
    let hhea = table(b"hhea")?;
    let (mut ascent, mut descent) = (i16_at(font, hhea + 4)?, i16_at(font, hhea + 6)?);
    if let Some(os2) = table(b"OS/2") {
        // fsSelection bit 7: USE_TYPO_METRICS.
        if u16_at(font, os2 + 62).is_some_and(|fs| fs & 0x80 != 0) {
            ascent = i16_at(font, os2 + 68)?;
            descent = i16_at(font, os2 + 70)?;
        }
    }
    let height_units = f64::from(ascent) - f64::from(descent);
    if height_units <= 0.0 {
        return None;
    }
    let loca = table(b"loca")?;
    let glyf = table(b"glyf")?;
    let glyph_x_min = |gid: u16| -> Option<i16> {
        let gid = usize::from(gid);
        let (start, end) = if long_loca {
            (
                u32_at(font, loca + 4 * gid)? as usize,
                u32_at(font, loca + 4 * gid + 4)? as usize,
            )
        } else {
            (
                usize::from(u16_at(font, loca + 2 * gid)?) * 2,
                usize::from(u16_at(font, loca + 2 * gid + 2)?) * 2,
            )
        };
        if end <= start {
            return None; // no outline (e.g. space)
        }
        i16_at(font, glyf + start + 2)
    };

    let cmap = table(b"cmap")?;
    let mut subtable = None;
    for i in 0..usize::from(u16_at(font, cmap + 2)?) {
        let rec = cmap + 4 + 8 * i;
        let (platform, encoding) = (u16_at(font, rec)?, u16_at(font, rec + 2)?);
        let offset = cmap + u32_at(font, rec + 4)? as usize;
        let unicode = platform == 0 || (platform == 3 && encoding == 1);
        if unicode && u16_at(font, offset)? == 4 {
            subtable = Some(offset);
            break;
        }
    }
    let sub = subtable?;
    let seg_count = usize::from(u16_at(font, sub + 6)? / 2);
    let ends = sub + 14;
    let starts = ends + 2 * seg_count + 2;
    let deltas = starts + 2 * seg_count;
    let range_offsets = deltas + 2 * seg_count;
    let mut x_min = HashMap::new();
    for s in 0..seg_count {
        let end = u16_at(font, ends + 2 * s)?;
        let start = u16_at(font, starts + 2 * s)?;
        let delta = u16_at(font, deltas + 2 * s)?;
        let range_at = range_offsets + 2 * s;
        let range_offset = usize::from(u16_at(font, range_at)?);
        if start > end {
            continue;
        }
        for code in start..=end {
            if code == 0xFFFF {
                continue;
            }
            let gid = if range_offset == 0 {
                code.wrapping_add(delta)
            } else {
                let at = range_at + range_offset + 2 * usize::from(code - start);
                match u16_at(font, at)? {
                    0 => 0,
                    g => g.wrapping_add(delta),
                }
            };
            if gid == 0 {
                continue;
            }
            if let (Some(c), Some(x)) = (char::from_u32(u32::from(code)), glyph_x_min(gid)) {
                x_min.insert(c, x);
            }
        }
    }
    Some(Bearings {
        x_min,
        height_units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearings_from_the_bundled_font() {
        let b = parse_bearings(FONT_BYTES).expect("DejaVu Sans parses");
        assert_eq!(b.height_units, 2384.0);
        assert!(b.x_min.len() > 1000);
        // "1" sits well right of its pen position, "T" almost at it, space has no outline.
        assert!(b.x_min[&'1'] > 200);
        assert!(b.x_min[&'T'].abs() < 20);
        assert!(!b.x_min.contains_key(&' '));
        assert!(b.x_min.contains_key(&'÷'));
        assert!(left_bearing_px('1', 40.0) >= 3.0);
        assert_eq!(left_bearing_px('\u{10FFFF}', 20.0), 0.0);
    }

    #[test]
    fn garbage_is_rejected_not_panicking() {
        assert!(parse_bearings(&[]).is_none());
        assert!(parse_bearings(&[0; 64]).is_none());
        assert!(parse_bearings(&FONT_BYTES[..200]).is_none());
    }
}
