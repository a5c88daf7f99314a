//! Amortised inner loops: a pointer kept across the enclosing loop only moves forward, so
//! the inner loop runs as often as the pointer can move in total, not per outer iteration.

use super::*;

/// An inner `while` advancing a pointer the enclosing loop does not reset (sliding window):
/// the size of what the pointer indexes, over the whole enclosing loop.
pub(super) fn forward_pointer(_an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    if !cx.in_outer_loop {
        return Match::No;
    }
    for (name, ups) in &cx.updates {
        if ups.is_empty() || !ups.iter().all(|u| *u == Update::Inc) || cx.assigned_in_outer(name, f)
        {
            continue;
        }
        if !f.env.contains_key(name) {
            continue;
        }
        let Some(coll) = indexed_by(cx.body, cx.cond, name) else {
            continue;
        };
        let Some(size) = f.env.get(&coll).and_then(|v| v.size.clone()) else {
            continue;
        };
        if size.is_one() {
            continue;
        }
        return Match::Found(Pattern {
            count: size,
            text: format!("`{name}` only moves forward through `{coll}`"),
            amortized: true,
            movers: vec![],
        });
    }
    Match::No
}

/// Counters that the enclosing loop neither resets nor restarts, or whose counter jumps to
/// where they stopped: the inner loop walks its range once over the whole enclosing loop.
pub(super) fn kept_across(cx: &WhileCx<'_>, f: &Frame, movers: &[String], size: &Cost) -> bool {
    // The enclosing loop's counter jumps to where this one stopped (`j = i`, scan, `i = j`):
    // both walk the same range once.
    let jumps = |m: &str| {
        f.loop_copies.last().is_some_and(|c| {
            c.iter()
                .any(|(a, b)| a == m && c.iter().any(|(x, y)| x == b && y == m))
        })
    };
    cx.in_outer_loop
        && movers
            .iter()
            .all(|m| (!cx.assigned_in_outer(m, f) && f.env.contains_key(m.as_str())) || jumps(m))
        && !size.is_one()
}

#[cfg(test)]
mod tests {
    use super::super::explained;
    use crate::Language;

    #[test]
    fn a_sliding_window_is_linear() {
        let src = "def longest(s, k):\n    left = 0\n    best = 0\n    for right in range(len(s)):\n        while s[right] != s[left]:\n            left += 1\n        best = max(best, right - left + 1)\n    return best\n";
        assert_eq!(
            explained(
                src,
                Language::Python,
                "`left` only moves forward through `s`"
            ),
            ("O(n)".into(), true)
        );
    }

    #[test]
    fn a_pointer_reset_by_the_outer_loop_is_not_amortised() {
        let kept = "def f(s):\n    left = 0\n    for right in range(len(s)):\n        while left < right:\n            left += 1\n";
        assert_eq!(
            explained(kept, Language::Python, "amortized over the enclosing loop"),
            ("O(n)".into(), true)
        );
        let reset = kept.replace(
            "    left = 0\n    for right in range(len(s)):\n",
            "    for right in range(len(s)):\n        left = 0\n",
        );
        assert_eq!(
            explained(
                &reset,
                Language::Python,
                "amortized over the enclosing loop"
            ),
            ("O(n^2)".into(), false)
        );
    }
}
