//! `while` loops: how a condition reaches false (binary search, halving, two pointers,
//! counters, linked lists, worklists, bounded searches) and which inner loops are amortized
//! over the loop around them.

use super::*;

impl Analyzer<'_> {
    pub(super) fn while_loop(
        &mut self,
        f: &mut Frame,
        cond: &Expr,
        body: &[Stmt],
        span: Span,
        c_style: bool,
        from_param: bool,
    ) -> Cost {
        let (_, cond_cost) = self.expr(f, cond);
        let kw = if c_style { "`for`" } else { "`while`" };
        let pattern = self.while_pattern(f, cond, body);
        let (count, text, amortized, movers) = match pattern {
            Some(p) => p,
            None => {
                f.set_unknown(format!(
                    "cannot tell how many times the {kw} loop on line {} runs",
                    span.line_start
                ));
                (Cost::one(), String::new(), false, Vec::new())
            }
        };
        // Inside the body a counter ranges over the loop's whole range.
        let saved: Vec<(String, Option<Val>)> = movers
            .iter()
            .map(|m| (m.clone(), f.env.get(m).cloned()))
            .collect();
        for m in &movers {
            f.env.insert(m.clone(), Val::of(Kind::Num, count.clone()));
        }
        let restore = |f: &mut Frame| {
            for (m, v) in &saved {
                match v {
                    Some(v) => {
                        f.env.insert(m.clone(), v.clone());
                    }
                    None => {
                        f.env.remove(m);
                    }
                }
            }
        };
        let info = LoopInfo {
            iter: None,
            targets: movers.clone(),
            count: Cost::one(),
            from_param,
        };
        if amortized {
            // Runs `count` times in total across the enclosing loop, not per iteration.
            let (once, _) = self.loop_body(f, &Cost::one(), body, info, |_| {});
            let per = once.add(&cond_cost);
            let total = count.mul(&per);
            f.amortized = f.amortized.add(&total);
            self.reason(
                f,
                span,
                &format!("{kw} {text}, amortized over the enclosing loop"),
                count,
            );
            restore(f);
            return per;
        }
        let (total, _) = self.loop_body(f, &count, body, info, |_| {});
        restore(f);
        f.graph_loop = None;
        if !text.is_empty() {
            self.reason(f, span, &format!("{kw} {text}"), count.clone());
        }
        total.add(&count.mul(&cond_cost))
    }

    /// Recognises how a `while` loop's condition reaches false: (iterations, reason,
    /// amortized, the counters to bind to the loop's range while walking the body).
    pub(super) fn while_pattern(
        &mut self,
        f: &mut Frame,
        cond: &Expr,
        body: &[Stmt],
    ) -> Option<(Cost, String, bool, Vec<String>)> {
        let mut updates: HashMap<String, Vec<Update>> = HashMap::new();
        let mut derivs = Derivations {
            mids: f.mids.clone(),
            ..Default::default()
        };
        collect_updates(body, &mut updates, &mut derivs);
        collect_calls(cond, &mut updates);
        let mut cmps: Vec<(&Expr, &Expr)> = Vec::new();
        let mut truthy: Vec<&Expr> = Vec::new();
        split_cond(cond, &mut cmps, &mut truthy);
        let in_outer_loop = f.depth > 0;
        // Reset by the enclosing loop: assigned there other than inside this loop.
        let inner_assigned = assigned_names(body);
        let assigned_in_outer = |name: &str, f: &Frame| {
            let inner = inner_assigned.get(name).copied().unwrap_or(0);
            f.loop_assigned
                .iter()
                .any(|s| s.get(name).copied().unwrap_or(0) > inner)
        };
        let clean = |n: &str, ok: &dyn Fn(&Update) -> bool| {
            updates
                .get(n)
                .is_some_and(|u| !u.is_empty() && u.iter().all(ok))
        };
        let any = |n: &str, want: &dyn Fn(&Update) -> bool| {
            updates.get(n).is_some_and(|u| u.iter().any(want))
        };

        // Binary search: lo/hi move to mid.
        for (l, r) in &cmps {
            if let (Some(a), Some(b)) = (l.name(), r.name())
                && (any(a, &|u| *u == Update::Mid) || any(b, &|u| *u == Update::Mid))
            {
                let size = self.max_size(f, &[a, b])?;
                let c = if size.is_one() {
                    Cost::one()
                } else {
                    size.log()
                };
                return Some((
                    c,
                    format!("binary search: `{a}`/`{b}` move to the middle"),
                    false,
                    vec![],
                ));
            }
        }
        // Halving / doubling: a name in the condition only ever multiplied or divided.
        for (l, r) in &cmps {
            for (side, other) in [(l, r), (r, l)] {
                let mut names = Vec::new();
                side.walk(&mut |x| {
                    if let Some(n) = x.name() {
                        names.push(n.to_string());
                    }
                });
                for name in names {
                    let down = clean(&name, &|u| *u == Update::Scale || u.is_step())
                        && any(&name, &|u| *u == Update::Scale);
                    let up = clean(&name, &|u| *u == Update::Grow || u.is_step())
                        && any(&name, &|u| *u == Update::Grow);
                    if !down && !up {
                        continue;
                    }
                    let ov = self.expr(f, other).0;
                    let vv = f.env.get(&name).cloned().unwrap_or_else(Val::unknown);
                    let size = join_sizes(&[vv.size, ov.size])?;
                    let c = if size.is_one() {
                        Cost::one()
                    } else {
                        size.log()
                    };
                    return Some((
                        c,
                        format!("`{name}` is multiplied or divided each time"),
                        false,
                        vec![],
                    ));
                }
            }
        }
        for t in &truthy {
            if let Some(name) = t.name()
                && clean(name, &|u| *u == Update::Scale)
            {
                let vv = f.env.get(name).cloned().unwrap_or_else(Val::unknown);
                let size = vv.size?;
                let c = if size.is_one() {
                    Cost::one()
                } else {
                    size.log()
                };
                return Some((c, format!("`{name}` is divided each time"), false, vec![]));
            }
        }
        // A graph worklist: items pushed inside the loop behind a visited check.
        for t in truthy
            .iter()
            .copied()
            .chain(cmps.iter().flat_map(|(l, r)| [*l, *r]))
        {
            let Some(name) = worklist_name(t) else {
                continue;
            };
            if updates
                .get(&name)
                .is_some_and(|u| u.contains(&Update::Push))
                && let Some(g) = self.graph_size(f, body)
            {
                return Some((
                    g,
                    format!(
                        "each node enters `{name}` once per check that admits it (visited or state test)"
                    ),
                    false,
                    vec![],
                ));
            }
        }
        // An inner loop advancing a pointer kept across the outer loop (sliding window):
        // it runs as often as the pointer can move, in total.
        if in_outer_loop {
            for (name, ups) in &updates {
                if ups.is_empty()
                    || !ups.iter().all(|u| *u == Update::Inc)
                    || assigned_in_outer(name, f)
                {
                    continue;
                }
                if !f.env.contains_key(name) {
                    continue;
                }
                let Some(coll) = indexed_by(body, cond, name) else {
                    continue;
                };
                let Some(size) = f.env.get(&coll).and_then(|v| v.size.clone()) else {
                    continue;
                };
                if size.is_one() {
                    continue;
                }
                return Some((
                    size,
                    format!("`{name}` only moves forward through `{coll}`"),
                    true,
                    vec![],
                ));
            }
        }
        // Two pointers closing in / counters stepping to bounds. With several conditions
        // (`i < len(a) and j < len(b)`) each step moves one of them: the sizes add up.
        let mut found: Option<(Cost, String, Vec<String>)> = None;
        for (l, r) in &cmps {
            let steps = |e: &'_ Expr| -> Option<String> {
                e.name()
                    .filter(|n| clean(n, &|u| u.is_step()))
                    .map(str::to_string)
            };
            let (a, b) = (steps(l), steps(r));
            let (a, b) = (a.as_deref(), b.as_deref());
            if a.is_none() && b.is_none() {
                continue;
            }
            let ls = self.expr(f, l).0.size;
            let rs = self.expr(f, r).0.size;
            let (size, text, movers) = match (a, b) {
                // `a < b`: they meet within the larger end's range.
                (Some(a), Some(b)) => (
                    rs.or(ls)?,
                    format!("two pointers `{a}` and `{b}` closing in"),
                    vec![a.to_string(), b.to_string()],
                ),
                (Some(m), None) | (None, Some(m)) => {
                    let (own, other, other_e) = if a.is_some() {
                        (ls, rs, r)
                    } else {
                        (rs, ls, l)
                    };
                    let up = any(m, &|u| *u == Update::Inc);
                    let down = any(m, &|u| *u == Update::Dec);
                    let size = match (up, down) {
                        (true, false) => other?,
                        _ => join_sizes(&[own, other])?,
                    };
                    let t = self.text(other_e.span);
                    (
                        size,
                        format!("`{m}` steps towards `{t}`"),
                        vec![m.to_string()],
                    )
                }
                (None, None) => continue,
            };
            found = Some(match found {
                None => (size, text, movers),
                Some((s0, t0, mut m0)) => {
                    m0.extend(movers);
                    (s0.add(&size), t0, m0)
                }
            });
        }
        if let Some((size, _, movers)) = &found
            && let [m] = movers.as_slice()
            && let Some(coll) = indexed_by(body, cond, m)
            && let Some(bound) = Self::single_var(size)
            && let Some(cv) = f
                .env
                .get(&coll)
                .and_then(|v| v.size.as_ref())
                .and_then(Self::single_var)
            && bound != cv
        {
            // `i < k` and `xs[i]` is read: k cannot exceed len(xs).
            self.le.push((bound, cv));
        }
        if let Some((size, text, movers)) = found {
            // The enclosing loop's counter jumps to where this one stopped (`j = i`, scan,
            // `i = j`): both walk the same range once.
            let jumps = |m: &str, f: &Frame| {
                f.loop_copies.last().is_some_and(|c| {
                    c.iter()
                        .any(|(a, b)| a == m && c.iter().any(|(x, y)| x == b && y == m))
                })
            };
            let amort = in_outer_loop
                && movers.iter().all(|m| {
                    (!assigned_in_outer(m, f) && f.env.contains_key(m.as_str())) || jumps(m, f)
                })
                && !size.is_one();
            // Only a counter stepping up to one bound ranges over it; keep the rest as they are.
            let bind = if movers.len() == 1 {
                movers
            } else {
                Vec::new()
            };
            return Some((size, text, amort, bind));
        }
        // A sequence cut shorter each time until the condition holds (`prefix = prefix[:-1]`).
        {
            let mut names = Vec::new();
            cond.walk(&mut |x| {
                if let Some(n) = x.name() {
                    names.push(n.to_string());
                }
            });
            for name in names {
                if clean(&name, &|u| *u == Update::Shrink) {
                    let size = f.env.get(&name).and_then(|v| v.size.clone())?;
                    let amort = in_outer_loop && !assigned_in_outer(&name, f) && !size.is_one();
                    return Some((
                        size,
                        format!("`{name}` gets shorter each time"),
                        amort,
                        vec![],
                    ));
                }
            }
        }
        // A linked structure followed to its end: `while node: node = node.next`.
        for t in truthy.iter().chain(cmps.iter().map(|(l, _)| l)) {
            if let Some(name) = t.name()
                && any(name, &|u| *u == Update::Follow)
            {
                let size = f.env.get(name).and_then(|v| v.size.clone())?;
                return Some((size, format!("follows `{name}` to the end"), false, vec![]));
            }
        }
        // A worklist: `while queue:` popping each time, or `while (head < queue.length)`.
        for t in truthy
            .iter()
            .copied()
            .chain(cmps.iter().flat_map(|(l, r)| [*l, *r]))
        {
            let Some(name) = worklist_name(t) else {
                continue;
            };
            let Some(ups) = updates.get(&name) else {
                continue;
            };
            let pops = ups.contains(&Update::Pop) || !cmps.is_empty();
            if !pops {
                continue;
            }
            let qv = f.env.get(&name).cloned().unwrap_or_else(Val::unknown);
            if ups.contains(&Update::Push) {
                // Each item is pushed at most once if the pushes are guarded by a visited set.
                if let Some(g) = self.graph_size(f, body) {
                    return Some((
                        g,
                        format!(
                            "each node enters `{name}` once per check that admits it (visited or state test)"
                        ),
                        false,
                        vec![],
                    ));
                }
                if let Some(sz) = self.tree_size(f, body, &qv) {
                    return Some((
                        sz,
                        format!("each node of the tree enters `{name}` once"),
                        false,
                        vec![],
                    ));
                }
                if let Some(sz) = self.state_space(f, body) {
                    return Some((
                        sz,
                        format!("each state enters `{name}` once (visited check within bounds)"),
                        false,
                        vec![],
                    ));
                }
                return None;
            }
            if !ups.contains(&Update::Pop) {
                continue;
            }
            let amort = in_outer_loop && !assigned_in_outer(&name, f);
            if amort {
                return Some((
                    f.loop_mult.clone(),
                    format!("pops from `{name}`, each item pushed once"),
                    true,
                    vec![],
                ));
            }
            let size = qv.size?;
            return Some((
                size,
                format!("pops from `{name}` until it is empty"),
                false,
                vec![],
            ));
        }
        None
    }

    pub(super) fn max_size(&mut self, f: &mut Frame, names: &[&str]) -> Option<Cost> {
        let sizes: Vec<Option<Cost>> = names
            .iter()
            .map(|n| f.env.get(*n).and_then(|v| v.size.clone()))
            .collect();
        join_sizes(&sizes)
    }

    /// The number of nodes of a graph explored with a visited set, if the body looks so.
    pub(super) fn graph_size(&mut self, f: &mut Frame, body: &[Stmt]) -> Option<Cost> {
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
        let v = Self::single_var(gv.size.as_ref()?)?;
        let e = self.derived_var(v);
        self.syms[v].graph = Some("V");
        self.syms[e].graph = Some("E");
        // The inner loop over neighbours runs E times in total, not E per node.
        f.graph_loop = Some(g);
        Some(Cost::var(v))
    }

    /// A search over bounded states (`0 <= r < rows and 0 <= c < cols and (r, c) not in
    /// seen`): at most the product of the bounds of the states it may push.
    pub(super) fn state_space(&mut self, f: &mut Frame, body: &[Stmt]) -> Option<Cost> {
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
            let size = self.expr(f, &b).0.size?;
            states = states.mul(&size);
        }
        (!states.is_one()).then_some(states)
    }

    pub(super) fn tree_size(&mut self, f: &mut Frame, body: &[Stmt], qv: &Val) -> Option<Cost> {
        let follows = stmts_any_expr(body, &|e| {
            matches!(&e.kind, ExprKind::Call { func, args, .. }
                if matches!(&func.kind, ExprKind::Attr { name, .. } if name == "append" || name == "push")
                && args.iter().any(|a| matches!(&a.kind, ExprKind::Attr { .. })))
        });
        if !follows {
            return None;
        }
        let _ = f;
        let elem = qv.elem.as_ref()?;
        elem.size.clone()
    }

    /// Collections a loop body trims back to a bound: `if len(h) > k: heappop(h)`.
    pub(super) fn find_caps(&mut self, f: &mut Frame, body: &[Stmt]) {
        let mut found: Vec<(String, Expr)> = Vec::new();
        walk_stmts(body, &mut |s| {
            let Stmt::If { cond, then, .. } = s else {
                return;
            };
            let ExprKind::Cmp { op, l, r } = &cond.kind else {
                return;
            };
            let (size_side, bound) = match op {
                CmpOp::Gt | CmpOp::Ge => (l, r),
                CmpOp::Lt | CmpOp::Le => (r, l),
                _ => return,
            };
            let Some(name) = worklist_name(size_side) else {
                return;
            };
            if matches!(size_side.kind, ExprKind::Name(_)) {
                return;
            }
            let mut ups = HashMap::new();
            collect_updates(then, &mut ups, &mut Derivations::default());
            if ups.get(&name).is_some_and(|u| u.contains(&Update::Pop)) {
                found.push((name, (**bound).clone()));
            }
        });
        for (name, bound) in found {
            let (bv, _) = self.expr(f, &bound);
            if let Some(sz) = bv.size {
                f.caps.insert(name, sz);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Update {
    /// `+= c`, `++`.
    Inc,
    /// `-= c`, `--`.
    Dec,
    /// `//= c`, `>>= 1`, `= x // 2`: shrinks geometrically.
    Scale,
    /// `*= c`, `<<= 1`, `= 2 * x + 1`: grows geometrically.
    Grow,
    /// Assigned the middle of a range.
    Mid,
    /// `node = node.next`.
    Follow,
    /// `prefix = prefix[:-1]`, `s = s.slice(1)`: a shorter copy of itself.
    Shrink,
    Pop,
    Push,
    Other,
}

impl Update {
    pub(super) fn is_step(&self) -> bool {
        matches!(self, Update::Inc | Update::Dec)
    }
}

/// How a value relates to the variable it was computed from: `p = (i - 1) >> 1` makes a
/// later `i = p` a halving of `i`.
#[derive(Default, Clone)]
pub(super) struct Derivations {
    pub(super) mids: HashSet<String>,
    pub(super) from: HashMap<String, (String, Update)>,
    /// `j = i`: j started as a copy of i.
    pub(super) copies: HashMap<String, String>,
}

pub(super) fn classify_value(n: &str, value: &Expr, d: &Derivations) -> Update {
    let shrinks = |x: &Expr, v: &str| {
        matches!(&x.kind, ExprKind::Bin { op: BinOp::Div | BinOp::FloorDiv | BinOp::Shr, l, .. } if l.mentions(v))
            || matches!(&x.kind, ExprKind::Call { args, .. } if args.first().is_some_and(|a| matches!(&a.kind, ExprKind::Bin { op: BinOp::Div | BinOp::FloorDiv | BinOp::Shr, l, .. } if l.mentions(v))))
    };
    let grows = |x: &Expr, v: &str| {
        matches!(&x.kind, ExprKind::Bin { op: BinOp::Mul | BinOp::Shl, l, r } if l.mentions(v) || r.mentions(v))
            || matches!(&x.kind, ExprKind::Bin { op: BinOp::Add | BinOp::Sub, l, r } if r.num().is_some() && matches!(&l.kind, ExprKind::Bin { op: BinOp::Mul | BinOp::Shl, .. }) && l.mentions(v))
    };
    if value.name().is_some_and(|v| d.mids.contains(v))
        || matches!(&value.kind, ExprKind::Bin { l, r, .. } if l.name().is_some_and(|v| d.mids.contains(v)) && r.num().is_some())
    {
        return Update::Mid;
    }
    if let Some(v) = value.name()
        && let Some((base, u)) = d.from.get(v)
        && base == n
    {
        return u.clone();
    }
    match &value.kind {
        ExprKind::Bin {
            op: BinOp::Add,
            l,
            r,
        } if l.name() == Some(n) && r.num().is_some() => Update::Inc,
        ExprKind::Bin {
            op: BinOp::Sub,
            l,
            r,
        } if l.name() == Some(n) && r.num().is_some() => Update::Dec,
        ExprKind::Attr { obj, .. } if obj.mentions(n) => Update::Follow,
        ExprKind::Slice { obj, .. } if obj.name() == Some(n) => Update::Shrink,
        ExprKind::Call { func, .. }
            if matches!(&func.kind, ExprKind::Attr { obj, name }
                if obj.name() == Some(n) && matches!(name.as_str(), "slice" | "substring" | "substr")) =>
        {
            Update::Shrink
        }
        _ if shrinks(value, n) => Update::Scale,
        _ if grows(value, n) => Update::Grow,
        _ => Update::Other,
    }
}

pub(super) fn collect_updates(
    body: &[Stmt],
    out: &mut HashMap<String, Vec<Update>>,
    d: &mut Derivations,
) {
    for s in body {
        match s {
            Stmt::Assign {
                targets, op, value, ..
            } => {
                for t in targets {
                    let Some(n) = t.name() else {
                        if let ExprKind::Seq { items, .. } = &t.kind {
                            let values: Vec<Option<&Expr>> = match &value.kind {
                                ExprKind::Seq { items: vs, .. } => vs.iter().map(Some).collect(),
                                _ => Vec::new(),
                            };
                            for (k, i) in items.iter().enumerate() {
                                if let Some(n) = i.name() {
                                    // `a, b = b, a % b`: b becomes a remainder modulo itself,
                                    // which halves at least every two steps (Euclid).
                                    let euclid = values.get(k).copied().flatten().is_some_and(|v| {
                                        matches!(&v.kind, ExprKind::Bin { op: BinOp::Mod, r, .. } if r.name() == Some(n))
                                    });
                                    let u = if euclid { Update::Scale } else { Update::Other };
                                    out.entry(n.to_string()).or_default().push(u);
                                }
                            }
                        }
                        continue;
                    };
                    let u = match op {
                        Some(BinOp::Add) if value.num().is_some_and(|v| v > 0) => Update::Inc,
                        Some(BinOp::Sub) if value.num().is_some_and(|v| v > 0) => Update::Dec,
                        Some(BinOp::Div | BinOp::FloorDiv | BinOp::Shr) => Update::Scale,
                        Some(BinOp::Mul | BinOp::Shl | BinOp::Pow) => Update::Grow,
                        Some(_) => Update::Other,
                        None => {
                            if is_mid_expr(value) && !value.mentions(n) {
                                d.mids.insert(n.to_string());
                                d.from.remove(n);
                                continue;
                            }
                            if let Some(v) = value.name()
                                && v != n
                            {
                                // `i = j` after `j = i` and `j += 1`s: i jumps forward.
                                let j_only_up = out.get(v).is_some_and(|u| {
                                    !u.is_empty() && u.iter().all(|x| *x == Update::Inc)
                                });
                                if j_only_up && d.copies.get(v).is_some_and(|src| src == n) {
                                    out.entry(n.to_string()).or_default().push(Update::Inc);
                                    continue;
                                }
                                if !out.contains_key(n)
                                    && !d.mids.contains(v)
                                    && !d.from.contains_key(v)
                                {
                                    d.copies.insert(n.to_string(), v.to_string());
                                    continue;
                                }
                            }
                            let u = classify_value(n, value, d);
                            if u == Update::Other {
                                // Remember what this local derives from, for `i = p` later.
                                let mut names = Vec::new();
                                value.walk(&mut |x| {
                                    if let Some(v) = x.name() {
                                        names.push(v.to_string());
                                    }
                                });
                                let mut recorded = false;
                                for base in names {
                                    let k = classify_value(&base, value, d);
                                    if k != Update::Other && base != n {
                                        d.from.insert(n.to_string(), (base, k));
                                        recorded = true;
                                        break;
                                    }
                                }
                                if recorded {
                                    continue;
                                }
                            }
                            u
                        }
                    };
                    out.entry(n.to_string()).or_default().push(u);
                }
                for_each_stmt_expr(s, &mut |e| collect_calls(e, out));
            }
            Stmt::If { cond, then, els } => {
                collect_calls(cond, out);
                collect_updates(then, out, d);
                collect_updates(els, out, d);
            }
            Stmt::For { body, iter, .. } => {
                collect_calls(iter, out);
                collect_updates(body, out, d);
            }
            Stmt::While { body, cond, .. } => {
                collect_calls(cond, out);
                collect_updates(body, out, d);
            }
            Stmt::CFor { body, update, .. } => {
                collect_updates(body, out, d);
                collect_updates(update, out, d);
            }
            _ => for_each_stmt_expr(s, &mut |e| collect_calls(e, out)),
        }
    }
}

pub(super) fn collect_calls(e: &Expr, out: &mut HashMap<String, Vec<Update>>) {
    e.walk(&mut |x| {
        if let ExprKind::IncDec(t, inc) = &x.kind
            && let Some(n) = t.name()
        {
            out.entry(n.to_string()).or_default().push(if *inc {
                Update::Inc
            } else {
                Update::Dec
            });
        }
        if let ExprKind::Call { func, args, .. } = &x.kind {
            match &func.kind {
                ExprKind::Attr { obj, name }
                    if obj.name() == Some("heapq") && (name == "heappop" || name == "heappush") =>
                {
                    if let Some(h) = args.first().and_then(|a| a.name()) {
                        let u = if name == "heappop" {
                            Update::Pop
                        } else {
                            Update::Push
                        };
                        out.entry(h.to_string()).or_default().push(u);
                    }
                }
                ExprKind::Attr { obj, name } => {
                    if let Some(n) = obj.name() {
                        let u = match name.as_str() {
                            "pop" | "popleft" | "shift" | "popitem" => Some(Update::Pop),
                            "append" | "push" | "appendleft" | "unshift" | "add" | "extend"
                            | "insert" => Some(Update::Push),
                            _ => None,
                        };
                        if let Some(u) = u {
                            out.entry(n.to_string()).or_default().push(u);
                        }
                    }
                }
                ExprKind::Name(n) if n == "heappop" || n == "heappush" => {
                    if let Some(h) = args.first().and_then(|a| a.name()) {
                        let u = if n == "heappop" {
                            Update::Pop
                        } else {
                            Update::Push
                        };
                        out.entry(h.to_string()).or_default().push(u);
                    }
                }
                _ => {}
            }
        }
    });
}

pub(super) fn split_cond<'e>(
    c: &'e Expr,
    cmps: &mut Vec<(&'e Expr, &'e Expr)>,
    truthy: &mut Vec<&'e Expr>,
) {
    match &c.kind {
        ExprKind::Bin {
            op: BinOp::And | BinOp::Or,
            l,
            r,
        } => {
            split_cond(l, cmps, truthy);
            split_cond(r, cmps, truthy);
        }
        // Kept as (smaller side, larger side).
        ExprKind::Cmp {
            op: CmpOp::Lt | CmpOp::Le | CmpOp::Ne,
            l,
            r,
        } => {
            cmps.push((l, r));
        }
        ExprKind::Cmp {
            op: CmpOp::Gt | CmpOp::Ge,
            l,
            r,
        } => {
            cmps.push((r, l));
        }
        ExprKind::Cmp {
            op: CmpOp::Other,
            l,
            ..
        } => truthy.push(l),
        ExprKind::Unary(x) => truthy.push(x),
        _ => truthy.push(c),
    }
}

/// A push inside an `if` whose condition tests the pushed item (`if indeg[v] == 0:
/// q.append(v)`, `if nd < dist[v]: heappush(pq, (nd, v))`): a node is pushed when its state
/// changes, not unconditionally.
pub(super) fn push_guarded_by_its_item(body: &[Stmt]) -> bool {
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

/// The collection that `name` indexes in a loop (`s[left]`), if any.
pub(super) fn indexed_by(body: &[Stmt], cond: &Expr, name: &str) -> Option<String> {
    let mut found = None;
    let mut look = |e: &Expr| {
        e.walk(&mut |x| {
            if let ExprKind::Index { obj, index } = &x.kind
                && index.mentions(name)
                && found.is_none()
            {
                found = obj.name().map(str::to_string);
            }
        });
    };
    look(cond);
    walk_stmts(body, &mut |s| for_each_stmt_expr(s, &mut look));
    found
}

/// `queue`, `len(queue)`, `queue.length` → `queue`.
pub(super) fn worklist_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.clone()),
        ExprKind::Attr { obj, name } if name == "length" || name == "size" => {
            obj.name().map(str::to_string)
        }
        ExprKind::Call { func, args, .. } if matches!(&func.kind, ExprKind::Name(n) if n == "len") => {
            args.first().and_then(|a| a.name()).map(str::to_string)
        }
        _ => None,
    }
}

/// Plain copies `a = b` anywhere in a loop body, as (a, b).
pub(super) fn copies_in(body: &[Stmt]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk_stmts(body, &mut |s| {
        if let Stmt::Assign {
            targets,
            op: None,
            value,
            ..
        } = s
            && let Some(v) = value.name()
        {
            for t in targets {
                if let Some(n) = t.name() {
                    out.push((n.to_string(), v.to_string()));
                }
            }
        }
    });
    out
}

/// Names plainly (re)assigned in a loop body, nested statements included.
pub(super) fn assigned_names(body: &[Stmt]) -> HashMap<String, usize> {
    let mut out: HashMap<String, usize> = HashMap::new();
    walk_stmts(body, &mut |s| match s {
        Stmt::Assign {
            targets, op: None, ..
        } => {
            for t in targets {
                match &t.kind {
                    ExprKind::Name(n) => {
                        *out.entry(n.clone()).or_default() += 1;
                    }
                    ExprKind::Seq { items, .. } => {
                        for i in items {
                            if let Some(n) = i.name() {
                                *out.entry(n.to_string()).or_default() += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Stmt::For { targets, .. } => {
            for t in targets {
                *out.entry(t.clone()).or_default() += 1;
            }
        }
        _ => {}
    });
    out
}
