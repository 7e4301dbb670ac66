//! Many rows as one bound parameter: a JSON array of arrays, which a statement reads back with
//! `json_each` and `->>` (sqlite.org/json1.html). SQLite's answer to PostgreSQL's `UNNEST`.
//!
//! Why: sqlx runs each SQLite connection on a thread of its own and hands it every statement
//! and every answer across a channel, so each statement costs two thread wake-ups besides its
//! work. A batch of 32 transfers was about 195 statements (a key looked up, inserted and
//! updated, an account updated, a journal row inserted, one at a time): on a 2-core machine the
//! embedded default spent half of its samples in the scheduler (bench/RESULTS.md). One statement
//! per table, its text fixed whatever the batch's size, also stays in the statement cache.
//!
//! Values are written as JSON numbers only when they fit SQLite's INTEGER (i64); amounts and
//! counters (u128, i128) are written as strings, as the tables store them, since `->>` would
//! read a larger number back as a lossy REAL. Bytes are hex, for `unhex()`.

use std::fmt::{Display, Write as _};

/// A JSON array of rows, each an array of values, written straight into one string.
#[derive(Debug)]
pub(crate) struct JsonRows {
    json: String,
    /// The row being written has a value already (the next needs a comma).
    row_started: bool,
}

impl JsonRows {
    pub(crate) fn with_capacity(rows: usize, bytes_per_row: usize) -> Self {
        let mut json = String::with_capacity(2 + rows * bytes_per_row);
        json.push('[');
        Self { json, row_started: false }
    }

    /// Starts a row (ends the one before).
    pub(crate) fn row(&mut self) -> &mut Self {
        if self.json.len() > 1 {
            self.json.push_str("],");
        }
        self.json.push('[');
        self.row_started = false;
        self
    }

    fn comma(&mut self) {
        if self.row_started {
            self.json.push(',');
        }
        self.row_started = true;
    }

    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.comma();
        let _ = write!(self.json, "{v}");
        self
    }

    pub(crate) fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A string, escaped as JSON requires.
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.comma();
        // Writing a &str into a String cannot fail.
        let _ = serde_json::to_writer(StringWriter(&mut self.json), s);
        self
    }

    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A value whose `Display` needs no escaping (digits, a UUID), as a string.
    pub(crate) fn shown(&mut self, v: impl Display) -> &mut Self {
        self.comma();
        let _ = write!(self.json, "\"{v}\"");
        self
    }

    pub(crate) fn opt_shown(&mut self, v: Option<impl Display>) -> &mut Self {
        match v {
            Some(v) => self.shown(v),
            None => self.null(),
        }
    }

    /// Bytes as a hex string, for `unhex()`.
    pub(crate) fn hex(&mut self, bytes: &[u8]) -> &mut Self {
        self.comma();
        self.json.push('"');
        for b in bytes {
            let _ = write!(self.json, "{b:02x}");
        }
        self.json.push('"');
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.comma();
        self.json.push_str("null");
        self
    }

    pub(crate) fn finish(mut self) -> String {
        if self.json.len() > 1 {
            self.json.push(']');
        }
        self.json.push(']');
        self.json
    }
}

/// A JSON array of values whose `Display` needs no escaping (UUIDs), as strings: for
/// `IN (SELECT value FROM json_each(…))`.
pub(crate) fn shown_list<T: Display>(items: impl ExactSizeIterator<Item = T>) -> String {
    let mut json = String::with_capacity(2 + items.len() * 40);
    json.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            json.push(',');
        }
        let _ = write!(json, "\"{item}\"");
    }
    json.push(']');
    json
}

/// `io::Write` into a `String`, for serde_json's string escaping (it writes only UTF-8).
struct StringWriter<'a>(&'a mut String);

impl std::io::Write for StringWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = std::str::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        self.0.push_str(s);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_a_json_array_of_arrays() {
        let mut rows = JsonRows::with_capacity(2, 16);
        rows.row().int(-7).opt_int(None).text("a \"quoted\"\n\\ é").shown(u128::MAX);
        rows.row().hex(&[0, 171, 255]).opt_text(None).opt_shown(Some(-3_i128)).opt_shown(None::<u8>);
        let json = rows.finish();
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("the rows are JSON");
        assert_eq!(
            parsed,
            serde_json::json!([[-7, null, "a \"quoted\"\n\\ é", u128::MAX.to_string()], ["00abff", null, "-3", null]])
        );
    }

    #[test]
    fn a_list_is_a_flat_array() {
        assert_eq!(shown_list([1, 2].iter()), r#"["1","2"]"#);
        assert_eq!(shown_list(std::iter::empty::<u8>()), "[]");
    }

    #[test]
    fn no_rows_is_an_empty_array() {
        assert_eq!(JsonRows::with_capacity(0, 0).finish(), "[]");
    }

    #[test]
    fn a_row_without_values_is_an_empty_array() {
        let mut rows = JsonRows::with_capacity(1, 0);
        rows.row();
        assert_eq!(rows.finish(), "[[]]");
    }
}
