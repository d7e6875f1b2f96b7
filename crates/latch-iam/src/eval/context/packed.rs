//! What a decision reads of a [`super::Context`], in one allocation:
//! key hashes, entries, the spans of multivalued keys, a small hash table
//! and the text of the values. The names of global condition keys
//! (`aws:SourceIp`, …) are not stored: an entry points into one shared,
//! lowercased copy of them, which every decision reads and so stays in
//! cache.

use super::Slot;
use crate::compile::codec::{u16_at, u32_at};
use crate::compile::pattern::same;
use std::sync::OnceLock;

/// The layout of [`super::Context::packed`]: a header of three `u32`s (the
/// number of entries `n`, with [`NARROW`] when entries are narrow; the
/// number of multivalued spans `m`; the size `t` of the hash table), then
/// `n` key hashes (`u32`), `n` entries, `m` spans (offset, length, `u32`
/// each), the hash table, then the text. An entry is four `u16`s (narrow)
/// or `u32`s (wide): the key's offset and its length, with [`MANY`] for a
/// multivalued key and [`KNOWN`] for a key found in [`known`], then the
/// value's offset and length, or its range of spans. With at most
/// [`TABLE_KEYS`] keys, the table (a power of two, at least twice `n`)
/// holds at the slot a hash picks, or the next free one, each entry's index
/// plus one (zero: free); a lookup reads one or two slots instead of
/// comparing every hash.
#[derive(Clone, Copy)]
pub(super) struct Packed<'a> {
    /// The whole allocation; the fields below are where its parts start
    /// (read in place, so that a lookup slices only what it reads).
    b: &'a [u8],
    narrow: bool,
    n: u32,
    m: u32,
    entries: usize,
    many: usize,
    table: usize,
    text: usize,
}

/// The most keys a context's hash table indexes (its slots are bytes);
/// a larger context is searched by key.
pub(super) const TABLE_KEYS: usize = 64;

/// Marks narrow entries in the header's first word.
const NARROW: u32 = 1 << 31;

/// In a key's length: a multivalued entry (the top bit of the length's
/// field, 16 or 32 bits wide).
const MANY: u32 = 1 << 1;
/// In a key's length: the key's text is in [`known`], not in the context.
const KNOWN: u32 = 1 << 0;

/// Splits a key-length field of `bits` bits into the length and its
/// [`MANY`] and [`KNOWN`] flags (its two top bits).
#[inline(always)]
fn flags(field: u32, bits: u32) -> (u32, u32) {
    let shift = bits - 2;
    (field & ((1 << shift) - 1), field >> shift)
}

/// The `u32` at `at` of `b`, or zero.
#[inline(always)]
fn word(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_le_bytes)
}

impl<'a> Packed<'a> {
    #[inline(always)]
    pub fn of(b: &'a [u8]) -> Self {
        let (n, m, t) = (word(b, 0), word(b, 4), word(b, 8) as usize);
        let narrow = n & NARROW != 0;
        let n = n & !NARROW;
        let entries = 12 + 4 * n as usize;
        let many = entries + if narrow { 8 } else { 16 } * n as usize;
        let table = many + 8 * m as usize;
        Self {
            b,
            narrow,
            n,
            m,
            entries,
            many,
            table,
            text: table + t,
        }
    }

    #[inline(always)]
    pub fn bytes_at(&self, off: u32, len: u32) -> &'a [u8] {
        let at = self.text + off as usize;
        self.b.get(at..at + len as usize).unwrap_or(&[])
    }

    /// Span `i` of the multivalued keys' values.
    pub fn many(&self, i: u32) -> Option<(u32, u32)> {
        if i >= self.m {
            return None;
        }
        let at = self.many + 8 * i as usize;
        Some((word(self.b, at), word(self.b, at + 4)))
    }

    /// Entry `i`: its key's text and its value.
    #[inline(always)]
    fn entry(&self, i: u32) -> Option<(&'a [u8], Slot)> {
        if i >= self.n {
            return None;
        }
        let (koff, (klen, f), a, b) = if self.narrow {
            let e = self
                .b
                .get(self.entries + 8 * i as usize..)?
                .first_chunk::<8>()?;
            let w = |at| u32::from(u16_at(e, at));
            (w(0), flags(w(2), 16), w(4), w(6))
        } else {
            let e = self
                .b
                .get(self.entries + 16 * i as usize..)?
                .first_chunk::<16>()?;
            (
                u32_at(e, 0),
                flags(u32_at(e, 4), 32),
                u32_at(e, 8),
                u32_at(e, 12),
            )
        };
        let key = if f & KNOWN != 0 {
            known().bytes_at(koff, klen)
        } else {
            self.bytes_at(koff, klen)
        };
        let slot = if f & MANY != 0 {
            Slot::Many(a, b)
        } else {
            Slot::One((a, b))
        };
        Some((key, slot))
    }

    /// The value of entry `i`.
    pub fn slot(&self, i: usize) -> Option<Slot> {
        Some(self.entry(u32::try_from(i).ok()?)?.1)
    }

    /// Finds a key (lowercase) by its hash, through the table.
    pub fn find(&self, hash: u32, key_lc: &[u8]) -> Option<Slot> {
        let table = self.b.get(self.table..self.text)?;
        let mask = table.len().wrapping_sub(1);
        let mut at = hash as usize;
        // INVARIANT: the table has a free slot (it is at least twice as
        // large as the keys), so the probe ends; `take` bounds it anyway.
        for _ in 0..table.len() {
            at &= mask;
            let i = u32::from(*table.get(at)?).checked_sub(1)?;
            at += 1;
            if i >= self.n || word(self.b, 12 + 4 * i as usize) != hash {
                continue;
            }
            let (key, slot) = self.entry(i)?;
            if same(key, key_lc) {
                return Some(slot);
            }
        }
        None
    }
}

