//! Patterns and pieces as a compiled policy's pool stores them: fixed-size
//! little-endian records (see `compile::codec`).

use super::{Pattern, Piece, Shape, Var, PATTERN, PIECE};

/// The size of a narrow pattern record ([`Pattern::encode_narrow`]).
pub(crate) const PATTERN_NARROW: usize = 12;

/// The size of a narrow piece record ([`Piece::encode_narrow`]).
pub(crate) const PIECE_NARROW: usize = 12;

/// Marks a narrow pattern record that has pieces.
const HAS_PIECES: u8 = 0x80;

fn shape_byte(shape: Shape) -> u8 {
    match shape {
        Shape::Any => 0,
        Shape::Exact => 1,
        Shape::Prefix => 2,
        Shape::General => 3,
        Shape::Never => 4,
    }
}

#[inline(always)]
fn shape_of(b: u8) -> Shape {
    match b {
        0 => Shape::Any,
        1 => Shape::Exact,
        2 => Shape::Prefix,
        3 => Shape::General,
        _ => Shape::Never,
    }
}

impl Piece {
    /// The piece as stored: a tag, a flag, then up to five `u32`s.
    pub(crate) fn encode(&self) -> [u8; PIECE] {
        let mut r = [0u8; PIECE];
        let (tag, flag, words): (u8, bool, [u32; 5]) = match *self {
            Piece::Lit(off, len) => (0, false, [off, len, 0, 0, 0]),
            Piece::Star { seg } => (1, seg, [0; 5]),
            Piece::One { seg } => (2, seg, [0; 5]),
            Piece::Var(v) => {
                let (d, has) = match v.default {
                    Some(d) => (d, true),
                    None => ((0, 0), false),
                };
                (3, has, [v.key.0, v.key.1, v.hash, d.0, d.1])
            }
        };
        r[0] = tag;
        r[1] = u8::from(flag);
        for (i, w) in words.iter().enumerate() {
            crate::compile::codec::put(&mut r, 4 + 4 * i, &w.to_le_bytes());
        }
        r
    }

    /// Reads a piece written by [`Self::encode`].
    #[inline(always)]
    pub(crate) fn decode(r: &[u8; PIECE]) -> Self {
        use crate::compile::codec::u32_at;
        let flag = r[1] != 0;
        match r[0] {
            0 => Piece::Lit(u32_at(r, 4), u32_at(r, 8)),
            1 => Piece::Star { seg: flag },
            2 => Piece::One { seg: flag },
            _ => Piece::Var(Var {
                key: (u32_at(r, 4), u32_at(r, 8)),
                hash: u32_at(r, 12),
                default: flag.then(|| (u32_at(r, 16), u32_at(r, 20))),
            }),
        }
    }
}

impl Piece {
    /// The piece in [`PIECE_NARROW`] bytes, if it fits: a tag, a flag, then
    /// a literal's offset and length as `u16`s, or a variable's key offset
    /// (`u16`), key and default lengths (`u8`), hash and default offset.
    pub(crate) fn encode_narrow(&self) -> Option<[u8; PIECE_NARROW]> {
        use crate::compile::codec::put;
        let mut r = [0u8; PIECE_NARROW];
        let short = |x: u32| u16::try_from(x).ok().map(u16::to_le_bytes);
        match *self {
            Piece::Lit(off, len) => {
                put(&mut r, 2, &short(off)?);
                put(&mut r, 4, &short(len)?);
            }
            Piece::Star { seg } => (r[0], r[1]) = (1, u8::from(seg)),
            Piece::One { seg } => (r[0], r[1]) = (2, u8::from(seg)),
            Piece::Var(v) => {
                let (d_off, d_len) = v.default.unwrap_or((0, 0));
                r[0] = 3;
                r[1] = u8::from(v.default.is_some());
                put(&mut r, 2, &short(v.key.0)?);
                r[4] = u8::try_from(v.key.1).ok()?;
                r[5] = u8::try_from(d_len).ok()?;
                put(&mut r, 6, &v.hash.to_le_bytes());
                put(&mut r, 10, &short(d_off)?);
            }
        }
        Some(r)
    }

