//! The simulator's CSV files: a header line and comma-separated fields, no
//! quoting (names in them are scenario identifiers). A small reader, and
//! the quoting writer the sweep's CSV needs for its parameter values.

/// A parsed CSV file.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// One row, with access by column name.
pub struct Row<'a> {
    table: &'a Table,
    line: usize,
    fields: &'a [String],
}

impl Table {
    /// Parses `text`; every row must have the header's number of fields.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .ok_or("the file is empty")?
            .split(',')
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                continue;
            }
            let fields: Vec<String> = line.split(',').map(str::to_string).collect();
            if fields.len() != header.len() {
                return Err(format!(
                    "line {}: {} fields, the header has {}",
                    i + 2,
                    fields.len(),
                    header.len()
                ));
            }
            rows.push(fields);
        }
        Ok(Table { header, rows })
    }

    /// Maps every row with `f`, naming the line of the first failure.
    pub fn rows_with<T>(
        &self,
        f: impl Fn(&Row<'_>) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, fields)| {
                let row = Row {
                    table: self,
                    line: i + 2,
                    fields,
                };
                f(&row)
            })
            .collect()
    }
}

impl Row<'_> {
    /// The field of column `name`.
    pub fn str(&self, name: &str) -> Result<&str, String> {
        let i = self
            .table
            .header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no column `{name}`"))?;
        Ok(&self.fields[i])
    }

    /// The field of column `name` as a number.
    pub fn f64(&self, name: &str) -> Result<f64, String> {
        let s = self.str(name)?;
        s.parse()
            .map_err(|_| format!("line {}: `{name}` is not a number: {s:?}", self.line))
    }

    /// The field of column `name` as a whole number.
    pub fn u64(&self, name: &str) -> Result<u64, String> {
        let s = self.str(name)?;
        s.parse()
            .map_err(|_| format!("line {}: `{name}` is not a whole number: {s:?}", self.line))
    }
}

/// A field for a CSV line: quoted (RFC 4180) when it holds a comma, a quote
/// or a line break.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_by_name_and_names_bad_lines() {
        let t = Table::parse("a,b\n1,x\n2.5,y\n").unwrap();
        let v = t
            .rows_with(|r| Ok((r.f64("a")?, r.str("b")?.to_string())))
            .unwrap();
        assert_eq!(v, vec![(1.0, "x".into()), (2.5, "y".into())]);
        let err = t.rows_with(|r| r.u64("a")).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(Table::parse("a,b\n1\n").unwrap_err().contains("line 2"));
        assert!(t.rows_with(|r| r.str("c").map(str::len)).is_err());
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(field("end-to-end"), "end-to-end");
        assert_eq!(field("[1,2]"), "\"[1,2]\"");
        assert_eq!(field("a\"b"), "\"a\"\"b\"");
    }
}
