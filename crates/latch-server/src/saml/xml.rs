//! A small XML writer whose output is already in Exclusive XML
//! Canonicalization form (the `exc-c14n` of XML-DSig) for the documents
//! Latch signs, so the bytes written are the bytes digested: explicit end
//! tags, namespace declarations before attributes and each sorted, the
//! canonical escapes, and no whitespace between elements. Callers declare a
//! namespace only on the element that uses it first (exclusive
//! canonicalization puts it there, and nowhere below).

/// An element.
#[derive(Debug, Clone)]
pub struct El {
    name: String,
    namespaces: Vec<(String, String)>,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    El(El),
    Text(String),
}

impl El {
    /// `<name>` (with its prefix, e.g. `saml:Issuer`).
    pub fn new(name: &str) -> El {
        El { name: name.to_owned(), namespaces: Vec::new(), attrs: Vec::new(), children: Vec::new() }
    }

    /// Declares `xmlns:prefix="uri"` here.
    #[must_use]
    pub fn ns(mut self, prefix: &str, uri: &str) -> El {
        self.namespaces.push((prefix.to_owned(), uri.to_owned()));
        self
    }

    /// An unprefixed attribute.
    #[must_use]
    pub fn attr(mut self, name: &str, value: &str) -> El {
        self.attrs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A child element.
    #[must_use]
    pub fn child(mut self, el: El) -> El {
        self.children.push(Node::El(el));
        self
    }

    /// Text content.
    #[must_use]
    pub fn text(mut self, text: &str) -> El {
        self.children.push(Node::Text(text.to_owned()));
        self
    }

    /// The canonical bytes.
    pub fn to_canonical(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        let mut namespaces = self.namespaces.clone();
        namespaces.sort();
        for (prefix, uri) in &namespaces {
            out.push_str(&format!(" xmlns:{prefix}=\""));
            escape_attr(uri, out);
            out.push('"');
        }
        // Unprefixed attributes sort by name alone (their namespace URI is
        // empty, and every attribute here is unprefixed).
        let mut attrs = self.attrs.clone();
        attrs.sort();
        for (name, value) in &attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_attr(value, out);
            out.push('"');
        }
        out.push('>');
        for c in &self.children {
            match c {
                Node::El(el) => el.write(out),
                Node::Text(t) => escape_text(t, out),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::El;

    #[test]
    fn output_is_canonical() {
        let el = El::new("a:x").attr("z", "1").attr("b", "<\"&\n").ns("b", "urn:b").ns("a", "urn:a").child(El::new("a:y")).text("1 < 2 & 3 > \r");
        assert_eq!(el.to_canonical(), "<a:x xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" b=\"&lt;&quot;&amp;&#xA;\" z=\"1\"><a:y></a:y>1 &lt; 2 &amp; 3 &gt; &#xD;</a:x>");
    }
}
