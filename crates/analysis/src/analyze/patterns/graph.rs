//! Graphs explored with a visited set: each node enters the worklist once per check that
//! admits it, so the loop runs once per node (`V`) and the neighbour loops add up to `E`.

use super::*;

/// A worklist pushed to inside the loop behind a visited (or state) check.
pub(super) fn worklist(an: &mut Analyzer<'_>, f: &mut Frame, cx: &WhileCx<'_>) -> Match {
    for t in cx.operands() {
        let Some(name) = worklist_name(t) else {
            continue;
        };
        if cx
            .updates
            .get(&name)
            .is_some_and(|u| u.contains(&Update::Push))
            && let Some(g) = nodes(an, f, cx.body)
        {
            return Match::Found(Pattern::each_time(g, enters_once(&name)));
        }
    }
    Match::No
}

/// The reason for a worklist of graph nodes.
pub(super) fn enters_once(worklist: &str) -> String {
    format!("each node enters `{worklist}` once per check that admits it (visited or state test)")
}

/// The number of nodes of a graph explored with a visited set, if the body looks so.
pub(super) fn nodes(an: &mut Analyzer<'_>, f: &mut Frame, body: &[Stmt]) -> Option<Cost> {
    // Find the adjacency collection and check a membership guard exists.
    let mut graph_name = None;
    walk_stmts(body, &mut |s| {
        if let Stmt::For { iter, .. } = s
            && let ExprKind::Index { obj, .. } = &iter.kind
            && let Some(g) = obj.name()
        {
            graph_name.get_or_insert_with(|| g.to_string());
        }
    });
    let guarded = stmts_any_expr(body, &|e| {
        matches!(
            &e.kind,
            ExprKind::Cmp {
                op: CmpOp::In | CmpOp::NotIn,
                ..
            }
        ) || is_method_call(e, "has")
    }) || push_guarded_by_its_item(body);
    let g = graph_name?;
    if !guarded {
        return None;
    }
    let gv = f.env.get(&g).cloned()?;
    let v = Analyzer::single_var(gv.size.as_ref()?)?;
    an.mark_graph(v);
    // The inner loop over neighbours runs E times in total, not E per node.
    f.graph_loop = Some(g);
    Some(Cost::var(v))
}

/// A push inside an `if` whose condition tests the pushed item (`if indeg[v] == 0:
/// q.append(v)`, `if nd < dist[v]: heappush(pq, (nd, v))`): a node is pushed when its state
/// changes, not unconditionally.
fn push_guarded_by_its_item(body: &[Stmt]) -> bool {
    let mut found = false;
    walk_stmts(body, &mut |s| {
        let Stmt::If { cond, then, .. } = s else {
            return;
        };
        walk_stmts(then, &mut |t| {
            for_each_stmt_expr(t, &mut |e| {
                e.walk(&mut |x| {
                    let ExprKind::Call { func, args } = &x.kind else {
                        return;
                    };
                    let pushes = match &func.kind {
                        ExprKind::Attr { name, .. } | ExprKind::Name(name) => {
                            matches!(name.as_str(), "append" | "push" | "appendleft" | "heappush")
                        }
                        _ => false,
                    };
                    let item = if matches!(&func.kind, ExprKind::Name(n) if n == "heappush")
                        || matches!(&func.kind, ExprKind::Attr { name, .. } if name == "heappush")
                    {
                        args.get(1)
                    } else {
                        args.first()
                    };
                    if pushes
                        && item.is_some_and(|it| {
                            let mut names = Vec::new();
                            it.walk(&mut |y| {
                                if let Some(n) = y.name() {
                                    names.push(n.to_string());
                                }
                            });
                            names.iter().any(|n| cond.mentions(n))
                        })
                    {
                        found = true;
                    }
                });
            });
        });
    });
    found
}

#[cfg(test)]
mod tests {
    use super::super::explained;
    use crate::Language;

    const BFS: &str = "def bfs(graph, start):\n    seen = {start}\n    queue = [start]\n    while queue:\n        u = queue.pop()\n        for v in graph[u]:\n            if v not in seen:\n                seen.add(v)\n                queue.append(v)\n";

    #[test]
    fn a_visited_set_makes_a_search_linear_in_the_graph() {
        assert_eq!(
            explained(BFS, Language::Python, "each node enters `queue` once"),
            ("O(V + E)".into(), true)
        );
    }

    #[test]
    fn without_a_visited_check_it_is_no_graph_search() {
        let unguarded = "def walk(graph, start):\n    queue = [start]\n    while queue:\n        u = queue.pop()\n        for v in graph[u]:\n            queue.append(v)\n";
        let (_, explained_so) = explained(unguarded, Language::Python, "each node enters");
        assert!(!explained_so, "{unguarded}");
    }
}
