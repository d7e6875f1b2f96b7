//! Prints a policy back to JSON, element order and single-or-array shapes as
//! written, so that reading the output gives an equal syntax tree.

use super::{
    ConditionBlock, ConditionValue, Negatable, OneOrMany, Policy, Principal, Spanned, Statement,
};
use std::fmt::Write;

impl Policy {
    /// The policy as pretty-printed JSON.
    pub fn to_json_string(&self) -> String {
        self.write(Writer::default())
    }

    /// The policy as JSON without whitespace between tokens.
    pub fn to_compact_json_string(&self) -> String {
        self.write(Writer {
            compact: true,
            ..Writer::default()
        })
    }

    fn write(&self, mut w: Writer) -> String {
        w.open('{');
        if let Some(v) = &self.version {
            w.key("Version");
            w.string(v.value.as_str());
        }
        if let Some(id) = &self.id {
            w.key("Id");
            w.string(&id.value);
        }
        w.key("Statement");
        w.one_or_many(&self.statements, statement);
        w.close('}');
        w.out
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

fn statement(w: &mut Writer, s: &Statement) {
    w.open('{');
    if let Some(sid) = &s.sid {
        w.key("Sid");
        w.string(&sid.value);
    }
    w.key("Effect");
    w.string(s.effect.value.as_str());
    if let Some(p) = &s.principal {
        w.key(if p.negated {
            "NotPrincipal"
        } else {
            "Principal"
        });
        match &p.values {
            Principal::Star => w.string("*"),
            Principal::Map(entries) => {
                w.open('{');
                for (kind, values) in entries {
                    w.key(kind.value.as_str());
                    strings(w, values);
                }
                w.close('}');
            }
        }
    }
    negatable(w, &s.action, "Action", "NotAction");
    if let Some(r) = &s.resource {
        negatable(w, r, "Resource", "NotResource");
    }
    if let Some(blocks) = &s.condition {
        w.key("Condition");
        w.open('{');
        for b in blocks {
            condition(w, b);
        }
        w.close('}');
    }
    w.close('}');
}

fn condition(w: &mut Writer, b: &ConditionBlock) {
    w.key(&b.operator_text.value);
    w.open('{');
    for e in &b.entries {
        w.key(&e.key.value);
        w.one_or_many(&e.values, |w, v| match &v.value {
            ConditionValue::String(s) => w.string(s),
            ConditionValue::Number(n) => w.raw(n),
            ConditionValue::Bool(b) => w.raw(if *b { "true" } else { "false" }),
        });
    }
    w.close('}');
}

fn negatable(
    w: &mut Writer,
    n: &Negatable<OneOrMany<Spanned<String>>>,
    name: &str,
    not_name: &str,
) {
    w.key(if n.negated { not_name } else { name });
    strings(w, &n.values);
}

fn strings(w: &mut Writer, values: &OneOrMany<Spanned<String>>) {
    w.one_or_many(values, |w, v| w.string(&v.value));
}

/// A pretty JSON writer: two-space indent, members in the order given.
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
    /// Whether the current container already has an item.
    first: Vec<bool>,
    after_key: bool,
    /// No newlines, indentation or spaces.
    compact: bool,
}

impl Writer {
    fn item_start(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
            self.newline();
        }
    }

    fn newline(&mut self) {
        if self.compact {
            return;
        }
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, c: char) {
        self.item_start();
        self.out.push(c);
        self.depth += 1;
        self.first.push(true);
    }

    fn close(&mut self, c: char) {
        self.depth = self.depth.saturating_sub(1);
        if self.first.pop() == Some(false) {
            self.newline();
        }
        self.out.push(c);
    }

    fn key(&mut self, k: &str) {
        self.item_start();
        self.push_quoted(k);
        self.out.push_str(if self.compact { ":" } else { ": " });
        self.after_key = true;
    }

    fn string(&mut self, s: &str) {
        self.item_start();
        self.push_quoted(s);
    }

    fn raw(&mut self, s: &str) {
        self.item_start();
        self.out.push_str(s);
    }

    fn push_quoted(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(self.out, "\\u{:04x}", u32::from(c));
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn one_or_many<T>(&mut self, v: &OneOrMany<T>, mut item: impl FnMut(&mut Self, &T)) {
        if v.array {
            self.open('[');
            for i in &v.items {
                item(self, i);
            }
            self.close(']');
        } else {
            for i in &v.items {
                item(self, i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::Policy;

    #[test]
    fn round_trips() {
        let text = r#"{"Version":"2012-10-17","Id":"i","Statement":[{"Sid":"s\"1","Effect":"Deny",
          "NotPrincipal":{"Service":"a.amazonaws.com","AWS":["1","2"]},"NotAction":"s3:*",
          "NotResource":["arn:aws:s3:::b\u0001"],
          "Condition":{"NumericLessThan":{"k":[1.5,-2]},"Bool":{"aws:SecureTransport":false}}},
          {"Effect":"Allow","Principal":"*","Action":"*"}]}"#;
        let p = Policy::parse(text).unwrap();
        let printed = p.to_json_string();
        let again = Policy::parse(&printed).unwrap();
        assert_eq!(p, again);
        assert_eq!(printed, again.to_json_string());
        let compact = p.to_compact_json_string();
        assert!(
            !compact.contains('\n') && compact.starts_with("{\"Version\":\"2012-10-17\",\"Id\""),
            "{compact}"
        );
        assert_eq!(Policy::parse(&compact).unwrap(), p);
        assert!(printed.starts_with(
            "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"i\",\n  \"Statement\": [\n    {"
        ));
    }
}
