//! Self-recursion: how the recursive calls shrink the input (by a constant, by half, into
//! parts, down a structure), memoisation, backtracking, and the resulting bound.

use super::*;

impl Analyzer<'_> {
    /// Solves the recursion of function `id` from how its recursive calls shrink the input.
    /// `full` is the work of one call with its loops counted fully, `local` with the loops
    /// that recurse counted once. Answers (bound, reason, memoised).
    pub(super) fn solve_recursion(
        &mut self,
        id: FuncId,
        f: &Frame,
        params: &[Var],
        full: &Cost,
        local: &Cost,
        rec_loops: &[RecLoop],
    ) -> Result<(Cost, String, bool), String> {
        let prog = self.prog;
        let func = &prog.funcs[id];
        let name = func.name.clone();
        let mut kinds = Vec::new();
        for call in &f.rec_calls {
            kinds.push(self.shrink(f, func, params, call));
        }
        let unknown =
            || format!("cannot tell how the recursive calls of `{name}` shrink the input");
        let (changing, driver) = self.drivers(f, func, params, &kinds);
        if func.memo_decorator || has_memo_dict(&func.body) {
            if changing.is_empty() {
                return Err(unknown());
            }
            let states = changing
                .iter()
                .fold(Cost::one(), |a, b| a.mul(b, &self.work));
            return Ok((
                states.mul(local, &self.work),
                "memoised recursion: each state is computed once".into(),
                true,
            ));
        }
        if let Some((Shrink::Struct, n, i)) = &driver {
            return Ok(self.structural(f, func, n, *i, local, rec_loops));
        }
        if let Some(call) = f.rec_calls.iter().find(|c| c.in_loop.is_some()) {
            return self.backtracking(call, local).ok_or_else(unknown);
        }
        let Some((shrink, n, _)) = driver else {
            return Err(unknown());
        };
        let sites = count_sites(&func.body, id, prog);
        match shrink {
            // Worst case: one part gets everything but the pivot.
            Shrink::Split => Ok((
                n.mul(full, &self.work),
                "recursion on parts of the input: worst case depth n".into(),
                false,
            )),
            Shrink::Half => self.master_theorem(&name, sites, &n, full),
            Shrink::Step => {
                let growing = self.growing_accumulators(f, func, params, &kinds);
                self.one_smaller(sites, &n, full, &growing)
                    .ok_or_else(unknown)
            }
            _ => Err(unknown()),
        }
    }

    /// The sizes of the parameters that change from call to call, and the one that drives
    /// the recursion (how it shrinks, how big it is, which parameter).
    fn drivers(
        &mut self,
        f: &Frame,
        func: &Func,
        params: &[Var],
        kinds: &[Vec<Shrink>],
    ) -> (Vec<Cost>, Option<(Shrink, Cost, usize)>) {
        let mut changing: Vec<Cost> = Vec::new();
        let mut driver: Option<(Shrink, Cost, usize)> = None;
        let rank = |s: &Shrink| match s {
            Shrink::Struct => 5,
            Shrink::Half => 4,
            Shrink::Split => 3,
            Shrink::Step => 1,
            _ => 0,
        };
        for k in kinds {
            for (i, s) in k.iter().enumerate() {
                if *s == Shrink::Same {
                    continue;
                }
                let mag = self.magnitude(f, func, params, i);
                if let Some(m) = &mag
                    && !changing.contains(m)
                {
                    changing.push(m.clone());
                }
                if *s != Shrink::Other
                    && driver.as_ref().is_none_or(|(d, _, _)| rank(s) > rank(d))
                    && let Some(m) = mag
                {
                    driver = Some((*s, m, i));
                }
            }
        }
        (changing, driver)
    }

    /// Recursion down a structure: each node is visited once; loops over its neighbours add
    /// up to the edges (a graph's `E`, a tree's n - 1 children).
    fn structural(
        &mut self,
        f: &Frame,
        func: &Func,
        n: &Cost,
        i: usize,
        local: &Cost,
        rec_loops: &[RecLoop],
    ) -> (Cost, String, bool) {
        let p = func.params.get(i).cloned().unwrap_or_default();
        let mut nodes = n.clone();
        let mut edges = Cost::one();
        for l in rec_loops {
            if let Some(ExprKind::Index { obj, index }) = l.iter.as_ref().map(|e| &e.kind)
                && index.mentions(&p)
                && let Some(gv) = {
                    let mut tmp = Frame::new(f.func, f.env.clone());
                    self.expr(&mut tmp, obj).0.size
                }
                && let Some(g) = Self::single_var(&gv)
            {
                let e = self.mark_graph(g);
                nodes = Cost::var(g);
                edges = edges.add(&Cost::var(e));
                continue;
            }
            // Children of a tree node: n - 1 of them in all.
            edges = edges.add(&nodes);
        }
        let total = nodes.mul(local, &self.work).add(&edges);
        (total, "recursion visits each node once".into(), false)
    }

    /// Backtracking: one call per choice made in a loop; subsets when the loop starts from
    /// a parameter, orderings otherwise. `None` when the loop's count cannot be told.
    fn backtracking(&self, call: &RecCall, local: &Cost) -> Option<(Cost, String, bool)> {
        let info = call.in_loop.as_ref()?;
        let n = &info.count;
        if n.is_one() {
            return None;
        }
        let (leaves, why) = if info.from_param {
            (n.exp(2, &self.work)?, "backtracking: one call per subset")
        } else {
            (
                n.factorial(&self.work)?,
                "backtracking: one call per ordering",
            )
        };
        Some((leaves.mul(local, &self.work), why.into(), false))
    }

    /// `sites` recursive calls on halves: the master theorem for 1, 2, 4 or 8 of them.
    fn master_theorem(
        &self,
        name: &str,
        sites: usize,
        n: &Cost,
        full: &Cost,
    ) -> Result<(Cost, String, bool), String> {
        let (deg, logs) = full.degree();
        let a = sites.max(1);
        let crit = match a {
            1 => 0,
            2 => 1,
            4 => 2,
            8 => 3,
            _ => {
                return Err(format!(
                    "`{name}` makes {a} recursive calls on halves: outside the master-theorem cases handled"
                ));
            }
        };
        let w = &self.work;
        let total = if deg < crit {
            n.pow(crit, w)
        } else if deg == crit {
            n.pow(crit, w)
                .mul(&n.log().pow(logs.saturating_add(1), w), w)
        } else {
            full.clone()
        };
        Ok((
            total,
            format!("{a} recursive call(s) on half the input (master theorem)"),
            false,
        ))
    }

    /// Accumulators that grow by a piece per call (`prefix + "a"`, `path + [x]`): at most as
    /// long as the recursion is deep.
    fn growing_accumulators(
        &mut self,
        f: &Frame,
        func: &Func,
        params: &[Var],
        kinds: &[Vec<Shrink>],
    ) -> Vec<Var> {
        let mut growing: Vec<Var> = Vec::new();
        for (k, call) in kinds.iter().zip(&f.rec_calls) {
            for (i, sh) in k.iter().enumerate() {
                let grows = *sh == Shrink::Step
                    && call
                        .args
                        .get(i)
                        .is_some_and(|a| matches!(&a.kind, ExprKind::Bin { op: BinOp::Add, .. }));
                if grows
                    && self.magnitude(f, func, params, i).is_none()
                    && let Some(v) = params.get(i)
                {
                    growing.push(*v);
                }
            }
        }
        growing
    }

    /// `sites` recursive calls each on an input a constant smaller: depth `n`, and `sites^n`
    /// calls when there are several. `None` when that power cannot be written.
    fn one_smaller(
        &self,
        sites: usize,
        n: &Cost,
        full: &Cost,
        growing: &[Var],
    ) -> Option<(Cost, String, bool)> {
        let w = &self.work;
        let full_d = full
            .subst(&|v| growing.contains(&v).then(|| n.clone()), w)
            .unwrap_or_else(|_| full.clone());
        if sites <= 1 {
            return Some((
                n.mul(&full_d, w),
                "one recursive call on an input one smaller: depth n".into(),
                false,
            ));
        }
        let total = n.exp(sites as u32, w)?;
        // Work that shrinks with the input sums to a constant factor over the levels; work
        // on a growing accumulator does not.
        let total = if full.has_exp() {
            total.mul(full, w)
        } else if full_d != *full {
            total.mul(&full_d, w)
        } else {
            total
        };
        Some((
            total,
            format!("{sites} recursive calls, each on n minus a constant"),
            false,
        ))
    }

    pub(super) fn shrink(
        &mut self,
        f: &Frame,
        func: &Func,
        _params: &[Var],
        call: &RecCall,
    ) -> Vec<Shrink> {
        let mut out = Vec::new();
        for (i, p) in func.params.iter().enumerate() {
            let Some(a) = call.args.get(i) else {
                out.push(Shrink::Same);
                continue;
            };
            out.push(classify_arg(a, p, f, func, call));
        }
        out
    }

    /// How big parameter `i` can get: for an index counting up (`i + 1`), the bound it is
    /// compared with; for one end of a range (`lo`, `hi` compared with each other), the
    /// upper end; otherwise the parameter itself.
    pub(super) fn magnitude(
        &mut self,
        f: &Frame,
        func: &Func,
        params: &[Var],
        i: usize,
    ) -> Option<Cost> {
        let p = func.params.get(i)?.clone();
        let pv = *params.get(i)?;
        let mut cmps: Vec<(Expr, Expr, CmpOp)> = Vec::new();
        walk_stmts(&func.body, &mut |s| {
            let cond = match s {
                Stmt::If { cond, .. } | Stmt::While { cond, .. } => Some(cond),
                _ => None,
            };
            if let Some(c) = cond {
                c.walk(&mut |e| {
                    if let ExprKind::Cmp { l, r, op } = &e.kind
                        && !matches!(op, CmpOp::In | CmpOp::NotIn | CmpOp::Other)
                    {
                        cmps.push(((**l).clone(), (**r).clone(), *op));
                    }
                });
            }
        });
        // lo/hi: the two ends of one range.
        for (l, r, op) in &cmps {
            let (Some(a), Some(b)) = (l.name(), r.name()) else {
                continue;
            };
            let other = if a == p {
                b
            } else if b == p {
                a
            } else {
                continue;
            };
            if let Some(j) = func.params.iter().position(|q| q == other) {
                let upper = match op {
                    CmpOp::Lt | CmpOp::Le => b,
                    _ => a,
                };
                let k = if upper == p { i } else { j };
                return params.get(k).map(|v| Cost::var(*v));
            }
        }
        let counts_up = f.rec_calls.iter().any(|c| {
            c.args
                .get(i)
                .is_some_and(|a| matches!(&a.kind, ExprKind::Bin { op: BinOp::Add, .. }))
        });
        if counts_up {
            let mut g = Frame::new(f.func, f.env.clone());
            for (l, r, _) in &cmps {
                for (x, y) in [(l, r), (r, l)] {
                    if x.name() == Some(p.as_str()) && !y.mentions(&p) {
                        let (v, _) = self.expr(&mut g, y);
                        if let Some(s) = v.size
                            && !s.is_one()
                        {
                            return Some(s);
                        }
                    }
                }
            }
            // Index into a collection parameter: its size.
            for (j, q) in func.params.iter().enumerate() {
                if j != i && func.body.iter().any(|s| stmt_mentions_index(s, q, &p)) {
                    return params.get(j).map(|v| Cost::var(*v));
                }
            }
            return None;
        }
        Some(Cost::var(pv))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shrink {
    Same,
    Step,
    Half,
    Split,
    Struct,
    Other,
}

/// How argument `a`, passed for parameter `p` in a recursive call, relates to `p`.
pub(super) fn classify_arg(a: &Expr, p: &str, f: &Frame, func: &Func, call: &RecCall) -> Shrink {
    if a.name() == Some(p) {
        return Shrink::Same;
    }
    if let ExprKind::Bin { op, l, r } = &a.kind
        && let Some(s) = by_arithmetic(*op, l, r, p, f, func, call)
    {
        return s;
    }
    if let Some(n) = a.name()
        && let Some(s) = by_name(n, p, f, func, call)
    {
        return s;
    }
    by_shape(a, p, f)
}

/// `p - 1`, `p // 2`, `mid + 1`, `pivot - 1`, `i + 1` for a loop variable `i`.
fn by_arithmetic(
    op: BinOp,
    l: &Expr,
    r: &Expr,
    p: &str,
    f: &Frame,
    func: &Func,
    call: &RecCall,
) -> Option<Shrink> {
    let lp = l.mentions(p);
    match op {
        BinOp::Sub | BinOp::Add if lp && r.num().is_some() => return Some(Shrink::Step),
        BinOp::FloorDiv | BinOp::Div | BinOp::Shr if lp => return Some(Shrink::Half),
        _ => {}
    }
    // lo = mid + 1 / hi = mid - 1
    let n = l.name()?;
    if f.mids.contains(n) {
        return Some(Shrink::Half);
    }
    if matches!(op, BinOp::Sub | BinOp::Add)
        && r.num().is_some()
        && !func.params.iter().any(|q| q == n)
    {
        // pivot ± 1, a loop variable + 1 …
        let loop_var = call
            .in_loop
            .as_ref()
            .is_some_and(|l| l.targets.iter().any(|t| t == n));
        return Some(if loop_var {
            Shrink::Step
        } else {
            Shrink::Split
        });
    }
    None
}

/// A local passed for `p`: a middle, a part of the input, a child in a loop over `p`'s
/// children, or any other local (a part, at worst).
fn by_name(n: &str, p: &str, f: &Frame, func: &Func, call: &RecCall) -> Option<Shrink> {
    if f.mids.contains(n) {
        return Some(Shrink::Half);
    }
    if let Some(v) = f.env.get(n)
        && v.part_of.is_some()
    {
        return Some(Shrink::Split);
    }
    // A loop variable over the parameter's children / neighbours.
    if let Some(l) = &call.in_loop
        && l.targets.iter().any(|t| t == n)
        && l.iter.as_ref().is_some_and(|it| it.mentions(p))
    {
        return Some(Shrink::Struct);
    }
    if !func.params.iter().any(|q| q == n) {
        return Some(Shrink::Split);
    }
    None
}

/// `node.left`, `a[1:]`, `a[:mid]`, `path + [x]`, `graph[u]`, `arr.slice(0, mid)`.
fn by_shape(a: &Expr, p: &str, f: &Frame) -> Shrink {
    match &a.kind {
        ExprKind::Attr { obj, .. } if obj.mentions(p) => Shrink::Struct,
        ExprKind::Slice { obj, lo, hi } if obj.mentions(p) => {
            let halves = |e: &Option<Box<Expr>>| e.as_ref().is_some_and(|e| cuts_in_half(e, f));
            if halves(lo) || halves(hi) {
                Shrink::Half
            } else {
                Shrink::Step
            }
        }
        ExprKind::Bin {
            op: BinOp::Add,
            l,
            r,
        } if l.mentions(p) || r.mentions(p) => {
            // path + [x]: grows towards a bound.
            Shrink::Step
        }
        ExprKind::Index { obj, .. } if obj.mentions(p) => Shrink::Struct,
        // arr.slice(0, mid) / arr.slice(mid) / s.substring(1)
        ExprKind::Call { func, args } => match &func.kind {
            ExprKind::Attr { obj, name }
                if obj.mentions(p) && matches!(name.as_str(), "slice" | "substring" | "substr") =>
            {
                if args.iter().any(|e| cuts_in_half(e, f)) {
                    Shrink::Half
                } else {
                    Shrink::Step
                }
            }
            _ => Shrink::Other,
        },
        _ => Shrink::Other,
    }
}

/// A bound that halves: it divides (`len(a) // 2`) or is a middle or half computed before.
fn cuts_in_half(e: &Expr, f: &Frame) -> bool {
    e.any(&|x| {
        matches!(
            &x.kind,
            ExprKind::Bin {
                op: BinOp::FloorDiv | BinOp::Div | BinOp::Shr,
                ..
            }
        )
    }) || e
        .name()
        .is_some_and(|n| f.mids.contains(n) || f.halves.contains(n))
}

pub(super) fn stmt_mentions_index(s: &Stmt, coll: &str, idx: &str) -> bool {
    let mut found = false;
    walk_stmts(std::slice::from_ref(s), &mut |st| {
        let mut check = |e: &Expr| {
            if e.any(&|x| matches!(&x.kind, ExprKind::Index { obj, index } if obj.name() == Some(coll) && index.mentions(idx))
                || matches!(&x.kind, ExprKind::Call { func, args, .. } if matches!(&func.kind, ExprKind::Name(n) if n == "len") && args.first().and_then(|a| a.name()) == Some(coll)))
            {
                found = true;
            }
        };
        for_each_stmt_expr(st, &mut check);
    });
    found
}

/// Most recursive call sites executed in one call (branches of an `if` count once, and an
/// `if` that returns makes the rest of the block its alternative).
pub(super) fn count_sites(stmts: &[Stmt], id: FuncId, prog: &Program) -> usize {
    let mut total = 0;
    for (k, s) in stmts.iter().enumerate() {
        match s {
            Stmt::If { cond, then, els } => {
                let c = expr_calls(cond, id, prog);
                let t = count_sites(then, id, prog);
                let e = count_sites(els, id, prog);
                if then.iter().any(|x| matches!(x, Stmt::Return(_))) {
                    let rest = count_sites(&stmts[k + 1..], id, prog);
                    return total + c + t.max(e + rest);
                }
                total += c + t.max(e);
            }
            Stmt::For { body, iter, .. } => {
                total += expr_calls(iter, id, prog) + count_sites(body, id, prog)
            }
            Stmt::While { body, .. } | Stmt::CFor { body, .. } => {
                total += count_sites(body, id, prog)
            }
            _ => {
                let mut n = 0;
                for_each_stmt_expr(s, &mut |e| n += expr_calls(e, id, prog));
                total += n;
            }
        }
    }
    total
}

pub(super) fn expr_calls(e: &Expr, id: FuncId, prog: &Program) -> usize {
    let mut n = 0;
    let short = prog.funcs[id]
        .name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_string();
    count_calls_named(e, &short, &mut n);
    n
}

pub(super) fn count_calls_named(e: &Expr, short: &str, n: &mut usize) {
    if let ExprKind::Call { func, .. } = &e.kind {
        let hit = match &func.kind {
            ExprKind::Name(x) => x == short,
            ExprKind::Attr { obj, name } => {
                name == short
                    && matches!(&obj.kind, ExprKind::Name(o) if o == "self" || o == "this")
            }
            _ => false,
        };
        if hit {
            *n += 1;
        }
    }
    if let ExprKind::Cond { c, a, b } = &e.kind {
        count_calls_named(c, short, n);
        let mut x = 0;
        let mut y = 0;
        count_calls_named(a, short, &mut x);
        count_calls_named(b, short, &mut y);
        *n += x.max(y);
        return;
    }
    e.for_each_child(&mut |c| count_calls_named(c, short, n));
}

/// Does function `id` call itself anywhere in its body?
pub(super) fn calls_self(prog: &Program, id: FuncId) -> bool {
    stmts_call(prog, &prog.funcs[id].body, id)
}

pub(super) fn stmts_call(prog: &Program, body: &[Stmt], id: FuncId) -> bool {
    let mut n = 0;
    let short = prog.funcs[id]
        .name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_string();
    walk_stmts(body, &mut |s| {
        for_each_stmt_expr(s, &mut |e| count_calls_named(e, &short, &mut n));
    });
    n > 0
}

/// A parameter used as a set or map (`visited.add(x)`, `memo.has(k)`, `seen.get(k)`).
pub(super) fn used_as_hash(body: &[Stmt], p: &str) -> bool {
    stmts_any_expr(body, &|e| {
        matches!(&e.kind, ExprKind::Call { func, .. }
            if matches!(&func.kind, ExprKind::Attr { obj, name }
                if obj.name() == Some(p)
                    && matches!(name.as_str(), "add" | "has" | "get" | "set" | "discard" | "setdefault" | "keys" | "items" | "values")))
    })
}

/// A memo table: a name looked up in a condition whose branch returns, and stored into.
pub(super) fn has_memo_dict(body: &[Stmt]) -> bool {
    !memo_tables(body).is_empty()
}

/// The names used as memo tables in a body.
pub(super) fn memo_tables(body: &[Stmt]) -> HashSet<String> {
    let mut lookups: HashSet<String> = HashSet::new();
    let mut stores: HashSet<String> = HashSet::new();
    walk_stmts(body, &mut |s| match s {
        Stmt::If { cond, then, .. } if then.iter().any(|t| matches!(t, Stmt::Return(_))) => {
            cond.walk(&mut |e| {
                if let ExprKind::Cmp {
                    op: CmpOp::In | CmpOp::NotIn,
                    r,
                    ..
                } = &e.kind
                    && let Some(n) = r.name()
                {
                    lookups.insert(n.to_string());
                }
                if let ExprKind::Call { func, .. } = &e.kind
                    && let ExprKind::Attr { obj, name } = &func.kind
                    && (name == "has" || name == "get")
                    && let Some(n) = obj.name()
                {
                    lookups.insert(n.to_string());
                }
                if let ExprKind::Index { obj, .. } = &e.kind {
                    let mut b: &Expr = obj;
                    while let ExprKind::Index { obj, .. } = &b.kind {
                        b = obj;
                    }
                    if let Some(n) = b.name() {
                        lookups.insert(n.to_string());
                    }
                }
            });
        }
        Stmt::Assign { targets, .. } => {
            for t in targets {
                let mut b = t;
                let mut indexed = false;
                while let ExprKind::Index { obj, .. } = &b.kind {
                    b = obj;
                    indexed = true;
                }
                if indexed && let Some(n) = b.name() {
                    stores.insert(n.to_string());
                }
            }
        }
        Stmt::Expr(e) | Stmt::Return(Some(e)) => {
            e.walk(&mut |x| {
                if let ExprKind::Call { func, .. } = &x.kind
                    && let ExprKind::Attr { obj, name } = &func.kind
                    && name == "set"
                    && let Some(n) = obj.name()
                {
                    stores.insert(n.to_string());
                }
            });
        }
        _ => {}
    });
    lookups.intersection(&stores).cloned().collect()
}
