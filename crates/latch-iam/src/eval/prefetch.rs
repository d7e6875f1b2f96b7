//! Reading memory ahead of use, so that cache misses overlap.

/// Reads one byte in every 64 (every cache line) of `bytes`, and its last.
/// The loads do not depend on one another, so when the data is not in
/// cache their misses overlap instead of coming one after another as
/// evaluation walks the data.
/// The values read are summed and the sum kept (`black_box`), so that the
/// loads are not optimised away; that costs fewer instructions than keeping
/// each value.
#[inline]
pub(crate) fn byte_lines(bytes: &[u8]) {
    let sum = bytes
        .iter()
        .step_by(64)
        .fold(0u64, |sum, b| sum.wrapping_add(u64::from(*b)));
    // The last byte too: when the bytes do not start at a line's start,
    // stepping from the first can stop short of the last line.
    let last = bytes.last().map_or(0, |b| u64::from(*b));
    std::hint::black_box(sum.wrapping_add(last));
}
