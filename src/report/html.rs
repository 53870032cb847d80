//! A single-file HTML page: a title, facts, a verdict banner, headings, tables and charts.
//!
//! Every piece of text goes through [`escape`] on its way in, and charts come only from
//! [`super::svg`], so no value from a spec or a server can add markup to the page. The
//! page carries its own styles and loads nothing from anywhere.

use std::fmt::Write;

use super::svg::Svg;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, left-aligned.
    Text(String),
    /// A figure, right-aligned in a fixed-width font.
    Number(String),
    /// A pass (true) or a failure (false), in colour.
    Verdict(bool),
}

/// A table with a header row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The column names.
    pub header: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// A page under construction.
#[derive(Debug, Clone)]
pub struct Page {
    title: String,
    facts: Vec<(String, String)>,
    /// Rendered, escaped blocks in order.
    blocks: Vec<String>,
}

impl Page {
    /// An empty page with a title.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.into(),
            facts: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// A labelled fact under the title (target, start time, ...).
    pub fn fact(&mut self, label: &str, value: &str) {
        self.facts.push((label.into(), value.into()));
    }

    /// A coloured banner with the overall verdict.
    pub fn banner(&mut self, passed: bool, text: &str) {
        let class = if passed { "pass" } else { "fail" };
        self.blocks
            .push(format!("<p class=\"banner {class}\">{}</p>", escape(text)));
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        self.blocks.push(format!("<h2>{}</h2>", escape(text)));
    }

    /// A paragraph of text.
    pub fn paragraph(&mut self, text: &str) {
        self.blocks.push(format!("<p>{}</p>", escape(text)));
    }

    /// A table.
    pub fn table(&mut self, table: &Table) {
        let mut html = String::from("<table>\n<thead><tr>");
        for (index, name) in table.header.iter().enumerate() {
            // A column of figures has its name aligned with them, on the right.
            let first = table.rows.first().and_then(|row| row.get(index));
            let class = match first {
                Some(Cell::Number(_)) => " class=\"num\"",
                Some(Cell::Text(_) | Cell::Verdict(_)) | None => "",
            };
            let _ = write!(html, "<th{class}>{}</th>", escape(name));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        for row in &table.rows {
            html.push_str("<tr>");
            for cell in row {
                let _ = match cell {
                    Cell::Text(text) => write!(html, "<td>{}</td>", escape(text)),
                    Cell::Number(text) => write!(html, "<td class=\"num\">{}</td>", escape(text)),
                    Cell::Verdict(true) => write!(html, "<td class=\"pass\">pass</td>"),
                    Cell::Verdict(false) => write!(html, "<td class=\"fail\">FAIL</td>"),
                };
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n</table>");
        self.blocks.push(html);
    }

    /// A chart.
    pub fn chart(&mut self, chart: Svg) {
        self.blocks
            .push(format!("<figure>{}</figure>", chart.as_str()));
    }

    /// The whole document.
    pub fn render(&self) -> String {
        let mut html = String::new();
        let title = escape(&self.title);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
             <h1>{title}</h1>\n"
        );
        if !self.facts.is_empty() {
            html.push_str("<dl>\n");
            for (label, value) in &self.facts {
                let _ = writeln!(html, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
            }
            html.push_str("</dl>\n");
        }
        for block in &self.blocks {
            html.push_str(block);
            html.push('\n');
        }
        html.push_str("</main>\n</body>\n</html>\n");
        html
    }
}

const STYLE: &str = "
body { margin: 0; background: #f6f7f9; color: #1f2933;
  font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 16px; }
dt { color: #52606d; }
dd { margin: 0; font-family: ui-monospace, 'DejaVu Sans Mono', monospace; }
.banner { padding: 12px 16px; border-radius: 6px; font-weight: 600; margin: 16px 0; }
.banner.pass { background: #e3f9e5; color: #05400a; border: 1px solid #57ae5b; }
.banner.fail { background: #ffe3e3; color: #610404; border: 1px solid #e66a6a; }
table { border-collapse: collapse; background: #fff; width: 100%; margin: 8px 0; }
th, td { padding: 6px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; }
th { background: #eef1f4; font-weight: 600; }
th.num { text-align: right; }
td.num { text-align: right; font-family: ui-monospace, 'DejaVu Sans Mono', monospace; }
td.pass { color: #0e7c11; font-weight: 600; }
td.fail { color: #c81e1e; font-weight: 600; }
figure { margin: 8px 0 16px; background: #fff; border: 1px solid #e4e7eb; border-radius: 6px; }
svg { display: block; width: 100%; height: auto; }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_cannot_add_markup() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        let mut page = Page::new("a <b> title");
        page.fact("target", "http://h/<x>");
        page.table(&Table {
            header: vec!["name".into()],
            rows: vec![vec![Cell::Text("</td><script>".into())]],
        });
        let html = page.render();
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("<title>a &lt;b&gt; title</title>"));
    }

    #[test]
    fn a_page_fetches_nothing() {
        let mut page = Page::new("t");
        page.banner(true, "all good");
        page.paragraph("text");
        let html = page.render();
        for reference in ["http://", "https://", "src=", "href=", "@import", "url("] {
            assert!(!html.contains(reference), "page contains {reference}");
        }
        assert!(html.contains("<p class=\"banner pass\">all good</p>"));
    }
}
