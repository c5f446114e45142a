//! A report page written twice at once: as self-contained HTML (SVGs
//! inline, no external resource) and as Markdown (plots as linked SVG
//! files). Run and sweep reports are built from the same few blocks.

use std::fmt::Write as _;

use crate::Report;

/// A page being built.
pub struct Page {
    html: String,
    md: String,
    plots: Vec<(String, String)>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Escapes a Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}\
th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}\
th{background:#eee}td:first-child,th:first-child{text-align:left}\
figure{margin:1.5em 0}figcaption{font-size:14px;color:#555}\
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:13px}\
code{background:#f3f3f3}";

impl Page {
    /// A page titled `title`.
    pub fn new(title: &str) -> Self {
        let mut html = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n",
        );
        let _ = writeln!(html, "<title>{}</title>", escape(title));
        let _ = writeln!(html, "<style>{STYLE}</style>\n</head>\n<body>");
        let _ = writeln!(html, "<h1>{}</h1>", escape(title));
        Page {
            html,
            md: format!("# {title}\n\n"),
            plots: Vec::new(),
        }
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.html, "<h2>{}</h2>", escape(text));
        let _ = writeln!(self.md, "## {text}\n");
    }

    /// A paragraph of plain text.
    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.html, "<p>{}</p>", escape(text));
        let _ = writeln!(self.md, "{text}\n");
    }

    /// Name-value pairs as a two-column table.
    pub fn facts(&mut self, facts: &[(&str, String)]) {
        let rows: Vec<Vec<String>> = facts
            .iter()
            .map(|(k, v)| vec![k.to_string(), v.clone()])
            .collect();
        self.table(&["", ""], &rows);
    }

    /// A table.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.html.push_str("<table>\n<thead><tr>");
        for h in header {
            let _ = write!(self.html, "<th>{}</th>", escape(h));
        }
        self.html.push_str("</tr></thead>\n<tbody>\n");
        for r in rows {
            self.html.push_str("<tr>");
            for c in r {
                let _ = write!(self.html, "<td>{}</td>", escape(c));
            }
            self.html.push_str("</tr>\n");
        }
        self.html.push_str("</tbody>\n</table>\n");
        let cells: Vec<String> = header.iter().map(|h| md_cell(h)).collect();
        let _ = writeln!(self.md, "| {} |", cells.join(" | "));
        let _ = writeln!(self.md, "|{}", "---|".repeat(header.len()));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
            let _ = writeln!(self.md, "| {} |", cells.join(" | "));
        }
        self.md.push('\n');
    }

    /// A plot: inline in the HTML, `plots/<name>.svg` in the Markdown.
    pub fn plot(&mut self, name: &str, caption: &str, svg: String) {
        let file = format!("{name}.svg");
        // The SVG document's XML declaration is not allowed inside HTML.
        let inline = match svg.find("<svg") {
            Some(i) => &svg[i..],
            None => svg.as_str(),
        };
        let _ = writeln!(
            self.html,
            "<figure id=\"{}\">\n{inline}\n<figcaption>{}</figcaption>\n</figure>",
            escape(name),
            escape(caption)
        );
        let _ = writeln!(
            self.md,
            "![{}](plots/{file})\n\n{caption}\n",
            md_cell(caption)
        );
        self.plots.push((file, svg));
    }

    /// Preformatted text, folded away in the HTML.
    pub fn details(&mut self, summary: &str, text: &str) {
        let _ = writeln!(
            self.html,
            "<details><summary>{}</summary>\n<pre>{}</pre>\n</details>",
            escape(summary),
            escape(text)
        );
        let _ = writeln!(
            self.md,
            "<details><summary>{summary}</summary>\n\n```json\n{text}\n```\n\n</details>\n"
        );
    }

    /// The finished report.
    pub fn finish(mut self) -> Report {
        self.html.push_str("</body>\n</html>\n");
        Report {
            html: self.html,
            markdown: self.md,
            plots: self.plots,
        }
    }
}
