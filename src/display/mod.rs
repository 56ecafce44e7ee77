//! Static figures and tables for notebooks, reports and the command line.
//!
//! Everything here draws plain numbers: slices of `f32`/`f64`, strings and
//! nested `Vec`s. The module knows nothing about models or tensors, so callers
//! convert their data first (for images: row-major `height * width` floats with
//! pixel intensities in `[0, 1]`, 0 = black, 1 = white).
//!
//! Every plotting function returns a [`Figure`], an in-memory PNG that can be
//! saved atomically with [`Figure::save`], embedded in HTML with
//! [`Figure::to_data_uri`], or shown inline in an evcxr (Rust Jupyter) notebook
//! with [`Figure::evcxr_display`] — evcxr also calls that method automatically
//! when a `Figure` is the value of a cell. [`Table`] does the same for tabular
//! results (Markdown, HTML, CSV or an aligned plain-text rendering).
//!
//! Text is rendered with the bundled DejaVu Sans font (registered once, on the
//! first figure), so output looks the same on every machine.
//!
//! | function | draws |
//! |---|---|
//! | [`image_grid`], [`image_strip`] | gray-scale images, one labelled row per group |
//! | [`line_plot`] | curves such as training/validation loss, with vertical markers |
//! | [`scatter_plot`] | 2-D embeddings coloured by class |
//! | [`bar_chart`] | one value per configuration, with error bars and a reference line |
//! | [`heatmap`] | confusion matrices and activation maps |

mod bars;
mod canvas;
mod figure;
mod font;
mod grid;
mod heatmap;
mod lines;
mod scatter;
mod table;

pub use bars::{bar_chart, bar_chart_sized, Bar};
pub use figure::Figure;
pub use grid::{image_grid, image_strip, ImageRow};
pub use heatmap::{heatmap, heatmap_with_axes};
pub use lines::{line_plot, line_plot_sized, Series, VMarker};
pub use scatter::{scatter_plot, scatter_plot_sized};
pub use table::{escape_html, Table};
