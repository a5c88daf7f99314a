//! Two pointers closing in and counters stepping to a bound: as many iterations as the
//! range they cover; several such conditions (`i < len(a) and j < len(b)`) add up.

use super::*;

/// Every comparison with a side that only steps by constants.
pub(super) fn counters(an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    let mut found: Option<(Cost, String, Vec<String>)> = None;
    for (l, r) in &cx.cmps {
        let (size, text, movers) = match stepping(an, f, cx, l, r) {
            Match::No => continue,
            Match::Unknown => return Match::Unknown,
            Match::Found(p) => (p.count, p.text, p.movers),
        };
        found = Some(match found {
            None => (size, text, movers),
            Some((s0, t0, mut m0)) => {
                m0.extend(movers);
                (s0.add(&size), t0, m0)
            }
        });
    }
    let Some((size, text, movers)) = found else {
        return Match::No;
    };
    record_bound(an, f, cx, &size, &movers);
    let amortized = amortised::kept_across(cx, f, &movers, &size);
    // Only a counter stepping up to one bound ranges over it; keep the rest as they are.
    let movers = if movers.len() == 1 {
        movers
    } else {
        Vec::new()
    };
    Match::Found(Pattern {
        count: size,
        text,
        amortized,
        movers,
    })
}

/// One comparison `l < r`: two pointers meeting, or one counter stepping towards the other
/// side. The pattern's movers are the counters.
fn stepping(an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>, l: &Expr, r: &Expr) -> Match {
    let steps = |e: &Expr| -> Option<String> {
        e.name()
            .filter(|n| cx.clean(n, &|u| u.is_step()))
            .map(str::to_string)
    };
    let (a, b) = (steps(l), steps(r));
    let (a, b) = (a.as_deref(), b.as_deref());
    if a.is_none() && b.is_none() {
        return Match::No;
    }
    let ls = an.expr(f, l).0.size;
    let rs = an.expr(f, r).0.size;
    let found = |size: Option<Cost>, text: String, movers: Vec<String>| {
        Match::bounded(size, |count| Pattern {
            count,
            text,
            amortized: false,
            movers,
        })
    };
    match (a, b) {
        // `a < b`: they meet within the larger end's range.
        (Some(a), Some(b)) => found(
            rs.or(ls),
            format!("two pointers `{a}` and `{b}` closing in"),
            vec![a.to_string(), b.to_string()],
        ),
        (Some(m), None) | (None, Some(m)) => {
            let (own, other, other_e) = if a.is_some() {
                (ls, rs, r)
            } else {
                (rs, ls, l)
            };
            let up = cx.any(m, &|u| *u == Update::Inc);
            let down = cx.any(m, &|u| *u == Update::Dec);
            let size = match (up, down) {
                (true, false) => other,
                _ => join_sizes(&[own, other]),
            };
            let t = an.text(other_e.span);
            found(
                size,
                format!("`{m}` steps towards `{t}`"),
                vec![m.to_string()],
            )
        }
        (None, None) => Match::No,
    }
}

/// `i < k` and `xs[i]` is read: k cannot exceed len(xs), which later drops `k` next to `n`.
fn record_bound(
    an: &mut Analyzer<'_>,
    f: &Frame,
    cx: &WhileCx<'_>,
    size: &Cost,
    movers: &[String],
) {
    if let [m] = movers
        && let Some(coll) = indexed_by(cx.body, cx.cond, m)
        && let Some(bound) = Analyzer::single_var(size)
        && let Some(cv) = f
            .env
            .get(&coll)
            .and_then(|v| v.size.as_ref())
            .and_then(Analyzer::single_var)
        && bound != cv
    {
        an.le.push((bound, cv));
    }
}

#[cfg(test)]
mod tests {
    use super::super::explained;
    use crate::Language;

    #[test]
    fn two_pointers_closing_in_are_linear() {
        let src = "def is_palindrome(s):\n    i, j = 0, len(s) - 1\n    while i < j:\n        if s[i] != s[j]:\n            return False\n        i += 1\n        j -= 1\n    return True\n";
        assert_eq!(
            explained(src, Language::Python, "two pointers `i` and `j` closing in"),
            ("O(n)".into(), true)
        );
    }

    #[test]
    fn two_counters_over_two_lists_add_up() {
        let src = "def merge(a, b):\n    i = j = 0\n    out = []\n    while i < len(a) and j < len(b):\n        if a[i] < b[j]:\n            i += 1\n        else:\n            j += 1\n    return out\n";
        assert_eq!(
            explained(src, Language::Python, "`i` steps towards `len(a)`"),
            ("O(n + m)".into(), true)
        );
    }

    #[test]
    fn a_counter_that_is_not_stepped_is_not_counted() {
        let src = "def f(n):\n    i = 0\n    while i < n:\n        i = g(i)\n";
        assert_eq!(
            explained(src, Language::Python, "steps towards"),
            ("unknown".into(), false)
        );
    }
}
