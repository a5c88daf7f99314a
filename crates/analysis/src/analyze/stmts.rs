//! Statements: sequences add, branches add, assignments bind values (and sizes) to names.

use super::*;

impl Analyzer<'_> {
    pub(super) fn block(&mut self, f: &mut Frame, stmts: &[Stmt]) -> Cost {
        let mut total = Cost::one();
        for s in stmts {
            let c = self.stmt(f, s);
            total = total.add(&c);
        }
        total
    }

    pub(super) fn stmt(&mut self, f: &mut Frame, s: &Stmt) -> Cost {
        match s {
            Stmt::Expr(e) => self.expr(f, e).1,
            Stmt::Return(Some(e)) => {
                let (v, c) = self.expr(f, e);
                // What the function returns, for callers: the biggest of its returns.
                f.ret = Some(match f.ret.take() {
                    None => v,
                    Some(prev) => {
                        let mut merged = if prev.kind == Kind::Num && v.kind != Kind::Num {
                            v.clone()
                        } else {
                            prev.clone()
                        };
                        merged.size = join_sizes(&[prev.size.clone(), v.size.clone()]);
                        merged
                    }
                });
                c
            }
            Stmt::Return(None) | Stmt::Break | Stmt::Continue => Cost::one(),
            Stmt::Del(e) => {
                let mut cost = Cost::one();
                if let ExprKind::Index { obj, index } = &e.kind {
                    let (ov, oc) = self.expr(f, obj);
                    let (_, ic) = self.expr(f, index);
                    cost = oc.add(&ic);
                    if matches!(ov.kind, Kind::List | Kind::Unknown)
                        && index.num() != Some(-1)
                        && let Some(sz) = &ov.size
                        && !sz.is_one()
                    {
                        cost = cost.add(sz);
                        self.reason(f, e.span, "`del` shifts the rest of the list", sz.clone());
                    }
                }
                cost
            }
            Stmt::Def(id) => {
                self.closure_env.insert(*id, f.env.clone());
                Cost::one()
            }
            Stmt::If { cond, then, els } => {
                let (_, cc) = self.expr(f, cond);
                let a = self.block(f, then);
                let b = self.block(f, els);
                cc.add(&a).add(&b)
            }
            Stmt::Assign {
                targets,
                op,
                value,
                span,
            } => self.assign(f, targets, *op, value, *span),
            Stmt::For {
                targets,
                iter,
                body,
                span,
            } => self.for_loop(f, targets, iter, body, *span),
            Stmt::CFor {
                init,
                cond,
                update,
                body,
                span,
            } => {
                let ic = self.block(f, init);
                let cond = cond
                    .clone()
                    .unwrap_or_else(|| Expr::new(ExprKind::Const, *span));
                let mut full_body = body.clone();
                full_body.extend(update.iter().cloned());
                let from_param = init.iter().any(|s| matches!(s, Stmt::Assign { value, .. } if value.name().is_some_and(|v| self.is_param(f, v))));
                ic.add(&self.while_loop(f, &cond, &full_body, *span, true, from_param))
            }
            Stmt::While { cond, body, span } => self.while_loop(f, cond, body, *span, false, false),
        }
    }

    pub(super) fn is_param(&self, f: &Frame, name: &str) -> bool {
        f.func
            .is_some_and(|id| self.prog.funcs[id].params.iter().any(|p| p == name))
    }

    pub(super) fn reason(&self, f: &mut Frame, span: Span, text: &str, cost: Cost) {
        f.reasons.push(RawReason {
            span,
            text: text.to_string(),
            cost: Some(cost),
        });
    }

    pub(super) fn assign(
        &mut self,
        f: &mut Frame,
        targets: &[Expr],
        op: Option<BinOp>,
        value: &Expr,
        span: Span,
    ) -> Cost {
        let (mut v, mut cost) = self.expr(f, value);
        if let Some(op) = op {
            // x op= value
            let Some(t) = targets.first() else {
                return cost;
            };
            return self.augmented(f, t, op, &v, span, cost);
        }
        for t in targets {
            match &t.kind {
                ExprKind::Name(n) => self.bind_name(f, n, value, &mut v),
                ExprKind::Seq { items, .. } => self.bind_tuple(f, items, value, &v),
                ExprKind::Index { obj, index } => {
                    let (_, ic) = self.expr(f, index);
                    let (_, oc) = self.expr(f, obj);
                    cost = cost.add(&ic).add(&oc);
                    self.grow_container(f, t);
                }
                _ => {
                    let (_, tc) = self.expr(f, t);
                    cost = cost.add(&tc);
                }
            }
        }
        cost
    }

    /// `n = len(nums)`: the size of `nums` reads best as `n`.
    pub(super) fn prefer_name(&mut self, local: &str, v: &Val) {
        let one_letter = local.len() == 1 && local.chars().all(|c| c.is_ascii_lowercase());
        if !one_letter || v.kind != Kind::Num {
            return;
        }
        if let Some(var) = v.size.as_ref().and_then(Self::single_var)
            && self.syms[var].preferred.is_none()
        {
            self.syms[var].preferred = Some(local.to_string());
        }
    }

    /// `d[k] = v`: a dict grows by one entry per execution.
    pub(super) fn grow_container(&mut self, f: &mut Frame, target: &Expr) {
        let mut base = target;
        while let ExprKind::Index { obj, .. } = &base.kind {
            base = obj;
        }
        if let Some(n) = base.name()
            && let Some(cur) = f.env.get(n).cloned()
            && cur.kind == Kind::Dict
        {
            let mut nv = cur.clone();
            nv.size = grow(&cur.size, &f.loop_mult);
            f.env.insert(n.to_string(), nv);
        }
    }

    pub(super) fn is_python(&self) -> bool {
        self.python
    }

    /// `x op= value`: a Python string or a list grown in place, a number scaled.
    fn augmented(
        &mut self,
        f: &mut Frame,
        t: &Expr,
        op: BinOp,
        v: &Val,
        span: Span,
        mut cost: Cost,
    ) -> Cost {
        let (tv, tc) = self.expr(f, t);
        cost = cost.add(&tc);
        if let Some(name) = t.name() {
            match (tv.kind, op) {
                (Kind::Str, BinOp::Add) if self.is_python() => {
                    // Python strings are immutable: `s += c` copies s.
                    let grown = grow(&tv.size, &f.loop_mult);
                    if let Some(sz) = &grown
                        && !sz.is_one()
                    {
                        cost = cost.add(sz);
                        self.reason(
                            f,
                            span,
                            &format!("`{name} += ...` copies the string `{name}`"),
                            sz.clone(),
                        );
                    }
                    let mut nv = tv.clone();
                    nv.size = grown;
                    f.env.insert(name.to_string(), nv);
                }
                (Kind::List, BinOp::Add) => {
                    let sz = v.size.clone().unwrap_or_else(Cost::one);
                    cost = cost.add(&sz);
                    let mut nv = tv.clone();
                    nv.size = grow(&tv.size, &f.loop_mult.mul(&sz, &self.work));
                    f.env.insert(name.to_string(), nv);
                }
                (Kind::Num | Kind::Unknown, BinOp::Mod) => {
                    // k %= n: now below n.
                    let mut nv = tv.clone();
                    nv.kind = Kind::Num;
                    nv.size = v.size.clone();
                    f.env.insert(name.to_string(), nv);
                }
                (
                    Kind::Num | Kind::Unknown,
                    BinOp::Mul | BinOp::Shl | BinOp::Add | BinOp::Sub | BinOp::Pow,
                ) => {
                    // A number built up in a loop: its magnitude is not tracked.
                    if f.depth > 0 && op != BinOp::Sub && op != BinOp::Add {
                        let mut nv = tv.clone();
                        nv.size = None;
                        nv.kind = Kind::Num;
                        f.env.insert(name.to_string(), nv);
                    } else if f.depth > 0 && tv.size.as_ref().is_none_or(|s| s.is_one()) {
                        let mut nv = tv.clone();
                        nv.kind = Kind::Num;
                        nv.size = grow(
                            &tv.size,
                            &f.loop_mult
                                .mul(v.size.as_ref().unwrap_or(&Cost::one()), &self.work),
                        );
                        f.env.insert(name.to_string(), nv);
                    }
                }
                _ => {}
            }
        } else if let ExprKind::Index { .. } = &t.kind {
            // counts[x] += 1: no growth beyond what the assignment site adds.
            self.grow_container(f, t);
        }
        cost
    }

    /// `n = value`: binds the value, and notes what it says about sizes.
    fn bind_name(&mut self, f: &mut Frame, n: &str, value: &Expr, v: &mut Val) {
        if is_mid_expr(value) {
            f.mids.insert(n.to_string());
            v.mid = true;
        } else {
            f.mids.remove(n);
        }
        if is_half_expr(value) {
            f.halves.insert(n.to_string());
        } else {
            f.halves.remove(n);
        }
        // A fresh size read from input takes the name it is stored under.
        if let Some(var) = v.size.as_ref().and_then(Self::single_var)
            && self.syms[var].origin == "input"
        {
            self.syms[var].origin = n.to_string();
            self.syms[var].is_number = v.kind == Kind::Num;
        }
        if is_len_expr(value) {
            self.prefer_name(n, v);
        }
        f.env.insert(n.to_string(), v.clone());
    }

    /// `a, b = ...`: each name gets its part, or an element of the value.
    fn bind_tuple(&mut self, f: &mut Frame, items: &[Expr], value: &Expr, v: &Val) {
        // a, b = b, a + b / lo, hi = 0, len(a) - 1
        if let ExprKind::Seq { items: vals, .. } = &value.kind {
            for (t, e) in items.iter().zip(vals) {
                if let Some(n) = t.name() {
                    let (ev, _) = self.expr(f, e);
                    if is_len_expr(e) {
                        self.prefer_name(n, &ev);
                    }
                    f.env.insert(n.to_string(), ev);
                }
            }
        } else {
            let el = self.elem_of(v);
            for t in items {
                if let Some(n) = t.name() {
                    f.env.insert(n.to_string(), el.clone());
                } else if let ExprKind::Spread(inner) = &t.kind {
                    // const [first, ...rest] = arr
                    if let Some(n) = inner.name() {
                        let mut rest = v.clone();
                        rest.part_of = None;
                        f.env.insert(n.to_string(), rest);
                    }
                }
            }
        }
    }
}
