//! Reading memory ahead of use, so that cache misses overlap.

/// Reads one value in every cache line of `items`, and its last item. The
/// loads do not depend on one another, so when the data is not in cache
/// their misses overlap instead of coming one after another as evaluation
/// walks the data.
/// The values read are summed and the sum kept (`black_box`), so that the
/// loads are not optimised away; that costs fewer instructions than keeping
/// each value.
pub(crate) fn lines<T>(items: &[T], read: impl Fn(&T) -> u64) {
    let step = (64 / std::mem::size_of::<T>().max(1)).max(1);
    let sum = items
        .iter()
        .step_by(step)
        .fold(0u64, |sum, x| sum.wrapping_add(read(x)));
    // The last item too: when the array does not start at a line's start,
    // stepping from its first item can stop short of its last line.
    let last = items.last().map_or(0, &read);
    std::hint::black_box(sum.wrapping_add(last));
}
