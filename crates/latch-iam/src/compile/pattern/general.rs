//! The general matcher: patterns with wildcards in the middle, or with
//! policy variables, matched after the cheap checks of
//! [`Pattern::matches`] have not settled the answer.

use super::glob::{glob, glob_bytes, Tok};
use super::text::sixth_part_start;
use super::{eq, resolve, Arena, Pattern, Piece, Shape, PIECE, PIECE_NARROW, SEG5_FAR};
use crate::compile::codec::{u16_at, u32_at};
use crate::eval::Context;

impl Pattern {
    /// [`Self::matches`] for [`Shape::General`].
    #[inline(never)]
    pub(super) fn matches_general(
        &self,
        arena: Arena<'_>,
        pat: &[u8],
        text: &[u8],
        ctx: &Context,
        fold: bool,
    ) -> bool {
        let eq = |a: &[u8], b: &[u8]| eq(fold, a, b);
        match self.shape {
            Shape::Never | Shape::Any | Shape::Exact | Shape::Prefix => false,
            Shape::General => match self.has_pieces() {
                false => {
                    // Quick reject on the literal ends, then the full match.
                    let (h, t) = (self.head as usize, self.tail as usize);
                    if text.len() < h + t {
                        return false;
                    }
                    let ends = match (
                        pat.get(..h),
                        text.get(..h),
                        pat.get(pat.len() - t..),
                        text.get(text.len() - t..),
                    ) {
                        (Some(ph), Some(th), Some(pt), Some(tt)) => eq(ph, th) && eq(pt, tt),
                        _ => false,
                    };
                    // The head is literal and equal: the match goes on from
                    // the end of it, in the state it would have reached.
                    let seg5 = match self.seg5 {
                        SEG5_FAR => sixth_part_start(pat),
                        n => usize::from(n),
                    };
                    ends && glob_bytes(pat, text, h, seg5, fold)
                }
                true => {
                    // Each piece is read and each variable looked up once,
                    // not at every step of the match.
                    const MAX: usize = 8;
                    let n = self.piece_count();
                    let tok_of = |p: Piece| -> Option<Tok<'_>> {
                        Some(match p {
                            Piece::Lit(off, len) => Tok::Lit(arena.bytes_at((off, len))),
                            Piece::Star { seg } => Tok::Star(seg),
                            Piece::One { seg } => Tok::One(seg),
                            Piece::Var(v) => Tok::Lit(resolve(&v, arena, ctx)?),
                        })
                    };
                    if n > MAX {
                        if self.pieces(arena).any(|p| tok_of(p).is_none()) {
                            return false;
                        }
                        let tok = |i: usize| -> Option<Tok<'_>> {
                            if i >= n {
                                return None;
                            }
                            tok_of(arena.piece(self.pieces.0 + u32::try_from(i).ok()?)?)
                        };
                        return glob(tok, text, fold);
                    }
                    // The records read in place: literals and wildcards
                    // without building a `Piece` first.
                    let mut toks = [Tok::Star(false); MAX];
                    let (from, to) = (self.pieces.0 as usize, self.pieces.1 as usize);
                    let read = if arena.narrow {
                        read_toks::<PIECE_NARROW, _>(arena, from, to, &mut toks, tok_of)
                    } else {
                        read_toks::<PIECE, _>(arena, from, to, &mut toks, tok_of)
                    };
                    if !read {
                        return false;
                    }
                    let toks = toks.get(..n).unwrap_or(&[]);
                    glob(|i| toks.get(i).copied(), text, fold)
                }
            },
        }
    }
}

/// Reads the piece records `from..to` of `arena` (`N` bytes each) into
/// `toks`: literals and wildcards in place, without building a `Piece`
/// first; `false` when a variable has no value.
#[inline(always)]
fn read_toks<'a, const N: usize, F: Fn(Piece) -> Option<Tok<'a>>>(
    arena: Arena<'a>,
    from: usize,
    to: usize,
    toks: &mut [Tok<'a>],
    tok_of: F,
) -> bool {
    let raw = arena.pieces.get(from * N..to * N).unwrap_or(&[]);
    for (slot, r) in toks.iter_mut().zip(raw.chunks_exact(N)) {
        let Some(r) = r.first_chunk::<N>() else {
            return false;
        };
        let flag = r.get(1).is_some_and(|f| *f != 0);
        *slot = match r.first() {
            Some(0) if N == PIECE_NARROW => {
                Tok::Lit(arena.bytes_at((u32::from(u16_at(r, 2)), u32::from(u16_at(r, 4)))))
            }
            Some(0) => Tok::Lit(arena.bytes_at((u32_at(r, 4), u32_at(r, 8)))),
            Some(1) => Tok::Star(flag),
            Some(2) => Tok::One(flag),
            _ => match arena.decode(r).and_then(&tok_of) {
                Some(t) => t,
                None => return false,
            },
        };
    }
    true
}
