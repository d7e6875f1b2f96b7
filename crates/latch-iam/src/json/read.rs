//! The reader: recursive descent over bytes, tracking line and column.

use super::{Json, JsonError, Loc, Member, Node};

/// Deepest nesting accepted; keeps recursion bounded on hostile input.
const MAX_DEPTH: usize = 128;

/// Parses one JSON document; trailing non-whitespace is an error.
pub fn parse(text: &str) -> Result<Node, JsonError> {
    let mut r = Reader {
        src: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
        line_start: 0,
    };
    r.skip_ws();
    let node = r.value(0)?;
    r.skip_ws();
    match r.peek() {
        None => Ok(node),
        Some(_) => Err(r.unexpected("end of input")),
    }
}

struct Reader<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: u32,
    line_start: usize,
}

impl Reader<'_> {
    fn loc(&self) -> Loc {
        let col = self.pos.saturating_sub(self.line_start) + 1;
        Loc {
            line: self.line,
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn unexpected(&self, expected: &'static str) -> JsonError {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(found) => JsonError::Unexpected {
                found,
                expected,
                loc: self.loc(),
            },
            None => JsonError::Eof { loc: self.loc() },
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.pos;
                }
                _ => break,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, JsonError> {
        let loc = self.loc();
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep {
                max: MAX_DEPTH,
                loc,
            });
        }
        let value = match self.peek() {
            None => return Err(JsonError::Eof { loc }),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Json::String(self.string()?),
            Some(b't') => self.word("true", Json::Bool(true))?,
            Some(b'f') => self.word("false", Json::Bool(false))?,
            Some(b'n') => self.word("null", Json::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.unexpected("a value")),
        };
        Ok(Node { value, loc })
    }

    fn word(&mut self, word: &'static str, value: Json) -> Result<Json, JsonError> {
        if self.src.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn eat(&mut self, b: u8, expected: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_ws();
            let key_loc = self.loc();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.eat(b':', "`:`")?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_loc,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if let Some(chunk) = self.text.get(start..self.pos) {
                out.push_str(chunk);
            }
            match self.peek() {
                None => return Err(JsonError::Eof { loc: self.loc() }),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => {
                    return Err(JsonError::BadString {
                        what: "control character",
                        loc: self.loc(),
                    })
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let loc = self.loc();
        let bad = JsonError::BadString {
            what: "bad escape",
            loc,
        };
        let Some(b) = self.peek() else {
            return Err(JsonError::Eof { loc });
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4().ok_or(bad.clone())?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.src.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(bad);
                    }
                    self.pos += 2;
                    let lo = self.hex4().ok_or(bad.clone())?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(bad);
                    }
                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    char::from_u32(cp).ok_or(bad)?
                } else {
                    char::from_u32(hi).ok_or(bad)?
                }
            }
            _ => return Err(bad),
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        Some(v)
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let loc = self.loc();
        let start = self.pos;
        let bad = JsonError::BadNumber { loc };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(bad),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(bad);
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(bad);
            }
            self.digits();
        }
        let text = self.text.get(start..self.pos).ok_or(bad)?;
        Ok(Json::Number(text.to_owned()))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_with_locations() {
        let n = parse("{\n  \"a\": [1, \"x\\u00e9\", true, null],\n  \"b\": -2.5e3\n}").unwrap();
        let Json::Object(m) = &n.value else { panic!() };
        assert_eq!(m[0].key, "a");
        assert_eq!((m[0].key_loc.line, m[0].key_loc.col), (2, 3));
        let Json::Array(items) = &m[0].value.value else {
            panic!()
        };
        assert_eq!(items[1].value, Json::String("xé".into()));
        assert_eq!((m[1].value.loc.line, m[1].value.loc.col), (3, 8));
        assert_eq!(m[1].value.value, Json::Number("-2.5e3".into()));
    }

    #[test]
    fn rejects_bad_input() {
        for (text, want) in [
            ("", "unexpected end of input"),
            ("{", "unexpected end of input"),
            ("[1,]", "unexpected character `]`, expected a value"),
            ("{\"a\" 1}", "unexpected character `1`, expected `:`"),
            ("01", "unexpected character `1`, expected end of input"),
            ("\"\\x\"", "invalid string: bad escape"),
            ("\"\\ud800\"", "invalid string: bad escape"),
            ("1.", "invalid number"),
            ("tru", "unexpected character `t`, expected a value"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.to_string(), want, "{text}");
        }
        let deep = "[".repeat(500);
        assert!(matches!(parse(&deep), Err(JsonError::TooDeep { .. })));
    }

    #[test]
    fn surrogate_pairs() {
        let n = parse("\"\\ud83d\\ude00\"").unwrap();
        assert_eq!(n.value, Json::String("😀".into()));
    }
}