/// Packs a context's `entries` (sorted by key; keys and values are spans
/// of `text`, multivalued ones ranges of `many`) with their `hashes`.
pub(super) fn pack<'t>(
    hashes: &[u32],
    entries: &[((u32, u32), Slot)],
    many: &[(u32, u32)],
    text: impl Fn((u32, u32)) -> &'t str,
) -> Box<[u8]> {
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    let mut out_text = String::new();
    let mut push = |s: &str| {
        let at = (n(out_text.len()), n(s.len()));
        out_text.push_str(s);
        at
    };
    let mut out_many: Vec<(u32, u32)> = Vec::new();
    // (key offset, key length, flags, value words)
    let mut rows: Vec<(u32, u32, u32, u32, u32)> = Vec::with_capacity(entries.len());
    for (key, slot) in entries {
        let (f, a, b) = match *slot {
            Slot::One(v) => {
                let (off, len) = push(text(v));
                (0, off, len)
            }
            Slot::Many(start, end) => {
                let first = n(out_many.len());
                for i in start..end {
                    let v = many.get(i as usize).copied().unwrap_or_default();
                    out_many.push(push(text(v)));
                }
                (MANY, first, n(out_many.len()))
            }
        };
        let key = text(*key);
        let (koff, klen, f) = match known().find(key) {
            Some((off, len)) => (off, len, f | KNOWN),
            None => {
                let (off, len) = push(key);
                (off, len, f)
            }
        };
        rows.push((koff, klen, f, a, b));
    }
    let fits = |x: u32| x <= u32::from(u16::MAX);
    let narrow = rows
        .iter()
        .all(|&(o, l, _, a, b)| fits(o) && l < 1 << 14 && fits(a) && fits(b));
    let table = table(hashes);
    let mut out = Vec::with_capacity(
        12 + 20 * entries.len() + 8 * out_many.len() + table.len() + out_text.len(),
    );
    let count = n(entries.len()) | if narrow { NARROW } else { 0 };
    for w in [count, n(out_many.len()), n(table.len())] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for h in hashes {
        out.extend_from_slice(&h.to_le_bytes());
    }
    for &(koff, klen, f, a, b) in &rows {
        if narrow {
            let klen = klen | f << 14;
            for w in [koff, klen, a, b] {
                out.extend_from_slice(&u16::try_from(w).unwrap_or(0).to_le_bytes());
            }
        } else {
            for w in [koff, klen | f << 30, a, b] {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    for (off, len) in &out_many {
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(&table);
    out.extend_from_slice(out_text.as_bytes());
    out.into_boxed_slice()
}

/// The hash table of [`Packed`] for `hashes`: empty past [`TABLE_KEYS`].
fn table(hashes: &[u32]) -> Vec<u8> {
    if hashes.len() > TABLE_KEYS {
        return Vec::new();
    }
    let size = (hashes.len() * 2).next_power_of_two().max(4);
    let mut t = vec![0u8; size];
    for (i, h) in hashes.iter().enumerate() {
        let mut at = *h as usize;
        for _ in 0..size {
            at &= size - 1;
            if let Some(slot @ 0) = t.get_mut(at) {
                *slot = u8::try_from(i + 1).unwrap_or(0);
                break;
            }
            at += 1;
        }
    }
    t
}

/// The global condition keys without a tag part, lowercased, one after
/// another, sorted.
struct Known {
    text: String,
    keys: Vec<(u32, u32)>,
}

impl Known {
    fn bytes_at(&self, off: u32, len: u32) -> &[u8] {
        let off = off as usize;
        self.text
            .as_bytes()
            .get(off..off + len as usize)
            .unwrap_or(&[])
    }

    /// Where `key` (lowercase) is in the text.
    fn find(&self, key: &str) -> Option<(u32, u32)> {
        let i = self
            .keys
            .binary_search_by(|&(o, l)| self.bytes_at(o, l).cmp(key.as_bytes()))
            .ok()?;
        self.keys.get(i).copied()
    }
}

/// The shared copy of the global condition keys' names.
fn known() -> &'static Known {
    static KNOWN_KEYS: OnceLock<Known> = OnceLock::new();
    KNOWN_KEYS.get_or_init(|| {
        let mut names: Vec<String> = crate::validate::services::global_key_names()
            .filter(|k| !k.contains('/'))
            .map(str::to_ascii_lowercase)
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut text = String::new();
        let mut keys = Vec::with_capacity(names.len());
        for k in &names {
            let at = u32::try_from(text.len()).unwrap_or(u32::MAX);
            keys.push((at, u32::try_from(k.len()).unwrap_or(0)));
            text.push_str(k);
        }
        Known { text, keys }
    })
}
