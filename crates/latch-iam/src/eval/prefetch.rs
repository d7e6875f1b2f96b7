//! Reading memory ahead of use, so that cache misses overlap.

/// Reads one value in every cache line of `items`. The loads do not depend
/// on one another, so when the data is not in cache their misses overlap
/// instead of coming one after another as evaluation walks the data.
pub(crate) fn lines<T, R>(items: &[T], read: impl Fn(&T) -> R) {
    let step = (64 / std::mem::size_of::<T>().max(1)).max(1);
    for x in items.iter().step_by(step) {
        std::hint::black_box(read(x));
    }
}
