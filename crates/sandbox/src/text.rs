//! Text helpers shared by the crate: cutting text to a byte budget without splitting a
//! UTF-8 character (runs set `LANG=C.UTF-8`, so compilers print curly quotes).

/// Shortens `s` to at most `max` bytes, at the last character boundary at or below it.
pub(crate) fn truncate_utf8(s: &mut String, max: usize) {
    let end = s.floor_char_boundary(max);
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::truncate_utf8;

    #[test]
    fn cuts_before_a_multibyte_character_that_straddles_the_limit() {
        // "‘" is 3 bytes (E2 80 98): bytes 2..5 here, so a cut at 3 or 4 is inside it.
        for max in [2, 3, 4] {
            let mut s = "ab‘c’".to_owned();
            truncate_utf8(&mut s, max);
            assert_eq!(s, "ab", "max {max}");
        }
        let mut s = "ab‘c’".to_owned();
        truncate_utf8(&mut s, 5);
        assert_eq!(s, "ab‘");
        let mut short = "ok".to_owned();
        truncate_utf8(&mut short, 300);
        assert_eq!(short, "ok");
    }
}
