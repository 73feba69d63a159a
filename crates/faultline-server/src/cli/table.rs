//! Aligned text tables for the command-line client. Columns are as wide
//! as their widest cell; when the table would not fit the terminal, the
//! flexible columns (titles, culprits) are cut with `…`, and optional ones
//! are left out before a flexible column gets too narrow to read.

/// How a column is laid out.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub right_aligned: bool,
    /// May be cut to fit the width.
    pub flexible: bool,
    /// May be left out when the width is too small for it.
    pub optional: bool,
}

impl Column {
    pub const fn left(header: &'static str) -> Column {
        Column { header, right_aligned: false, flexible: false, optional: false }
    }

    pub const fn right(header: &'static str) -> Column {
        Column { header, right_aligned: true, flexible: false, optional: false }
    }

    pub const fn flexible(self) -> Column {
        Column { flexible: true, ..self }
    }

    pub const fn optional(self) -> Column {
        Column { optional: true, ..self }
    }
}

const GAP: usize = 2;
/// A flexible column narrower than this is cut too hard to read.
const MIN_FLEXIBLE: usize = 24;

pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[Column]) -> Table {
        Table { columns: columns.to_vec(), rows: Vec::new() }
    }

    /// Adds a row; cells beyond the columns are ignored, missing ones are empty.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| one_line(&c)).collect());
    }

    /// Renders the table in at most `width` characters a line (no limit
    /// when `None`).
    pub fn render(&self, width: Option<usize>) -> String {
        let mut shown: Vec<usize> = (0..self.columns.len()).collect();
        let mut widths = self.natural_widths();
        if let Some(width) = width {
            // Leave out optional columns, the last first, while the
            // flexible ones would end up too narrow.
            while self.fitted(&shown, &widths, width).is_none() {
                match shown.iter().rposition(|&c| self.columns[c].optional) {
                    Some(i) => {
                        shown.remove(i);
                    }
                    None => break,
                }
            }
            widths =
                self.fitted(&shown, &widths, width).unwrap_or_else(|| self.squeezed(&shown, &widths, width));
        }
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| c.header.to_string()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let line: Vec<String> = shown
                .iter()
                .map(|&c| pad(cells.get(c).map(String::as_str).unwrap_or(""), widths[c], self.columns[c]))
                .collect();
            out.push_str(line.join(&" ".repeat(GAP)).trim_end());
            out.push('\n');
        }
        out
    }

    fn natural_widths(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cells = self.rows.iter().filter_map(|r| r.get(i)).map(|s| s.chars().count());
                cells.max().unwrap_or(0).max(c.header.len())
            })
            .collect()
    }

    /// Widths that fit `width` with every flexible column at least
    /// `MIN_FLEXIBLE` wide (or its natural width if smaller), if any do.
    fn fitted(&self, shown: &[usize], natural: &[usize], width: usize) -> Option<Vec<usize>> {
        let total: usize =
            shown.iter().map(|&c| natural[c]).sum::<usize>() + GAP * shown.len().saturating_sub(1);
        if total <= width {
            return Some(natural.to_vec());
        }
        let flexible: Vec<usize> = shown.iter().copied().filter(|&c| self.columns[c].flexible).collect();
        let fixed: usize = total - flexible.iter().map(|&c| natural[c]).sum::<usize>();
        let mut room = width.checked_sub(fixed)?;
        let mut widths = natural.to_vec();
        // Share the room fairly: narrow columns keep their width, the rest split what is left.
        let mut left: Vec<usize> = flexible.clone();
        left.sort_by_key(|&c| natural[c]);
        while let Some(&c) = left.first() {
            let share = room / left.len();
            let w = natural[c].min(share);
            if w < MIN_FLEXIBLE.min(natural[c]) {
                return None;
            }
            widths[c] = w;
            room -= w;
            left.remove(0);
        }
        Some(widths)
    }

    /// The last resort: every flexible column at the minimum.
    fn squeezed(&self, shown: &[usize], natural: &[usize], _width: usize) -> Vec<usize> {
        let mut widths = natural.to_vec();
        for &c in shown {
            if self.columns[c].flexible {
                widths[c] = natural[c].min(MIN_FLEXIBLE);
            }
        }
        widths
    }
}

fn pad(cell: &str, width: usize, column: Column) -> String {
    let cut = cut(cell, width);
    let fill = " ".repeat(width.saturating_sub(cut.chars().count()));
    if column.right_aligned {
        format!("{fill}{cut}")
    } else {
        format!("{cut}{fill}")
    }
}

/// `text` in at most `width` characters, ending in `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The first line of a cell, with tabs and other control characters
/// (which would break the alignment or the terminal) shown as spaces.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    first.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The width to render for: the terminal's, else `COLUMNS`, else none
/// (output to a file or a pipe is not cut).
pub fn output_width() -> Option<usize> {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return Some(usize::from(w));
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()).filter(|&w: &usize| w >= 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&[
            Column::right("ID"),
            Column::left("SERVICE"),
            Column::left("TITLE").flexible(),
            Column::left("CULPRIT").flexible().optional(),
        ]);
        t.row(vec![
            "7".into(),
            "checkout".into(),
            "KeyError: 'email' was not found in the payload".into(),
            "app.orders in parse_quantity".into(),
        ]);
        t.row(vec![
            "1234".into(),
            "api".into(),
            "ValueError: bad\nsecond line".into(),
            "app.db in connect".into(),
        ]);
        t
    }

    #[test]
    fn columns_line_up() {
        let text = sample().render(None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  ID  SERVICE   TITLE                                           CULPRIT");
        assert_eq!(
            lines[1],
            "   7  checkout  KeyError: 'email' was not found in the payload  app.orders in parse_quantity"
        );
        assert_eq!(
            lines[2],
            "1234  api       ValueError: bad                                 app.db in connect"
        );
    }

    #[test]
    fn narrow_terminals_cut_titles_and_drop_optional_columns() {
        let text = sample().render(Some(60));
        for line in text.lines() {
            assert!(line.chars().count() <= 60, "{line:?}");
        }
        assert!(!text.contains("CULPRIT"), "{text}");
        assert!(text.contains("KeyError: 'email' was not found in the payl…"), "{text}");
        let wide = sample().render(Some(200));
        assert_eq!(wide, sample().render(None));
    }

    #[test]
    fn control_characters_do_not_break_alignment() {
        let mut t = Table::new(&[Column::left("A"), Column::left("B")]);
        t.row(vec!["x\ty".into(), "\u{1b}[31mred".into()]);
        // The escape character becomes a space: nothing reaches the terminal raw.
        assert_eq!(t.render(None).lines().nth(1), Some("x y   [31mred"));
    }
}
