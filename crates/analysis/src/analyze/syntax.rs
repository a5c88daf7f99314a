//! Questions about the shape of the IR (is this `(lo + hi) // 2`? which names does this body
//! assign?) that need no values: plain functions over [`crate::ir`].

use super::*;

/// `(lo + hi) // 2`, `lo + (hi - lo) // 2`, `(lo + hi) >> 1`, `Math.floor((lo + hi) / 2)`.
pub(super) fn is_mid_expr(e: &Expr) -> bool {
    let halves = |x: &Expr| matches!(&x.kind, ExprKind::Bin { op: BinOp::FloorDiv | BinOp::Div | BinOp::Shr, r, .. } if r.num().is_some_and(|v| v == 2 || v == 1));
    let names = |x: &Expr| {
        let mut count = 0;
        count_names(x, &mut count);
        count >= 2
    };
    let direct = |x: &Expr| halves(x) && names(x);
    if direct(e) {
        return true;
    }
    match &e.kind {
        ExprKind::Bin {
            op: BinOp::Add, r, ..
        } => direct(r) || halves(r),
        ExprKind::Call { args, .. } => args.first().is_some_and(|a| {
            direct(a) || matches!(&a.kind, ExprKind::Bin { op: BinOp::Add, r, .. } if halves(r))
        }),
        _ => false,
    }
}

/// `x // 2`, `x >> 1`, `Math.floor(x / 2)`.
pub(super) fn is_half_expr(e: &Expr) -> bool {
    let halves = |x: &Expr| matches!(&x.kind, ExprKind::Bin { op: BinOp::FloorDiv | BinOp::Div | BinOp::Shr, r, .. } if r.num().is_some_and(|v| v == 2 || v == 1));
    halves(e) || matches!(&e.kind, ExprKind::Call { args, .. } if args.first().is_some_and(halves))
}

pub(super) fn count_names(e: &Expr, n: &mut usize) {
    if e.name().is_some() {
        *n += 1;
    }
    e.for_each_child(&mut |c| count_names(c, n));
}

/// Calls `f` on each statement, nested ones included (not into nested functions).
pub(crate) fn walk_stmts(stmts: &[Stmt], f: &mut dyn FnMut(&Stmt)) {
    for s in stmts {
        f(s);
        match s {
            Stmt::For { body, .. } | Stmt::While { body, .. } => walk_stmts(body, f),
            Stmt::CFor {
                init, update, body, ..
            } => {
                walk_stmts(init, f);
                walk_stmts(body, f);
                walk_stmts(update, f);
            }
            Stmt::If { then, els, .. } => {
                walk_stmts(then, f);
                walk_stmts(els, f);
            }
            _ => {}
        }
    }
}

/// Calls `f` on the expressions directly in statement `s` (not in nested statements).
pub(super) fn for_each_stmt_expr(s: &Stmt, f: &mut dyn FnMut(&Expr)) {
    match s {
        Stmt::For { iter, .. } => f(iter),
        Stmt::CFor { cond: Some(c), .. } => f(c),
        Stmt::While { cond, .. } | Stmt::If { cond, .. } => f(cond),
        Stmt::Assign { targets, value, .. } => {
            targets.iter().for_each(&mut *f);
            f(value);
        }
        Stmt::Expr(e) | Stmt::Return(Some(e)) | Stmt::Del(e) => f(e),
        _ => {}
    }
}

pub(super) fn stmts_any_expr(stmts: &[Stmt], pred: &dyn Fn(&Expr) -> bool) -> bool {
    let mut found = false;
    walk_stmts(stmts, &mut |s| {
        for_each_stmt_expr(s, &mut |e| {
            if e.any(pred) {
                found = true;
            }
        });
    });
    found
}

pub(super) fn is_call_to(e: &Expr, name: &str) -> bool {
    match &e.kind {
        ExprKind::Call { func, .. } => match &func.kind {
            ExprKind::Name(n) => n == name,
            ExprKind::Attr { name: n, .. } => n == name,
            _ => false,
        },
        _ => false,
    }
}

/// `1 << n` / `2 ** n`: a constant base.
pub(super) fn l_const_base(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Bin { l, .. } if l.num().is_some_and(|v| v >= 1))
}