    /// Reads a piece written by [`Self::encode_narrow`].
    #[inline(always)]
    pub(crate) fn decode_narrow(r: &[u8; PIECE_NARROW]) -> Self {
        use crate::compile::codec::{u16_at, u32_at};
        let flag = r[1] != 0;
        let short = |at| u32::from(u16_at(r, at));
        match r[0] {
            0 => Piece::Lit(short(2), short(4)),
            1 => Piece::Star { seg: flag },
            2 => Piece::One { seg: flag },
            _ => Piece::Var(Var {
                key: (short(2), u32::from(r[4])),
                hash: u32_at(r, 6),
                default: flag.then(|| (short(10), u32::from(r[5]))),
            }),
        }
    }
}

impl Pattern {
    /// The pattern as stored in a pool: [`PATTERN`] bytes.
    pub(crate) fn encode(&self) -> [u8; PATTERN] {
        use crate::compile::codec::put;
        let mut r = [0u8; PATTERN];
        put(&mut r, 0, &self.off.to_le_bytes());
        put(&mut r, 4, &self.len.to_le_bytes());
        put(&mut r, 8, &self.pieces.0.to_le_bytes());
        put(&mut r, 12, &self.pieces.1.to_le_bytes());
        put(&mut r, 16, &self.head.to_le_bytes());
        put(&mut r, 18, &self.tail.to_le_bytes());
        put(&mut r, 20, &self.seg5.to_le_bytes());
        r[22] = shape_byte(self.shape);
        r[23] = self.flags;
        r
    }

    /// The pattern in [`PATTERN_NARROW`] bytes, if it fits: its text's
    /// offset and length as `u16`s, and a pattern with pieces (policy
    /// variables) keeps its pieces where others keep their literal ends and
    /// sixth-part offset, which only patterns without pieces use.
    pub(crate) fn encode_narrow(&self) -> Option<[u8; PATTERN_NARROW]> {
        use crate::compile::codec::put;
        let mut r = [0u8; PATTERN_NARROW];
        put(&mut r, 0, &u16::try_from(self.off).ok()?.to_le_bytes());
        put(&mut r, 2, &u16::try_from(self.len).ok()?.to_le_bytes());
        let mut shape = shape_byte(self.shape);
        if self.has_pieces() {
            let count = u16::try_from(self.pieces.1 - self.pieces.0).ok()?;
            put(&mut r, 4, &self.pieces.0.to_le_bytes());
            put(&mut r, 8, &count.to_le_bytes());
            shape |= HAS_PIECES;
        } else {
            put(&mut r, 4, &self.head.to_le_bytes());
            put(&mut r, 6, &self.tail.to_le_bytes());
            put(&mut r, 8, &self.seg5.to_le_bytes());
        }
        r[10] = shape;
        r[11] = self.flags;
        Some(r)
    }

    /// Reads a pattern written by [`Self::encode_narrow`].
    #[inline(always)]
    pub(crate) fn decode_narrow(r: &[u8; PATTERN_NARROW]) -> Self {
        use crate::compile::codec::{u16_at, u32_at};
        let shape = r[10];
        let (pieces, head, tail, seg5) = if shape & HAS_PIECES != 0 {
            let start = u32_at(r, 4);
            let end = start.saturating_add(u32::from(u16_at(r, 8)));
            ((start, end), 0, 0, 0)
        } else {
            ((0, 0), u16_at(r, 4), u16_at(r, 6), u16_at(r, 8))
        };
        Self {
            off: u32::from(u16_at(r, 0)),
            len: u32::from(u16_at(r, 2)),
            pieces,
            head,
            tail,
            seg5,
            shape: shape_of(shape & !HAS_PIECES),
            flags: r[11],
        }
    }

    /// Reads a pattern written by [`Self::encode`].
    #[inline(always)]
    pub(crate) fn decode(r: &[u8; PATTERN]) -> Self {
        use crate::compile::codec::{u16_at, u32_at};
        Self {
            off: u32_at(r, 0),
            len: u32_at(r, 4),
            pieces: (u32_at(r, 8), u32_at(r, 12)),
            head: u16_at(r, 16),
            tail: u16_at(r, 18),
            seg5: u16_at(r, 20),
            shape: shape_of(r[22]),
            flags: r[23],
        }
    }
}
