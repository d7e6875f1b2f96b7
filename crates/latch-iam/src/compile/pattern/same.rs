//! Byte-string equality for the short texts a decision compares (actions,
//! ARN heads, condition keys): most comparisons of equal-length texts
//! differ in their first or last eight bytes, which two word compares find
//! without a call to `memcmp`.

/// Whether `a` and `b` are equal.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if word(a, 0) != word(b, 0) || word(a, n - 8) != word(b, n - 8) {
        return false;
    }
    // The two words cover texts of up to 16 bytes.
    n <= 16 || a == b
}

/// The eight bytes at `i` (callers keep `i + 8 <= s.len()`).
#[inline(always)]
fn word(s: &[u8], i: usize) -> u64 {
    s.get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_ne_bytes)
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn agrees_with_slice_equality() {
        let base: Vec<u8> = (0u8..40).map(|i| b'a' + i % 26).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same(a, a));
            assert!(!same(a, &base[..n + 1]));
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert_eq!(same(a, &b), a == b.as_slice(), "length {n}, byte {i}");
            }
        }
    }
}
