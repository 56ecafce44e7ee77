//! [`Table`]: small tables of results, rendered as Markdown, HTML, CSV or plain text.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A table of strings with an optional title.
///
/// Rows may be shorter or longer than `headers`; missing cells render empty.
/// Columns whose cells all parse as numbers are right-aligned in the Markdown,
/// HTML and plain-text renderings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Optional caption shown above the table.
    pub title: Option<String>,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column headers and no rows.
    pub fn new<I, S>(headers: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            title: None,
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Sets the title (builder style).
    pub fn with_title(mut self, title: impl Into<String>) -> Table {
        self.title = Some(title.into());
        self
    }

    /// Appends a row; cells can be anything printable (`&str`, `String`, numbers...).
    pub fn push_row<I, S>(&mut self, row: I)
    where
        I: IntoIterator<Item = S>,
        S: ToString,
    {
        self.rows
            .push(row.into_iter().map(|c| c.to_string()).collect());
    }

    /// Number of columns: the longest of the header and every row.
    pub fn num_columns(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(self.headers.len()))
            .max()
            .unwrap_or(0)
    }

    fn cell(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).map_or("", String::as_str)
    }

    fn header(&self, col: usize) -> &str {
        self.headers.get(col).map_or("", String::as_str)
    }

    /// Whether every non-empty cell of the column is a number (and at least one is).
    fn is_numeric(&self, col: usize) -> bool {
        let mut any = false;
        for r in 0..self.rows.len() {
            let cell = self.cell(r, col).trim();
            if cell.is_empty() {
                continue;
            }
            let number = cell.trim_end_matches('%');
            if number.parse::<f64>().is_err() {
                return false;
            }
            any = true;
        }
        any
    }

    /// GitHub-flavoured Markdown; `|` is escaped and line breaks become spaces.
    pub fn to_markdown(&self) -> String {
        let n = self.num_columns();
        let esc = |s: &str| s.replace('|', "\\|").replace(['\r', '\n'], " ");
        let mut out = String::new();
        if let Some(title) = &self.title {
            out.push_str(&format!("**{}**\n\n", esc(title)));
        }
        if n == 0 {
            return out;
        }
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        out.push_str(&line((0..n).map(|c| esc(self.header(c))).collect()));
        out.push_str(&line(
            (0..n)
                .map(|c| if self.is_numeric(c) { "---:" } else { "---" }.to_string())
                .collect(),
        ));
        for r in 0..self.rows.len() {
            out.push_str(&line((0..n).map(|c| esc(self.cell(r, c))).collect()));
        }
        out
    }

    /// An HTML `<table>` (with `<caption>` for the title); all text is escaped.
    pub fn to_html(&self) -> String {
        let n = self.num_columns();
        let align: Vec<&str> = (0..n)
            .map(|c| {
                if self.is_numeric(c) {
                    " style=\"text-align:right\""
                } else {
                    " style=\"text-align:left\""
                }
            })
            .collect();
        let mut out = String::from("<table>\n");
        if let Some(title) = &self.title {
            out.push_str(&format!(
                "<caption style=\"font-weight:bold\">{}</caption>\n",
                escape_html(title)
            ));
        }
        out.push_str("<thead><tr>");
        for (c, a) in align.iter().enumerate() {
            out.push_str(&format!("<th{a}>{}</th>", escape_html(self.header(c))));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for r in 0..self.rows.len() {
            out.push_str("<tr>");
            for (c, a) in align.iter().enumerate() {
                out.push_str(&format!("<td{a}>{}</td>", escape_html(self.cell(r, c))));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>");
        out
    }

    /// CSV (RFC 4180): a header line then one line per row; the title is not included.
    pub fn to_csv(&self) -> String {
        let n = self.num_columns();
        let mut out = String::new();
        let mut line = |cells: Vec<&str>| {
            let fields: Vec<String> = cells.into_iter().map(csv_field).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        };
        line((0..n).map(|c| self.header(c)).collect());
        for r in 0..self.rows.len() {
            line((0..n).map(|c| self.cell(r, c)).collect());
        }
        out
    }

    /// Shows the table as HTML in an evcxr notebook (evcxr calls this
    /// automatically when a `Table` is the value of a cell).
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        );
    }
}

