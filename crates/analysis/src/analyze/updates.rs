//! How a loop body changes each name (`+= 1`, halved, moved to the middle, pushed to,
//! popped from): what the `while` recognisers read.

use super::*;

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
                    assigned(t, *op, value, out, d);
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

/// How assigning `value` to target `t` (with `op` for `t op= value`) updates the names.
fn assigned(
    t: &Expr,
    op: Option<BinOp>,
    value: &Expr,
    out: &mut HashMap<String, Vec<Update>>,
    d: &mut Derivations,
) {
    let Some(n) = t.name() else {
        if let ExprKind::Seq { items, .. } = &t.kind {
            tuple_assigned(items, value, out);
        }
        return;
    };
    let u = match op {
        Some(BinOp::Add) if value.num().is_some_and(|v| v > 0) => Update::Inc,
        Some(BinOp::Sub) if value.num().is_some_and(|v| v > 0) => Update::Dec,
        Some(BinOp::Div | BinOp::FloorDiv | BinOp::Shr) => Update::Scale,
        Some(BinOp::Mul | BinOp::Shl | BinOp::Pow) => Update::Grow,
        Some(_) => Update::Other,
        None => match plainly_assigned(n, value, out, d) {
            Some(u) => u,
            None => return,
        },
    };
    out.entry(n.to_string()).or_default().push(u);
}

/// `a, b = b, a % b`: b becomes a remainder modulo itself, which halves at least every two
/// steps (Euclid); any other name of the tuple changes in no known way.
fn tuple_assigned(items: &[Expr], value: &Expr, out: &mut HashMap<String, Vec<Update>>) {
    let values: Vec<Option<&Expr>> = match &value.kind {
        ExprKind::Seq { items: vs, .. } => vs.iter().map(Some).collect(),
        _ => Vec::new(),
    };
    for (k, i) in items.iter().enumerate() {
        if let Some(n) = i.name() {
            let euclid = values.get(k).copied().flatten().is_some_and(|v| {
                matches!(&v.kind, ExprKind::Bin { op: BinOp::Mod, r, .. } if r.name() == Some(n))
            });
            let u = if euclid { Update::Scale } else { Update::Other };
            out.entry(n.to_string()).or_default().push(u);
        }
    }
}

/// `n = value`: the update it makes, or `None` when it only records a derivation (a middle,
/// a copy, a value computed from another name) or was recorded already.
fn plainly_assigned(
    n: &str,
    value: &Expr,
    out: &mut HashMap<String, Vec<Update>>,
    d: &mut Derivations,
) -> Option<Update> {
    if is_mid_expr(value) && !value.mentions(n) {
        d.mids.insert(n.to_string());
        d.from.remove(n);
        return None;
    }
    if let Some(v) = value.name()
        && v != n
    {
        // `i = j` after `j = i` and `j += 1`s: i jumps forward.
        let j_only_up = out
            .get(v)
            .is_some_and(|u| !u.is_empty() && u.iter().all(|x| *x == Update::Inc));
        if j_only_up && d.copies.get(v).is_some_and(|src| src == n) {
            out.entry(n.to_string()).or_default().push(Update::Inc);
            return None;
        }
        if !out.contains_key(n) && !d.mids.contains(v) && !d.from.contains_key(v) {
            d.copies.insert(n.to_string(), v.to_string());
            return None;
        }
    }
    let u = classify_value(n, value, d);
    if u == Update::Other {
        // Remember what this local derives from, for `i = p` later.
        for base in names_in(value) {
            let k = classify_value(&base, value, d);
            if k != Update::Other && base != n {
                d.from.insert(n.to_string(), (base, k));
                return None;
            }
        }
    }
    Some(u)
}