pub(super) fn l_const_base_value(e: &Expr) -> u32 {
    match &e.kind {
        ExprKind::Bin { l, .. } => l
            .num()
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(2)
            .max(2),
        _ => 2,
    }
}

/// `(i, i + w)`: a slice of width `w` (`s[i:i + 2]`, `s.slice(i, i + 2)`); returns `w`.
pub(super) fn fixed_width<'e>(lo: Option<&'e Expr>, hi: Option<&'e Expr>) -> Option<&'e Expr> {
    let (lo, hi) = (lo?, hi?);
    let name = lo.name()?;
    match &hi.kind {
        ExprKind::Bin {
            op: BinOp::Add,
            l,
            r,
        } if l.name() == Some(name) => Some(r),
        ExprKind::Bin {
            op: BinOp::Add,
            l,
            r,
        } if r.name() == Some(name) => Some(l),
        _ => None,
    }
}

/// `len(x)` / `x.length` / `x.size`.
pub(super) fn is_len_expr(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { func, .. } => matches!(&func.kind, ExprKind::Name(n) if n == "len"),
        ExprKind::Attr { name, .. } => name == "length" || name == "size",
        _ => false,
    }
}

pub(super) fn is_method_call(e: &Expr, name: &str) -> bool {
    matches!(&e.kind, ExprKind::Call { func, .. } if matches!(&func.kind, ExprKind::Attr { name: n, .. } if n == name))
}

/// Names used as numbers in a body (`range(n)`, `n - 1`, `n > 0`): they keep their own name.
pub(super) fn numeric_names(body: &[Stmt]) -> HashSet<String> {
    let mut out = HashSet::new();
    walk_stmts(body, &mut |s| {
        for_each_stmt_expr(s, &mut |e| {
            mark_numeric(e, &mut out);
        });
    });
    out
}

pub(super) fn mark_numeric(e: &Expr, out: &mut HashSet<String>) {
    // Counts handed to APIs that take a count: nlargest(k, ...), Array(k), "ab".repeat(k).
    if let ExprKind::Call { func, args } = &e.kind {
        let counted = match &func.kind {
            ExprKind::Name(n) | ExprKind::Attr { name: n, .. } => {
                matches!(
                    n.as_str(),
                    "nlargest" | "nsmallest" | "Array" | "repeat" | "combinations"
                )
            }
            _ => false,
        };
        let idx = match &func.kind {
            ExprKind::Attr { name, .. } if name == "repeat" => 0,
            ExprKind::Name(n) | ExprKind::Attr { name: n, .. } if n == "combinations" => 1,
            _ => 0,
        };
        if counted && let Some(n) = args.get(idx).and_then(|a| a.name()) {
            out.insert(n.to_string());
        }
    }
    match &e.kind {
        ExprKind::Call { func, args, .. } if matches!(&func.kind, ExprKind::Name(n) if n == "range") => {
            for a in args {
                if let Some(n) = a.name() {
                    out.insert(n.to_string());
                }
            }
        }
        ExprKind::Bin { op, l, r } if !matches!(op, BinOp::And | BinOp::Or) => {
            for (x, y) in [(l, r), (r, l)] {
                if let (Some(n), Some(_)) = (x.name(), y.num()) {
                    out.insert(n.to_string());
                }
                // `a % b`: both numbers.
                if *op == BinOp::Mod
                    && let Some(n) = x.name()
                {
                    out.insert(n.to_string());
                }
            }
        }
        ExprKind::Cmp { op, l, r } if !matches!(op, CmpOp::In | CmpOp::NotIn) => {
            for (x, y) in [(l, r), (r, l)] {
                let ordering = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
                let arithmetic = y.num().is_some()
                    || ordering
                    || is_len_expr(y)
                    || matches!(
                        &y.kind,
                        ExprKind::Bin {
                            op: BinOp::Mul | BinOp::Add | BinOp::Sub | BinOp::Pow,
                            ..
                        }
                    );
                if let Some(n) = x.name()
                    && arithmetic
                {
                    out.insert(n.to_string());
                }
            }
        }
        _ => {}
    }
    e.for_each_child(&mut |c| mark_numeric(c, out));
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

/// The names `e` mentions, in walk order (repeats kept).
pub(super) fn names_in(e: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    e.walk(&mut |x| {
        if let Some(n) = x.name() {
            names.push(n.to_string());
        }
    });
    names
}
