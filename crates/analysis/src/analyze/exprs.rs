//! Expressions: the value (and size) of each expression and the cost of evaluating it.

use super::*;

impl Analyzer<'_> {
    pub(super) fn lookup(&mut self, f: &Frame, name: &str) -> Val {
        if let Some(v) = f.env.get(name) {
            return v.clone();
        }
        if let Some(v) = self.globals.get(name) {
            return v.clone();
        }
        if let Some(id) = self.resolve(f, name, false) {
            let mut v = Val::one(Kind::Unknown);
            v.func = Some(id);
            return v;
        }
        Val::one(Kind::Unknown)
    }

    /// The value of an expression and the cost of evaluating it.
    pub(super) fn expr(&mut self, f: &mut Frame, e: &Expr) -> (Val, Cost) {
        match &e.kind {
            ExprKind::Name(n) => (self.lookup(f, n), Cost::one()),
            ExprKind::Num(_) | ExprKind::Const => (Val::one(Kind::Num), Cost::one()),
            ExprKind::Str => (Val::one(Kind::Str), Cost::one()),
            ExprKind::Lambda(id) => {
                let mut v = Val::one(Kind::Unknown);
                v.func = Some(*id);
                self.closure_env.insert(*id, f.env.clone());
                (v, Cost::one())
            }
            ExprKind::Seq { kind, items } => self.seq_literal(f, kind, items),
            ExprKind::Spread(inner) => {
                let (v, c) = self.expr(f, inner);
                let sz = v.size.clone().unwrap_or_else(Cost::one);
                (v, c.add(&sz))
            }
            ExprKind::Comp { kind, gens, elt } => self.comprehension(f, e, *kind, gens, elt),
            ExprKind::Attr { obj, name } => self.attribute(f, obj, name),
            ExprKind::Index { obj, index } => {
                let (ov, oc) = self.expr(f, obj);
                let (_, ic) = self.expr(f, index);
                (self.elem_of(&ov), oc.add(&ic))
            }
            ExprKind::Slice { obj, lo, hi } => self.slice_copy(f, e, obj, lo, hi),
            ExprKind::Bin { op, l, r } => {
                let (lv, lc) = self.expr(f, l);
                let (rv, rc) = self.expr(f, r);
                let cost = lc.add(&rc);
                self.binop(f, e, *op, lv, rv, cost)
            }
            ExprKind::Cmp { op, l, r } => self.compare(f, e, op, l, r),
            ExprKind::Unary(x) | ExprKind::IncDec(x, _) => {
                let (v, c) = self.expr(f, x);
                (Val::of(Kind::Num, v.size.unwrap_or_else(Cost::one)), c)
            }
            ExprKind::Cond { c, a, b } => {
                let (_, cc) = self.expr(f, c);
                let (av, ac) = self.expr(f, a);
                let (bv, bc) = self.expr(f, b);
                let mut v = av.clone();
                v.size = join_sizes(&[av.size, bv.size]);
                (v, cc.add(&ac).add(&bc))
            }
            ExprKind::Call { func, args, .. } => self.call(f, e, func, args),
            ExprKind::Other(items) => {
                let mut cost = Cost::one();
                let mut last = Val::unknown();
                for it in items {
                    let (v, c) = self.expr(f, it);
                    cost = cost.add(&c);
                    last = v;
                }
                if items.len() == 1 {
                    return (last, cost);
                }
                (Val::one(Kind::Unknown), cost)
            }
        }
    }

    pub(super) fn binop(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        op: BinOp,
        lv: Val,
        rv: Val,
        cost: Cost,
    ) -> (Val, Cost) {
        let coll = |k: Kind| matches!(k, Kind::List | Kind::Str);
        match op {
            BinOp::Add if coll(lv.kind) || coll(rv.kind) => self.concat(f, e, &lv, &rv, cost),
            BinOp::Mul if lv.kind == Kind::List || rv.kind == Kind::List => {
                self.repeat_list(f, e, &lv, &rv, cost)
            }
            BinOp::Pow | BinOp::Shl if l_const_base(e) => {
                // 1 << n, 2 ** n
                let base = if op == BinOp::Shl {
                    2
                } else {
                    l_const_base_value(e)
                };
                let mut v = Val::of(Kind::Num, Cost::one());
                v.size = rv.size.as_ref().and_then(|s| {
                    if s.is_one() {
                        Some(Cost::one())
                    } else {
                        s.exp(base, &self.work)
                    }
                });
                (v, cost)
            }
            BinOp::Mul | BinOp::Pow | BinOp::Shl => {
                let size = match (&lv.size, &rv.size) {
                    (Some(a), Some(b)) => Some(a.mul(b, &self.work)),
                    _ => None,
                };
                let mut v = Val::of(Kind::Num, Cost::one());
                v.size = size;
                (v, cost)
            }
            BinOp::And | BinOp::Or => {
                let mut v = rv.clone();
                if op == BinOp::Or && lv.kind != Kind::Num {
                    v = lv.clone();
                }
                (v, cost)
            }
            _ => {
                // + - / // % >> on numbers: the magnitude is the larger operand.
                let mut v = Val::of(Kind::Num, Cost::one());
                v.size = join_sizes(&[lv.size.clone(), rv.size.clone()]);
                if lv.kind == Kind::Str && op == BinOp::Add {
                    v.kind = Kind::Str;
                }
                (v, cost)
            }
        }
    }

    /// A list, tuple, set or dict literal: as long as its items (and spread parts).
    fn seq_literal(&mut self, f: &mut Frame, kind: &SeqKind, items: &[Expr]) -> (Val, Cost) {
        let mut cost = Cost::one();
        let mut size = Cost::one();
        let mut elem: Option<Val> = None;
        for it in items {
            let (v, c) = self.expr(f, it);
            cost = cost.add(&c);
            if let ExprKind::Spread(_) = it.kind {
                if let Some(s) = &v.size {
                    size = size.add(s);
                }
            } else if elem.is_none() {
                elem = Some(v);
            }
        }
        let k = match kind {
            SeqKind::List | SeqKind::Tuple => Kind::List,
            SeqKind::Set => Kind::Set,
            SeqKind::Dict => Kind::Dict,
        };
        let mut v = Val::of(k, size);
        if *kind == SeqKind::Tuple || *kind == SeqKind::List {
            v.elem = elem.map(Box::new);
        }
        (v, cost)
    }

    /// `obj.name`: a length, a field of the same structure, or state kept on the object.
    fn attribute(&mut self, f: &mut Frame, obj: &Expr, name: &str) -> (Val, Cost) {
        let (ov, oc) = self.expr(f, obj);
        if name == "length" || name == "size" {
            return (Val::of(Kind::Num, ov.size.unwrap_or_else(Cost::one)), oc);
        }
        // A field of a node is part of the same structure (`root.left`, `node.next`).
        let mut v = ov.clone();
        v.func = None;
        v.mid = false;
        if matches!(obj.kind, ExprKind::Name(ref n) if n == "self" || n == "this") {
            // State kept on the object: a size of its own.
            let key = format!("{}.{name}", if self.python { "self" } else { "this" });
            let var = match self.fields.get(&key) {
                Some(v) => *v,
                None => {
                    let v = self.new_var(&key, false);
                    self.fields.insert(key, v);
                    v
                }
            };
            return (Val::of(Kind::Unknown, Cost::var(var)), oc);
        }
        (v, oc)
    }

    /// `s[lo:hi]`: a copy as long as the slice.
    fn slice_copy(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        obj: &Expr,
        lo: &Option<Box<Expr>>,
        hi: &Option<Box<Expr>>,
    ) -> (Val, Cost) {
        let (ov, mut cost) = self.expr(f, obj);
        for b in [lo, hi].into_iter().flatten() {
            cost = cost.add(&self.expr(f, b).1);
        }
        // `s[i:i + 2]` copies two items, whatever the size of `s`.
        let sz = match fixed_width(lo.as_deref(), hi.as_deref()) {
            Some(w) => self.expr(f, w).0.size,
            None => ov.size.clone(),
        };
        match &sz {
            Some(s) if !s.is_one() => {
                cost = cost.add(s);
                let t = self.text(e.span);
                self.reason(f, e.span, &format!("slice `{t}` copies"), s.clone());
            }
            Some(_) => {}
            None => f.set_unknown(format!(
                "cannot tell the size of the slice `{}`",
                self.text(e.span)
            )),
        }
        let mut v = ov.clone();
        v.mid = false;
        v.size = sz;
        if ov.kind == Kind::Unknown {
            v.kind = Kind::List;
        }
        (v, cost)
    }

    /// A comparison; `in` on a list or string scans it.
    fn compare(&mut self, f: &mut Frame, e: &Expr, op: &CmpOp, l: &Expr, r: &Expr) -> (Val, Cost) {
        let (_, lc) = self.expr(f, l);
        let (rv, rc) = self.expr(f, r);
        let mut cost = lc.add(&rc);
        if matches!(op, CmpOp::In | CmpOp::NotIn) && !is_call_to(r, "range") {
            match rv.kind {
                Kind::Set | Kind::Dict => {}
                _ => match &rv.size {
                    Some(s) if !s.is_one() => {
                        cost = cost.add(s);
                        let t = self.text(r.span);
                        let kind = if rv.kind == Kind::Str {
                            "a string"
                        } else {
                            "a list"
                        };
                        self.reason(f, e.span, &format!("`in` on {kind} scans `{t}`"), s.clone());
                    }
                    Some(_) => {}
                    None => f.set_unknown(format!(
                        "cannot tell the size of `{}` searched by `in`",
                        self.text(r.span)
                    )),
                },
            }
        }
        (Val::one(Kind::Num), cost)
    }

    /// `a + b` on lists or strings: a new copy of both (JavaScript strings are ropes).
    fn concat(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        lv: &Val,
        rv: &Val,
        mut cost: Cost,
    ) -> (Val, Cost) {
        let coll = |k: Kind| matches!(k, Kind::List | Kind::Str);
        // A number turned into text is a few characters: it adds no length.
        let part = |v: &Val| -> Option<Cost> {
            if v.kind == Kind::Num {
                Some(Cost::one())
            } else {
                v.size.clone()
            }
        };
        let size = join_sizes(&[part(lv), part(rv)]);
        // JavaScript strings concatenate in O(1) (ropes); Python copies both.
        let is_str = lv.kind == Kind::Str || rv.kind == Kind::Str;
        match &size {
            Some(s) if !s.is_one() && (!is_str || self.is_python()) => {
                cost = cost.add(s);
                let t = self.text(e.span);
                self.reason(f, e.span, &format!("`{t}` builds a new copy"), s.clone());
            }
            _ => {}
        }
        let mut v = if coll(lv.kind) {
            lv.clone()
        } else {
            rv.clone()
        };
        v.size = size;
        v.mid = false;
        (v, cost)
    }

    /// `[0] * n`: a list built `n` times as long.
    fn repeat_list(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        lv: &Val,
        rv: &Val,
        mut cost: Cost,
    ) -> (Val, Cost) {
        // [0] * n
        let (list, n) = if lv.kind == Kind::List {
            (&lv, &rv)
        } else {
            (&rv, &lv)
        };
        let size = match (&list.size, &n.size) {
            (Some(a), Some(b)) => Some(a.mul(b, &self.work)),
            _ => None,
        };
        match &size {
            Some(s) => {
                cost = cost.add(s);
                if !s.is_one() {
                    let t = self.text(e.span);
                    self.reason(f, e.span, &format!("`{t}` builds a list"), s.clone());
                }
            }
            None => f.set_unknown(format!("cannot tell the size of `{}`", self.text(e.span))),
        }
        let mut v = Val::of(Kind::List, size.clone().unwrap_or_else(Cost::one));
        v.size = size;
        v.elem = list.elem.clone();
        (v, cost)
    }
}
