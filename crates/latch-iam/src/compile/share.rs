//! Moving the compiled data of several policies into one pool they share,
//! laid out in the order a decision reads it.

use super::pattern::{Piece, PIECE};
use super::{Builder, CompiledCondition, CompiledPolicy, CondValues, HotStatement, Span, Unpacked};

/// Moves the compiled data of `policies` into one new pool that they all
/// share, in the order given (the order evaluation reads them), packed in
/// one allocation. A pool that several of the policies already share is
/// copied once.
pub(crate) fn share_pool<'a>(policies: impl IntoIterator<Item = &'a mut CompiledPolicy>) {
    merge(policies.into_iter().map(|p| (p, None)));
}

/// Packs the records of policies compiled with
/// [`CompiledPolicy::unpacked`] into one pool that they all share, in the
/// order given: like [`share_pool`], without packing each policy's records
/// on its own first and unpacking them again to merge them.
pub(crate) fn share_packed<'a>(policies: impl IntoIterator<Item = &'a mut Unpacked>) {
    merge(
        policies
            .into_iter()
            .map(|u| (&mut u.policy, Some(std::mem::take(&mut u.records)))),
    );
}

/// Merges the policies' records, taken from `Some` builder or else from
/// their packed pool, into one pool they then share.
fn merge<'a>(items: impl IntoIterator<Item = (&'a mut CompiledPolicy, Option<Builder>)>) {
    // Packed source pools, each once, with where their arrays start in the
    // new one.
    let mut sources: Vec<(*const u8, Offsets)> = Vec::new();
    let mut pool = Builder::default();
    let mut policies: Vec<(&mut CompiledPolicy, Offsets)> = Vec::new();
    for (p, records) in items {
        let at = match records {
            Some(records) => {
                let at = Offsets::of(&pool);
                append(&mut pool, records, &at);
                at
            }
            None => {
                let ptr = p.pool.bytes().as_ptr();
                match sources.iter().find(|(q, _)| *q == ptr) {
                    Some((_, at)) => *at,
                    None => {
                        let src = p.pool.thaw();
                        let at = Offsets::of(&pool);
                        sources.push((ptr, at));
                        append(&mut pool, src, &at);
                        at
                    }
                }
            }
        };
        policies.push((p, at));
    }
    let pool = pool.freeze();
    for (p, at) in policies {
        p.hot = p.hot.plus(at.hot);
        for s in &mut p.statements {
            s.actions = s.actions.plus(at.patterns);
            if let Some((_, span)) = &mut s.resources {
                *span = span.plus(at.patterns);
            }
            s.conditions = s.conditions.plus(at.conditions);
        }
        p.pool = pool.clone();
    }
}

/// Appends `src` to `pool`, its indices and text offsets moved by `at`.
fn append(pool: &mut Builder, src: Builder, at: &Offsets) {
    if pool.is_empty() {
        // Nothing to move it past: the first source as it is.
        *pool = src;
        return;
    }
    pool.arena.text.push_str(&src.arena.text);
    for r in src.arena.pieces.chunks_exact(PIECE) {
        if let Ok(r) = <&[u8; PIECE]>::try_from(r) {
            let piece = Piece::decode(r).rebased(at.text);
            pool.arena.pieces.extend_from_slice(&piece.encode());
        }
    }
    pool.arena
        .parts
        .extend(src.arena.parts.iter().map(|(off, parts)| {
            let parts = parts.map(|p| p.rebased(at.cold_text, at.cold_pieces));
            (off + at.text, parts)
        }));
    if let Some(src_cold) = &src.arena.cold {
        let cold = pool.arena.cold.get_or_insert_with(Default::default);
        cold.text.push_str(&src_cold.text);
        for r in src_cold.pieces.chunks_exact(PIECE) {
            if let Ok(r) = <&[u8; PIECE]>::try_from(r) {
                let piece = Piece::decode(r).rebased(at.cold_text);
                cold.pieces.extend_from_slice(&piece.encode());
            }
        }
    }
    pool.patterns
        .extend(src.patterns.iter().map(|x| x.rebased(at.text, at.pieces)));
    pool.conditions
        .extend(src.conditions.iter().map(|c| c.rebased(at)));
    pool.scalars.extend_from_slice(&src.scalars);
    pool.cidrs.extend_from_slice(&src.cidrs);
    pool.blobs.extend(src.blobs);
    pool.principals
        .extend(src.principals.iter().map(|&(k, o, l)| (k, o + at.text, l)));
    pool.hot.extend(src.hot.iter().map(|h| h.rebased(at)));
    pool.labels.extend(src.labels);
}

