//! Worklists: `while queue:` popping each time, or `while head < len(queue)`. Each item is
//! handled once if it is pushed once: a graph's nodes behind a visited check, a tree's
//! nodes, the states of a bounded search, or items pushed once by the enclosing loop.

use super::*;

pub(super) fn worklist(an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    for t in cx.operands() {
        let Some(name) = worklist_name(t) else {
            continue;
        };
        let Some(ups) = cx.updates.get(&name) else {
            continue;
        };
        let pops = ups.contains(&Update::Pop) || !cx.cmps.is_empty();
        if !pops {
            continue;
        }
        let qv = f.env.get(&name).cloned().unwrap_or_else(Val::unknown);
        if ups.contains(&Update::Push) {
            return pushed_once(an, f, cx, &name, &qv);
        }
        if !ups.contains(&Update::Pop) {
            continue;
        }
        if cx.in_outer_loop && !cx.assigned_in_outer(&name, f) {
            return Match::Found(Pattern {
                count: f.loop_mult.clone(),
                text: format!("pops from `{name}`, each item pushed once"),
                amortized: true,
                movers: vec![],
            });
        }
        return Match::bounded(qv.size, |size| {
            Pattern::each_time(size, format!("pops from `{name}` until it is empty"))
        });
    }
    Match::No
}

/// A worklist the loop itself pushes to: bounded only if each item can enter it once.
fn pushed_once(
    an: &mut Analyzer<'_>,
    f: &mut Frame,
    cx: &WhileCx<'_>,
    name: &str,
    qv: &Val,
) -> Match {
    // Each item is pushed at most once if the pushes are guarded by a visited set.
    if let Some(g) = graph::nodes(an, f, cx.body) {
        return Match::Found(Pattern::each_time(g, graph::enters_once(name)));
    }
    if let Some(sz) = tree_size(cx.body, qv) {
        return Match::Found(Pattern::each_time(
            sz,
            format!("each node of the tree enters `{name}` once"),
        ));
    }
    if let Some(sz) = state_space(an, f, cx.body) {
        return Match::Found(Pattern::each_time(
            sz,
            format!("each state enters `{name}` once (visited check within bounds)"),
        ));
    }
    Match::Unknown
}

/// A search over bounded states (`0 <= r < rows and 0 <= c < cols and (r, c) not in
/// seen`): at most the product of the bounds of the states it may push.
fn state_space(an: &mut Analyzer<'_>, f: &mut Frame, body: &[Stmt]) -> Option<Cost> {
    let mut bounds: Vec<Expr> = Vec::new();
    let mut guarded = false;
    walk_stmts(body, &mut |s| {
        let Stmt::If { cond, then, .. } = s else {
            return;
        };
        let mut ups = HashMap::new();
        collect_updates(then, &mut ups, &mut Derivations::default());
        if !ups.values().any(|u| u.contains(&Update::Push)) {
            return;
        }
        let mut cmps = Vec::new();
        let mut truthy = Vec::new();
        split_cond(cond, &mut cmps, &mut truthy);
        if cond.any(&|e| {
            matches!(
                &e.kind,
                ExprKind::Cmp {
                    op: CmpOp::NotIn,
                    ..
                }
            )
        }) || cond.any(&|e| is_method_call(e, "has"))
        {
            guarded = true;
        }
        let mut seen_names: Vec<String> = Vec::new();
        for (small, large) in cmps {
            if let Some(n) = small.name()
                && !large.mentions(n)
                && !seen_names.iter().any(|x| x == n)
            {
                seen_names.push(n.to_string());
                bounds.push(large.clone());
            }
        }
    });
    if !guarded || bounds.is_empty() {
        return None;
    }
    let mut states = Cost::one();
    for b in bounds {
        let size = an.expr(f, &b).0.size?;
        states = states.mul(&size, &an.work);
    }
    (!states.is_one()).then_some(states)
}

/// A queue of tree nodes pushing their children (`queue.append(node.left)`): each node once,
/// as many as the elements of the queue's first value.
fn tree_size(body: &[Stmt], qv: &Val) -> Option<Cost> {
    let follows = stmts_any_expr(body, &|e| {
        matches!(&e.kind, ExprKind::Call { func, args, .. }
            if matches!(&func.kind, ExprKind::Attr { name, .. } if name == "append" || name == "push")
            && args.iter().any(|a| matches!(&a.kind, ExprKind::Attr { .. })))
    });
    if !follows {
        return None;
    }
    let elem = qv.elem.as_ref()?;
    elem.size.clone()
}

#[cfg(test)]
mod tests {
    use super::super::explained;
    use crate::Language;

    #[test]
    fn a_grid_search_visits_each_cell_once() {
        let src = "def flood(grid, sr, sc):\n    rows, cols = len(grid), len(grid[0])\n    seen = {(sr, sc)}\n    stack = [(sr, sc)]\n    while stack:\n        r, c = stack.pop()\n        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):\n            nr, nc = r + dr, c + dc\n            if 0 <= nr < rows and 0 <= nc < cols and (nr, nc) not in seen:\n                seen.add((nr, nc))\n                stack.append((nr, nc))\n";
        let (complexity, found) =
            explained(src, Language::Python, "each state enters `stack` once");
        assert!(found, "{complexity}");
        assert_eq!(complexity, "O(n·m)");
    }

    #[test]
    fn popping_until_empty_is_as_long_as_the_list() {
        let src =
            "def drain(items):\n    stack = list(items)\n    while stack:\n        stack.pop()\n";
        assert_eq!(
            explained(src, Language::Python, "pops from `stack` until it is empty"),
            ("O(n)".into(), true)
        );
    }

    #[test]
    fn pushing_without_a_bound_is_unknown() {
        let src = "def grow(items):\n    queue = list(items)\n    while queue:\n        x = queue.pop()\n        queue.append(x + 1)\n";
        assert_eq!(
            explained(src, Language::Python, "enters"),
            ("unknown".into(), false)
        );
    }
}
