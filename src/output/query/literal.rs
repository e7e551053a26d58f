//! JSON literals whose integers are wider than 64 bits, read as Python's `json.loads` reads them:
//! an integer stays an integer (here up to 128 bits; wider ones become floats, a documented
//! difference). serde_json, without arbitrary precision, reads such an integer as a float, so
//! literals holding one are read here instead.

use crate::output::pyvalue::{Dict, PyValue};
use indexmap::IndexMap;

/// Nesting deeper than this is refused, as serde_json refuses it.
const MAX_DEPTH: usize = 128;

/// Whether `text` holds, outside strings, a run of digits too wide for 64 bits.
pub fn has_wide_integer(text: &str) -> bool {
    let (mut in_string, mut escaped, mut run) = (false, false, 0usize);
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() {
            run += 1;
            if run > 19 {
                return true;
            }
            continue;
        }
        run = 0;
        in_string = c == '"';
    }
    false
}

/// Reads `text` as JSON, integers exact up to 128 bits; `None` when it is not JSON.
pub fn parse(text: &str) -> Option<PyValue> {
    let mut reader = Reader {
        text,
        at: 0,
        depth: 0,
    };
    let value = reader.value()?;
    reader.skip_space();
    (reader.at == text.len()).then_some(value)
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let found = self.rest().starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn value(&mut self) -> Option<PyValue> {
        self.skip_space();
        for (word, value) in [
            ("null", PyValue::Null),
            ("true", PyValue::Bool(true)),
            ("false", PyValue::Bool(false)),
        ] {
            if self.eat(word) {
                return Some(value);
            }
        }
        match self.rest().chars().next()? {
            '"' => self.string().map(PyValue::Str),
            '[' | '{' if self.depth >= MAX_DEPTH => None,
            '[' => self.list(),
            '{' => self.dict(),
            _ => self.number(),
        }
    }

    fn string(&mut self) -> Option<String> {
        let rest = self.rest();
        let mut escaped = false;
        let end = rest.char_indices().skip(1).find_map(|(i, c)| {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => return Some(i),
                _ => {}
            }
            None
        })?;
        let text = serde_json::from_str::<String>(&rest[..=end]).ok()?;
        self.at += end + 1;
        Some(text)
    }

    fn list(&mut self) -> Option<PyValue> {
        self.at += 1;
        self.depth += 1;
        let mut items = Vec::new();
        if !self.eat("]") {
            loop {
                items.push(self.value()?);
                if self.eat("]") {
                    break;
                }
                self.eat(",").then_some(())?;
            }
        }
        self.depth -= 1;
        Some(PyValue::list(items))
    }

    fn dict(&mut self) -> Option<PyValue> {
        self.at += 1;
        self.depth += 1;
        let mut entries = IndexMap::new();
        if !self.eat("}") {
            loop {
                self.skip_space();
                let key = self.string()?;
                self.eat(":").then_some(())?;
                entries.insert(key, self.value()?);
                if self.eat("}") {
                    break;
                }
                self.eat(",").then_some(())?;
            }
        }
        self.depth -= 1;
        Some(PyValue::dict(Dict::plain(entries)))
    }

    /// JSON's number grammar; an integer is exact up to 128 bits, a float as Python reads it.
    fn number(&mut self) -> Option<PyValue> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(rest.len());
        let token = &rest[..len];
        let digits = token.strip_prefix('-').unwrap_or(token);
        let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        // serde_json checks the grammar (no leading zero, no bare '-' or '1.'); an integer too
        // large even for a float is still an integer to Python.
        let well_formed = serde_json::from_str::<serde_json::Value>(token).is_ok()
            || integer && !(digits.len() > 1 && digits.starts_with('0'));
        if !well_formed {
            return None;
        }
        self.at += len;
        match token.parse::<i128>() {
            Ok(i) if integer => Some(PyValue::Int(i)),
            _ => token.parse::<f64>().ok().map(PyValue::Float),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_integers_stay_integers_up_to_128_bits() {
        let wide = "123456789012345678901234567890"; // 97 bits
        assert!(has_wide_integer(wide));
        assert!(!has_wide_integer("\"123456789012345678901234567890\""));
        assert!(!has_wide_integer("9223372036854775807"));
        assert_eq!(
            parse(wide),
            Some(PyValue::Int(123456789012345678901234567890))
        );
        assert_eq!(
            parse(&format!(
                " [-{wide}, {{\"a\": {wide}}}, 1.5, \"x\\\"y\", null] "
            )),
            Some(PyValue::list(vec![
                PyValue::Int(-123456789012345678901234567890),
                PyValue::dict(Dict::plain(
                    [(
                        "a".to_string(),
                        PyValue::Int(123456789012345678901234567890)
                    )]
                    .into_iter()
                    .collect()
                )),
                PyValue::Float(1.5),
                PyValue::Str("x\"y".into()),
                PyValue::Null,
            ]))
        );
        // Wider than 128 bits: a float (Python keeps an int; see the README).
        let huge = "1".repeat(45);
        assert!(matches!(parse(&huge), Some(PyValue::Float(_))));
        for bad in ["[1,]", "01234567890123456789012", "{\"a\" 1}", "[1 2]", "-"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
