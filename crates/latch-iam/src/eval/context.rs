//! The request context: condition keys (case-insensitive) and their values,
//! stored in one text buffer so a decision reads few cache lines.

mod packed;

use packed::{Packed, TABLE_KEYS};

/// A context value to insert: one string, or a list for multivalued keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single value.
    One(String),
    /// A multivalued key's values.
    Many(Vec<String>),
}

/// A context value as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// A single value.
    One(&'a str),
    /// A multivalued key's values (possibly none).
    Many(Values<'a>),
}

impl<'a> ValueRef<'a> {
    /// The values, one for a single-valued key.
    pub fn iter(self) -> Values<'a> {
        match self {
            ValueRef::One(s) => Values {
                ctx: None,
                single: Some(s),
                next: 0,
                end: 0,
            },
            ValueRef::Many(v) => v,
        }
    }
}

/// Iterator over the values of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values<'a> {
    ctx: Option<&'a Context>,
    single: Option<&'a str>,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if let Some(s) = self.single.take() {
            return Some(s);
        }
        let ctx = self.ctx?;
        if self.next >= self.end {
            return None;
        }
        let span = *ctx.many.get(self.next as usize)?;
        self.next += 1;
        Some(ctx.text(span))
    }
}

/// A context value as a decision reads it: bytes.
#[derive(Clone, Copy)]
pub(crate) enum RawValue<'a> {
    /// A single value.
    One(&'a [u8]),
    /// A multivalued key's values (possibly none).
    Many(RawValues<'a>),
}

impl<'a> RawValue<'a> {
    /// The values, one for a single-valued key.
    pub fn iter(self) -> RawValues<'a> {
        match self {
            RawValue::One(s) => RawValues {
                packed: Packed::of(&[]),
                single: Some(s),
                next: 0,
                end: 0,
            },
            RawValue::Many(v) => v,
        }
    }
}

/// Iterator over the values of a key, as bytes.
#[derive(Clone, Copy)]
pub(crate) struct RawValues<'a> {
    packed: Packed<'a>,
    single: Option<&'a [u8]>,
    next: u32,
    end: u32,
}

impl<'a> Iterator for RawValues<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if let Some(s) = self.single.take() {
            return Some(s);
        }
        if self.next >= self.end {
            return None;
        }
        let (off, len) = self.packed.many(self.next)?;
        self.next += 1;
        Some(self.packed.bytes_at(off, len))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    One((u32, u32)),
    /// Range in `many`.
    Many(u32, u32),
}

/// Condition keys and values. Keys are matched without regard to case, as
/// AWS does ("Condition key names are not case-sensitive").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Keys (lowercased) and values.
    buf: String,
    /// Sorted by key.
    entries: Vec<((u32, u32), Slot)>,
    /// The [`key_hash`] of each entry's key, in the same order: a lookup
    /// scans these few words and reads one entry.
    hashes: Vec<u32>,
    /// Value spans of multivalued keys.
    many: Vec<(u32, u32)>,
    /// What a decision reads of all the above, in one allocation (see
    /// [`Packed`]), rebuilt on every insert.
    packed: Box<[u8]>,
}

impl Context {
    fn push(&mut self, s: &str) -> (u32, u32) {
        let off = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf.push_str(s);
        (off, u32::try_from(s.len()).unwrap_or(0))
    }

    fn text(&self, (off, len): (u32, u32)) -> &str {
        let off = off as usize;
        self.buf.get(off..off + len as usize).unwrap_or("")
    }

