//! Sequences walked to their end: a copy cut shorter each time (`prefix = prefix[:-1]`) and
//! a linked structure followed node by node (`node = node.next`).

use super::*;

/// A name in the condition only ever replaced by a shorter copy of itself: its length.
pub(super) fn shrinking(_an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    for name in names_in(cx.cond) {
        if cx.clean(&name, &|u| *u == Update::Shrink) {
            let size = f.env.get(&name).and_then(|v| v.size.clone());
            return Match::bounded(size, |size| Pattern {
                amortized: cx.in_outer_loop && !cx.assigned_in_outer(&name, f) && !size.is_one(),
                count: size,
                text: format!("`{name}` gets shorter each time"),
                movers: vec![],
            });
        }
    }
    Match::No
}

/// `while node: node = node.next`: the length of the structure.
pub(super) fn linked(_an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    let tested = cx.truthy.iter().chain(cx.cmps.iter().map(|(l, _)| l));
    for t in tested {
        if let Some(name) = t.name()
            && cx.any(name, &|u| *u == Update::Follow)
        {
            let size = f.env.get(name).and_then(|v| v.size.clone());
            return Match::bounded(size, |size| {
                Pattern::each_time(size, format!("follows `{name}` to the end"))
            });
        }
    }
    Match::No
}

#[cfg(test)]
mod tests {
    use super::super::explained;
    use crate::Language;

    #[test]
    fn a_prefix_cut_shorter_each_time_is_linear() {
        let src = "def trim(prefix, word):\n    while not word.startswith(prefix):\n        prefix = prefix[:-1]\n    return prefix\n";
        let (complexity, found) =
            explained(src, Language::Python, "`prefix` gets shorter each time");
        assert!(found);
        assert_eq!(complexity, "O(n^2 + n·m)");
    }

    #[test]
    fn following_next_walks_the_list() {
        let src = "function length(head) {\n  let n = 0;\n  let node = head;\n  while (node) {\n    n++;\n    node = node.next;\n  }\n  return n;\n}\n";
        assert_eq!(
            explained(src, Language::JavaScript, "follows `node` to the end"),
            ("O(n)".into(), true)
        );
    }
}
