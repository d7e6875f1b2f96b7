//! Dates as AWS's `Date*` operators read them: ISO 8601 (date, date-time,
//! fractional seconds, `Z` or offset) or seconds since the Unix epoch.

/// Parses a date to milliseconds since the Unix epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut ms = days * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = num(11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = num(14, 2)?;
    let mut i = 16;
    let mut second = 0;
    let mut frac_ms = 0;
    if b.get(i) == Some(&b':') {
        second = num(17, 2)?;
        i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
            let digits = s.get(start..i.min(start + 3))?;
            let scale = match digits.len() {
                1 => 100,
                2 => 10,
                _ => 1,
            };
            frac_ms = digits.parse::<i64>().ok()? * scale;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += (hour * 3600 + minute * 60 + second) * 1000 + frac_ms;
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let (om, end) = if b.get(i + 3) == Some(&b':') {
                (num(i + 4, 2)?, i + 6)
            } else if b.len() > i + 3 {
                (num(i + 3, 2)?, i + 5)
            } else {
                (0, i + 3)
            };
            if end != b.len() || oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60_000;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        Some(_) => return None,
    };
    Some(ms - offset)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aws_date_forms() {
        for (text, want) in [
            ("1970-01-01", Some(0)),
            ("1970-01-02T00:00:00Z", Some(86_400_000)),
            ("2020-02-29T12:30:00Z", Some(1_582_979_400_000)),
            ("2020-02-29T12:30:00.5Z", Some(1_582_979_400_500)),
            ("2020-02-29T12:30Z", Some(1_582_979_400_000)),
            ("2020-02-29T13:30:00+01:00", Some(1_582_979_400_000)),
            ("2020-02-29T11:30:00-0100", Some(1_582_979_400_000)),
            ("1582979400", Some(1_582_979_400_000)),
            ("2019-02-29", None),
            ("2020-13-01", None),
            ("yesterday", None),
            ("2020-01-01T25:00:00Z", None),
            ("2020-01-01T00:00:00Zjunk", None),
            ("", None),
        ] {
            assert_eq!(parse_date(text), want, "{text}");
        }
    }
}