    fn packed(&self) -> Packed<'_> {
        Packed::of(&self.packed)
    }

    /// Rebuilds [`Self::packed`].
    fn pack(&mut self) {
        self.packed = packed::pack(&self.hashes, &self.entries, &self.many, |span| {
            self.text(span)
        });
    }

    fn find(&self, key_lc: &[u8]) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(k, _)| self.text(*k).as_bytes().cmp(key_lc))
    }

    /// Finds a key (lowercase) by its [`key_hash`]: requests carry few keys,
    /// so comparing hashes in turn beats comparing strings in a binary
    /// search; the text is compared only on a hash match.
    #[inline(always)]
    fn find_hashed(&self, packed: &Packed<'_>, hash: u32, key_lc: &[u8]) -> Option<Slot> {
        if self.hashes.len() > TABLE_KEYS {
            let i = self.find(key_lc).ok()?;
            return packed.slot(i);
        }
        packed.find(hash, key_lc)
    }

    /// Sets a key, replacing any value it had.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        self.insert_unpacked(key, value);
        self.pack();
    }

    /// Sets many keys, packing once at the end rather than after each.
    pub(crate) fn extend(&mut self, pairs: impl IntoIterator<Item = (String, ContextValue)>) {
        for (k, v) in pairs {
            self.insert_unpacked(&k, v);
        }
        self.pack();
    }

    /// [`Self::insert`] without rebuilding [`Self::packed`].
    fn insert_unpacked(&mut self, key: &str, value: ContextValue) {
        let key = key.to_ascii_lowercase();
        let slot = match value {
            ContextValue::One(s) => Slot::One(self.push(&s)),
            ContextValue::Many(vs) => {
                let start = u32::try_from(self.many.len()).unwrap_or(u32::MAX);
                for v in &vs {
                    let span = self.push(v);
                    self.many.push(span);
                }
                Slot::Many(start, u32::try_from(self.many.len()).unwrap_or(u32::MAX))
            }
        };
        match self.find(key.as_bytes()) {
            Ok(i) => {
                if let Some(e) = self.entries.get_mut(i) {
                    e.1 = slot;
                }
            }
            Err(i) => {
                let k = self.push(&key);
                self.entries.insert(i, (k, slot));
                self.hashes.insert(i, key_hash(&key));
            }
        }
    }

    /// Builds a context from pairs; one value makes a single-valued key.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, Vec<V>)>,
    ) -> Self {
        let mut c = Self::default();
        c.extend(pairs.into_iter().map(|(k, v)| {
            let mut v: Vec<String> = v.iter().map(|s| s.as_ref().to_owned()).collect();
            let value = if v.len() == 1 {
                ContextValue::One(v.pop().unwrap_or_default())
            } else {
                ContextValue::Many(v)
            };
            (k.as_ref().to_owned(), value)
        }));
        c
    }

    fn slot_ref(&self, slot: Slot) -> ValueRef<'_> {
        match slot {
            Slot::One(span) => ValueRef::One(self.text(span)),
            Slot::Many(start, end) => ValueRef::Many(Values {
                ctx: Some(self),
                single: None,
                next: start,
                end,
            }),
        }
    }

    /// The value of a key given in lowercase.
    pub fn get(&self, key_lc: &str) -> Option<ValueRef<'_>> {
        let i = self.find(key_lc.as_bytes()).ok()?;
        let (_, slot) = self.entries.get(i)?;
        Some(self.slot_ref(*slot))
    }

    /// Reads every line of what a decision reads of it (see `logic::touch`).
    pub(crate) fn touch(&self) {
        super::prefetch::byte_lines(&self.packed);
    }

    /// The value of a key given in lowercase with its [`key_hash`], as
    /// bytes.
    pub(crate) fn get_hashed(&self, hash: u32, key_lc: &[u8]) -> Option<RawValue<'_>> {
        let packed = self.packed();
        Some(match self.find_hashed(&packed, hash, key_lc)? {
            Slot::One((off, len)) => RawValue::One(packed.bytes_at(off, len)),
            Slot::Many(start, end) => RawValue::Many(RawValues {
                packed,
                single: None,
                next: start,
                end,
            }),
        })
    }

    /// The value of a single-valued key given in lowercase with its
    /// [`key_hash`].
    pub(crate) fn single_hashed(&self, hash: u32, key_lc: &[u8]) -> Option<&[u8]> {
        let packed = self.packed();
        match self.find_hashed(&packed, hash, key_lc)? {
            Slot::One((off, len)) => Some(packed.bytes_at(off, len)),
            Slot::Many(..) => None,
        }
    }

    /// The value of a single-valued key given in lowercase.
    pub fn single(&self, key_lc: &str) -> Option<&str> {
        match self.get(key_lc)? {
            ValueRef::One(s) => Some(s),
            ValueRef::Many(_) => None,
        }
    }

    /// Whether a key (lowercase) is present.
    pub fn contains(&self, key_lc: &str) -> bool {
        self.find(key_lc.as_bytes()).is_ok()
    }

    /// All entries, keys lowercased, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ValueRef<'_>)> {
        self.entries
            .iter()
            .map(|(k, slot)| (self.text(*k), self.slot_ref(*slot)))
    }
}