impl Builder {
    /// Whether no array holds anything yet.
    fn is_empty(&self) -> bool {
        let Builder {
            hot,
            patterns,
            arena,
            conditions,
            scalars,
            cidrs,
            blobs,
            principals,
            labels,
        } = self;
        hot.is_empty()
            && patterns.is_empty()
            && arena.text.is_empty()
            && arena.pieces.is_empty()
            && arena.parts.is_empty()
            && arena.cold.is_none()
            && conditions.is_empty()
            && scalars.is_empty()
            && cidrs.is_empty()
            && blobs.is_empty()
            && principals.is_empty()
            && labels.is_empty()
    }
}

/// Where the arrays of one pool start inside another.
#[derive(Debug, Clone, Copy, Default)]
struct Offsets {
    hot: u32,
    patterns: u32,
    text: u32,
    pieces: u32,
    cold_text: u32,
    cold_pieces: u32,
    conditions: u32,
    scalars: u32,
    cidrs: u32,
    blobs: u32,
    principals: u32,
}

impl Offsets {
    /// Where arrays appended to `pool` start.
    fn of(pool: &Builder) -> Self {
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        let cold = pool.arena.cold.as_ref();
        Self {
            hot: n(pool.hot.len()),
            patterns: n(pool.patterns.len()),
            text: n(pool.arena.text.len()),
            pieces: n(pool.arena.pieces.len() / PIECE),
            cold_text: n(cold.map_or(0, |c| c.text.len())),
            cold_pieces: n(cold.map_or(0, |c| c.pieces.len() / PIECE)),
            conditions: n(pool.conditions.len()),
            scalars: n(pool.scalars.len()),
            cidrs: n(pool.cidrs.len()),
            blobs: n(pool.blobs.len()),
            principals: n(pool.principals.len()),
        }
    }
}

impl Span {
    fn plus(self, by: u32) -> Self {
        Self {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

impl HotStatement {
    fn rebased(&self, at: &Offsets) -> Self {
        Self {
            actions: self.actions.plus(at.patterns),
            resource_span: self.resource_span.plus(at.patterns),
            conditions: self.conditions.plus(at.conditions),
            principals: self.principals.plus(at.principals),
            ..*self
        }
    }
}

impl CompiledCondition {
    fn rebased(&self, at: &Offsets) -> Self {
        let values = match self.values {
            CondValues::Strings(s) => CondValues::Strings(s.plus(at.patterns)),
            CondValues::Arns(s) => CondValues::Arns(s.plus(at.patterns)),
            CondValues::Numbers(s) => CondValues::Numbers(s.plus(at.scalars)),
            CondValues::Dates(s) => CondValues::Dates(s.plus(at.scalars)),
            CondValues::Cidrs(s) => CondValues::Cidrs(s.plus(at.cidrs)),
            CondValues::Binary(s) => CondValues::Binary(s.plus(at.blobs)),
            other @ (CondValues::Bools(_) | CondValues::Null(_)) => other,
        };
        Self {
            operator: self.operator,
            key: (self.key.0 + at.text, self.key.1),
            key_hash: self.key_hash,
            values,
        }
    }
}