/// Escapes the five HTML special characters (the one HTML escaper of the crate).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Quotes a CSV field when it contains a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An aligned plain-text table for terminals; numeric columns are right-aligned.
impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.num_columns();
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        if let Some(title) = &self.title {
            writeln!(f, "{}", clean(title))?;
        }
        if n == 0 {
            return Ok(());
        }
        let numeric: Vec<bool> = (0..n).map(|c| self.is_numeric(c)).collect();
        let widths: Vec<usize> = (0..n)
            .map(|c| {
                (0..self.rows.len())
                    .map(|r| clean(self.cell(r, c)).chars().count())
                    .chain(std::iter::once(clean(self.header(c)).chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let write_line = |f: &mut fmt::Formatter<'_>, cells: Vec<String>| -> fmt::Result {
            let mut parts = Vec::with_capacity(n);
            for (c, cell) in cells.iter().enumerate() {
                let pad = " ".repeat(widths[c] - cell.chars().count());
                parts.push(if numeric[c] {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                });
            }
            writeln!(f, "{}", parts.join("  ").trim_end())
        };
        write_line(f, (0..n).map(|c| clean(self.header(c))).collect())?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(f, "{}", rule.join("  "))?;
        for r in 0..self.rows.len() {
            write_line(f, (0..n).map(|c| clean(self.cell(r, c))).collect())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["model", "test MSE"]).with_title("Results");
        t.push_row(["AE z=10", "0.0123"]);
        t.push_row(vec!["PCA-10".to_string(), 0.0201.to_string()]);
        t
    }

    #[test]
    fn markdown() {
        assert_eq!(
            sample().to_markdown(),
            "**Results**\n\n| model | test MSE |\n| --- | ---: |\n| AE z=10 | 0.0123 |\n| PCA-10 | 0.0201 |\n"
        );
        let mut t = Table::new(["a|b"]);
        t.push_row(["x\ny"]);
        assert_eq!(t.to_markdown(), "| a\\|b |\n| --- |\n| x y |\n");
    }

    #[test]
    fn html_is_escaped() {
        let mut t = Table::new(["<b>name</b>", "n"]).with_title("A & B");
        t.push_row(["\"quoted\" & 'single'", "3"]);
        let html = t.to_html();
        assert!(html.contains("<caption style=\"font-weight:bold\">A &amp; B</caption>"));
        assert!(html.contains("<th style=\"text-align:left\">&lt;b&gt;name&lt;/b&gt;</th>"));
        assert!(html.contains(
            "<td style=\"text-align:left\">&quot;quoted&quot; &amp; &#39;single&#39;</td>"
        ));
        assert!(html.contains("<td style=\"text-align:right\">3</td>"));
        assert!(!html.contains("<b>"));
        assert!(html.starts_with("<table>") && html.ends_with("</table>"));
    }

    #[test]
    fn csv_quotes_when_needed() {
        let mut t = Table::new(["name", "note"]);
        t.push_row(["a,b", "say \"hi\""]);
        t.push_row(["plain"]);
        assert_eq!(
            t.to_csv(),
            "name,note\n\"a,b\",\"say \"\"hi\"\"\"\nplain,\n"
        );
    }

    #[test]
    fn plain_text_is_aligned() {
        let text = sample().to_string();
        assert_eq!(
            text,
            "Results\nmodel    test MSE\n-------  --------\nAE z=10    0.0123\nPCA-10     0.0201\n"
        );
    }

    #[test]
    fn ragged_rows_and_empty_tables() {
        let mut t = Table::new(["a"]);
        t.push_row([1, 2, 3]);
        assert_eq!(t.num_columns(), 3);
        assert_eq!(
            t.to_markdown(),
            "| a |  |  |\n| ---: | ---: | ---: |\n| 1 | 2 | 3 |\n"
        );
        let empty = Table::default();
        assert_eq!(empty.to_string(), "");
        assert_eq!(empty.to_markdown(), "");
        assert!(empty.to_html().contains("<tbody>"));
    }

    #[test]
    fn serde_round_trip() {
        let t = sample();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Table>(&json).unwrap(), t);
    }
}