/// The hash a lowercased condition key is looked up by (FNV-1a), computed
/// once when a policy is compiled and when a key is inserted.
pub(crate) fn key_hash(key_lc: &str) -> u32 {
    key_lc.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_replace() {
        let mut c = Context::default();
        c.insert("aws:UserName", ContextValue::One("a".into()));
        c.insert(
            "AWS:TagKeys",
            ContextValue::Many(vec!["x".into(), "y".into()]),
        );
        c.insert("aws:username", ContextValue::One("b".into()));
        assert_eq!(c.single("aws:username"), Some("b"));
        let many: Vec<&str> = c.get("aws:tagkeys").unwrap().iter().collect();
        assert_eq!(many, ["x", "y"]);
        assert!(c.get("aws:nokey").is_none());
        assert_eq!(c.iter().count(), 2);
        c.insert("empty", ContextValue::Many(vec![]));
        assert_eq!(c.get("empty").unwrap().iter().count(), 0);
    }

    #[test]
    fn global_keys_and_long_values_are_found() {
        // Global keys are packed without their names; a value past 64 KiB
        // makes the entries wide.
        for long in [10, 70_000] {
            let mut c = Context::default();
            c.insert("aws:SourceIp", ContextValue::One("10.0.0.1".into()));
            c.insert("aws:PrincipalTag/team", ContextValue::One("x".repeat(long)));
            c.insert(
                "AWS:CalledVia",
                ContextValue::Many(vec!["a.amazonaws.com".into(), "b".into()]),
            );
            c.insert("aws:username", ContextValue::One("alice".into()));
            for k in [
                "aws:sourceip",
                "aws:principaltag/team",
                "aws:calledvia",
                "aws:username",
                "aws:userid",
                "aws:sourceipx",
            ] {
                let raw = c.get_hashed(key_hash(k), k.as_bytes()).map(|v| {
                    v.iter()
                        .map(|b| String::from_utf8(b.to_vec()).unwrap())
                        .collect::<Vec<_>>()
                });
                let want = c
                    .get(k)
                    .map(|v| v.iter().map(str::to_owned).collect::<Vec<_>>());
                assert_eq!(raw, want, "{k}");
            }
            assert_eq!(
                c.single_hashed(key_hash("aws:username"), b"aws:username"),
                Some(&b"alice"[..])
            );
            assert_eq!(
                c.single_hashed(key_hash("aws:principaltag/team"), b"aws:principaltag/team")
                    .map(<[u8]>::len),
                Some(long)
            );
        }
    }

    #[test]
    fn packed_lookups_agree_with_get() {
        // 70 keys: past the hash scan, the lookup searches the sorted keys.
        for n in [3usize, 70] {
            let mut c = Context::default();
            for i in 0..n {
                let value = if i % 2 == 0 {
                    ContextValue::One(format!("v{i}"))
                } else {
                    ContextValue::Many(vec![format!("a{i}"), format!("b{i}")])
                };
                c.insert(&format!("K{i}"), value);
            }
            for i in 0..n + 2 {
                let k = format!("k{i}");
                let raw = c.get_hashed(key_hash(&k), k.as_bytes()).map(|v| {
                    v.iter()
                        .map(|b| String::from_utf8(b.to_vec()).unwrap())
                        .collect::<Vec<_>>()
                });
                let want = c
                    .get(&k)
                    .map(|v| v.iter().map(str::to_owned).collect::<Vec<_>>());
                assert_eq!(raw, want, "{k}");
                let single = c.single_hashed(key_hash(&k), k.as_bytes());
                assert_eq!(single, c.single(&k).map(str::as_bytes), "{k}");
            }
        }
    }
}
