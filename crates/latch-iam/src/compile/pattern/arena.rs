//! Where compiled patterns keep their text and pieces: a [`PatternArena`]
//! while compiling, and the [`Arena`] view they are matched against.

use super::packed::PIECE_NARROW;
use super::{Pattern, Piece};

/// Where pattern text and the pieces of patterns with policy variables are
/// kept: one text buffer and one array of pieces, so that matching a
/// pattern with variables reads a few contiguous records rather than
/// following a pointer per piece.
#[derive(Debug, Clone, Default)]
pub struct PatternArena {
    /// Pattern text, and the text of pieces.
    pub text: String,
    /// Pieces of patterns with policy variables, encoded ([`Piece::encode`],
    /// [`PIECE`] bytes each), as they are in a compiled policy's pool.
    pub pieces: Vec<u8>,
    /// For ARN patterns with policy variables, their six parts as patterns
    /// of their own (slow path: a variable with no value), by the offset of
    /// the whole pattern's text.
    pub parts: Vec<(u32, [Pattern; 6])>,
    /// The text and pieces of those parts: kept apart, so that what is read
    /// on every decision stays small.
    pub cold: Option<Box<PatternArena>>,
    /// Where the texts of patterns without variables are (offset, length),
    /// so that a text is stored once.
    pub(crate) stored: Vec<(u32, u32)>,
}

impl PatternArena {
    /// A view for matching.
    pub fn view(&self) -> Arena<'_> {
        Arena {
            text: self.text.as_bytes(),
            pieces: &self.pieces,
            narrow: false,
            parts: &self.parts,
            cold: self.cold.as_deref(),
        }
    }
}

/// What patterns are matched against: a [`PatternArena`], or the same
/// arrays in a compiled policy's pool.
#[derive(Debug, Clone, Copy)]
pub struct Arena<'a> {
    /// Pattern text, and the text of pieces.
    pub text: &'a [u8],
    /// Pieces of patterns with policy variables, encoded.
    pub pieces: &'a [u8],
    /// The pieces are narrow records ([`PIECE_NARROW`] bytes).
    pub(crate) narrow: bool,
    /// ARN parts of ARN patterns with policy variables.
    pub parts: &'a [(u32, [Pattern; 6])],
    /// Where the parts' text and pieces are.
    pub cold: Option<&'a PatternArena>,
}

impl<'a> Arena<'a> {
    pub(super) fn bytes_at(&self, (off, len): (u32, u32)) -> &'a [u8] {
        let off = off as usize;
        self.text.get(off..off + len as usize).unwrap_or(&[])
    }

    /// The size of a piece record.
    #[inline(always)]
    pub(super) fn piece_size(&self) -> usize {
        if self.narrow {
            PIECE_NARROW
        } else {
            PIECE
        }
    }

    /// Piece `i`.
    #[inline]
    pub(super) fn piece(&self, i: u32) -> Option<Piece> {
        let n = self.piece_size();
        let at = i as usize * n;
        self.decode(self.pieces.get(at..at + n)?)
    }

    /// The piece record that starts `r`.
    #[inline(always)]
    pub(crate) fn decode(&self, r: &[u8]) -> Option<Piece> {
        if self.narrow {
            r.first_chunk::<PIECE_NARROW>().map(Piece::decode_narrow)
        } else {
            r.first_chunk::<PIECE>().map(Piece::decode)
        }
    }
}

/// The size of an encoded [`Pattern`].
pub const PATTERN: usize = 24;

/// The size of an encoded [`Piece`].
pub const PIECE: usize = 24;
