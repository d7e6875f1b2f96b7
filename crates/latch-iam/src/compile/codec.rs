//! Little-endian fields of the fixed-size records a [`super::Pool`] packs
//! into one byte buffer. Offsets are constants at every call site, so once
//! inlined each read is one load with no bounds check left.

/// Writes `bytes` at `at` in `r` (nothing if they do not fit).
#[inline]
pub(crate) fn put<const N: usize>(r: &mut [u8; N], at: usize, bytes: &[u8]) {
    if let Some(d) = r.get_mut(at..at + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

/// The `u16` at `at`.
#[inline(always)]
pub(crate) fn u16_at<const N: usize>(r: &[u8; N], at: usize) -> u16 {
    r.get(at..at + 2)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map_or(0, u16::from_le_bytes)
}

/// The `u32` at `at`.
#[inline(always)]
pub(crate) fn u32_at<const N: usize>(r: &[u8; N], at: usize) -> u32 {
    r.get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_le_bytes)
}

/// The `u64` at `at`.
#[inline(always)]
pub(crate) fn u64_at<const N: usize>(r: &[u8; N], at: usize) -> u64 {
    r.get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}
