//! Halving: a binary search whose ends move to the middle, and a number multiplied or
//! divided each time: `O(log n)` iterations.

use super::*;

/// `while lo < hi` with `lo` or `hi` moved to the middle: log of the range.
pub(super) fn binary_search(_an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    for (l, r) in &cx.cmps {
        if let (Some(a), Some(b)) = (l.name(), r.name())
            && (cx.any(a, &|u| *u == Update::Mid) || cx.any(b, &|u| *u == Update::Mid))
        {
            return Match::bounded(max_size(f, &[a, b]), |size| {
                Pattern::each_time(
                    log_or_one(&size),
                    format!("binary search: `{a}`/`{b}` move to the middle"),
                )
            });
        }
    }
    Match::No
}

/// A name in a comparison only ever multiplied or divided (and stepped): log of the larger
/// of it and what it is compared with.
pub(super) fn scaled(an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    for (l, r) in &cx.cmps {
        for (side, other) in [(l, r), (r, l)] {
            let mut names = Vec::new();
            side.walk(&mut |x| {
                if let Some(n) = x.name() {
                    names.push(n.to_string());
                }
            });
            for name in names {
                let down = cx.clean(&name, &|u| *u == Update::Scale || u.is_step())
                    && cx.any(&name, &|u| *u == Update::Scale);
                let up = cx.clean(&name, &|u| *u == Update::Grow || u.is_step())
                    && cx.any(&name, &|u| *u == Update::Grow);
                if !down && !up {
                    continue;
                }
                let ov = an.expr(f, other).0;
                let vv = f.env.get(&name).cloned().unwrap_or_else(Val::unknown);
                return Match::bounded(join_sizes(&[vv.size, ov.size]), |size| {
                    Pattern::each_time(
                        log_or_one(&size),
                        format!("`{name}` is multiplied or divided each time"),
                    )
                });
            }
        }
    }
    Match::No
}

/// `while n:` with `n` only ever divided: log of `n`.
pub(super) fn divided(_an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    for t in &cx.truthy {
        if let Some(name) = t.name()
            && cx.clean(name, &|u| *u == Update::Scale)
        {
            let vv = f.env.get(name).cloned().unwrap_or_else(Val::unknown);
            return Match::bounded(vv.size, |size| {
                Pattern::each_time(log_or_one(&size), format!("`{name}` is divided each time"))
            });
        }
    }
    Match::No
}

/// The larger of the sizes of `names`; `None` if any is unknown.
fn max_size(f: &Frame, names: &[&str]) -> Option<Cost> {
    let sizes: Vec<Option<Cost>> = names
        .iter()
        .map(|n| f.env.get(*n).and_then(|v| v.size.clone()))
        .collect();
    join_sizes(&sizes)
}

#[cfg(test)]
mod tests {
    use super::super::explained;
    use crate::Language;

    #[test]
    fn binary_search_is_logarithmic() {
        let src = "def find(a, x):\n    lo, hi = 0, len(a) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if a[mid] < x:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n";
        assert_eq!(
            explained(src, Language::Python, "binary search: `lo`/`hi`"),
            ("O(log n)".into(), true)
        );
    }

    #[test]
    fn a_counter_doubled_or_halved_is_logarithmic() {
        let up = "function f(n) {\n  let i = 1;\n  while (i < n) {\n    i *= 2;\n  }\n}\n";
        assert_eq!(
            explained(up, Language::JavaScript, "`i` is multiplied or divided"),
            ("O(log n)".into(), true)
        );
        let down = "def f(n):\n    while n:\n        n //= 2\n";
        assert_eq!(
            explained(down, Language::Python, "`n` is divided each time"),
            ("O(log n)".into(), true)
        );
    }

    #[test]
    fn a_counter_stepped_by_one_is_not_halving() {
        let src = "def f(n):\n    i = 1\n    while i < n:\n        i += 1\n";
        assert_eq!(
            explained(src, Language::Python, "multiplied or divided"),
            ("O(n)".into(), false)
        );
    }
}
