//! Moving the compiled data of several policies into one pool they share,
//! laid out in the order a decision reads it.

use super::pattern::PatternArena;
use super::{CompiledCondition, CompiledPolicy, CondValues, HotStatement, Pool, Span};
use std::sync::Arc;

/// Moves the compiled data of `policies` into one new pool that they all
/// share, in the order given (the order evaluation reads them), with exactly
/// sized arrays allocated one after another. A pool that several of the
/// policies already share is copied once.
pub(crate) fn share_pool<'a>(policies: impl IntoIterator<Item = &'a mut CompiledPolicy>) {
    let mut policies: Vec<&mut CompiledPolicy> = policies.into_iter().collect();
    // Source pools, each once, with where their arrays start in the new one.
    let mut sources: Vec<(*const Pool, Offsets)> = Vec::new();
    let mut size = Offsets::default();
    for p in &policies {
        let ptr = Arc::as_ptr(&p.pool);
        if sources.iter().all(|(q, _)| *q != ptr) {
            sources.push((ptr, size));
            size = size.plus(&p.pool);
        }
    }
    let mut pool = Pool {
        hot: Vec::with_capacity(size.hot as usize),
        patterns: Vec::with_capacity(size.patterns as usize),
        arena: PatternArena {
            text: String::with_capacity(size.text as usize),
            pieces: Vec::with_capacity(size.pieces as usize),
            parts: Vec::with_capacity(size.parts as usize),
            cold: None,
        },
        conditions: Vec::with_capacity(size.conditions as usize),
        scalars: Vec::with_capacity(size.scalars as usize),
        cidrs: Vec::with_capacity(size.cidrs as usize),
        blobs: Vec::with_capacity(size.blobs as usize),
        principals: Vec::with_capacity(size.principals as usize),
        labels: Vec::with_capacity(size.conditions as usize),
    };
    let mut copied: Vec<*const Pool> = Vec::new();
    for p in &policies {
        let ptr = Arc::as_ptr(&p.pool);
        if copied.contains(&ptr) {
            continue;
        }
        copied.push(ptr);
        let at = sources
            .iter()
            .find(|(q, _)| *q == ptr)
            .map(|(_, o)| *o)
            .unwrap_or_default();
        let src: &Pool = &p.pool;
        pool.arena.text.push_str(&src.arena.text);
        pool.arena
            .pieces
            .extend(src.arena.pieces.iter().map(|x| x.rebased(at.text)));
        pool.arena
            .parts
            .extend(src.arena.parts.iter().map(|(off, parts)| {
                let parts = parts.map(|p| p.rebased(at.cold_text, at.cold_pieces));
                (off + at.text, parts)
            }));
        if let Some(src_cold) = &src.arena.cold {
            let cold = pool.arena.cold.get_or_insert_with(Default::default);
            cold.text.push_str(&src_cold.text);
            cold.pieces
                .extend(src_cold.pieces.iter().map(|x| x.rebased(at.cold_text)));
        }
        pool.patterns
            .extend(src.patterns.iter().map(|x| x.rebased(at.text, at.pieces)));
        pool.conditions
            .extend(src.conditions.iter().map(|c| c.rebased(&at)));
        pool.scalars.extend_from_slice(&src.scalars);
        pool.cidrs.extend_from_slice(&src.cidrs);
        pool.blobs.extend(src.blobs.iter().cloned());
        pool.principals
            .extend(src.principals.iter().map(|&(k, o, l)| (k, o + at.text, l)));
        pool.hot.extend(src.hot.iter().map(|h| h.rebased(&at)));
    }
    // The labels are only for explanations: moved rather than copied, so
    // that no small allocations land among the arrays above.
    let mut taken: Vec<*const Pool> = Vec::new();
    for p in &mut policies {
        let ptr = Arc::as_ptr(&p.pool);
        if taken.contains(&ptr) {
            continue;
        }
        taken.push(ptr);
        match Arc::get_mut(&mut p.pool) {
            Some(src) => pool.labels.append(&mut src.labels),
            None => pool.labels.extend(p.pool.labels.iter().cloned()),
        }
    }
    let pool = Arc::new(pool);
    for p in &mut policies {
        let ptr = Arc::as_ptr(&p.pool);
        let at = sources
            .iter()
            .find(|(q, _)| *q == ptr)
            .map(|(_, o)| *o)
            .unwrap_or_default();
        p.hot = p.hot.plus(at.hot);
        for s in &mut p.statements {
            s.actions = s.actions.plus(at.patterns);
            if let Some((_, span)) = &mut s.resources {
                *span = span.plus(at.patterns);
            }
            s.conditions = s.conditions.plus(at.conditions);
        }
    }
    for p in &mut policies {
        p.pool = Arc::clone(&pool);
    }
}

/// Where the arrays of one pool start inside another.
#[derive(Debug, Clone, Copy, Default)]
struct Offsets {
    hot: u32,
    patterns: u32,
    text: u32,
    pieces: u32,
    parts: u32,
    cold_text: u32,
    cold_pieces: u32,
    conditions: u32,
    scalars: u32,
    cidrs: u32,
    blobs: u32,
    principals: u32,
}

impl Offsets {
    fn plus(self, pool: &Pool) -> Self {
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Self {
            hot: self.hot + n(pool.hot.len()),
            patterns: self.patterns + n(pool.patterns.len()),
            text: self.text + n(pool.arena.text.len()),
            pieces: self.pieces + n(pool.arena.pieces.len()),
            parts: self.parts + n(pool.arena.parts.len()),
            cold_text: self.cold_text + n(pool.arena.cold.as_ref().map_or(0, |c| c.text.len())),
            cold_pieces: self.cold_pieces
                + n(pool.arena.cold.as_ref().map_or(0, |c| c.pieces.len())),
            conditions: self.conditions + n(pool.conditions.len()),
            scalars: self.scalars + n(pool.scalars.len()),
            cidrs: self.cidrs + n(pool.cidrs.len()),
            blobs: self.blobs + n(pool.blobs.len()),
            principals: self.principals + n(pool.principals.len()),
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
