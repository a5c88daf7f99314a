//! Calls: to the file's own functions (their cost with the arguments' sizes put in for the
//! parameters), to the library (see [`super::library`]), and callbacks run per element.

use super::*;

impl Analyzer<'_> {
    pub(super) fn call(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        func: &Expr,
        args: &[Expr],
    ) -> (Val, Cost) {
        // Evaluate the arguments first (their own cost is always paid).
        let mut avals = Vec::new();
        let mut cost = Cost::one();
        for a in args {
            if matches!(a.kind, ExprKind::Lambda(_)) {
                let (v, _) = self.expr(f, a);
                avals.push(v);
                continue;
            }
            let (v, c) = self.expr(f, a);
            cost = cost.add(&c);
            avals.push(v);
        }
        let a = Args {
            exprs: args,
            vals: &avals,
        };
        match &func.kind {
            ExprKind::Name(name) => self.call_by_name(f, e, name, &a, cost),
            ExprKind::Attr { obj, name } => self.call_attr(f, e, obj, name, &a, cost),
            _ => {
                let (_, c) = self.expr(f, func);
                (Val::one(Kind::Unknown), cost.add(&c))
            }
        }
    }

    /// `name(...)`: a function of the file, or of the library table.
    fn call_by_name(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        name: &str,
        a: &Args,
        cost: Cost,
    ) -> (Val, Cost) {
        if let Some(id) = self.resolve(f, name, false)
            && f.env.get(name).is_none_or(|v| v.func == Some(id))
        {
            return self.user_call(f, e, id, a.exprs, a.vals, cost);
        }
        if let Some(v) = f.env.get(name).cloned()
            && let Some(id) = v.func
        {
            return self.user_call(f, e, id, a.exprs, a.vals, cost);
        }
        match Library::of(self.python).function(name) {
            Some(Builtin::Heap { grows }) => self.heap_op(f, e, grows, a, cost),
            Some(rule) => {
                let (v, c, why) = self.builtin(f, rule, a);
                self.charge(f, e, v, c, why, cost)
            }
            // A function neither in the file nor in the cost table: what it returns has no
            // known size (its own cost is taken as constant).
            None => (Val::unknown(), cost),
        }
    }

    /// `obj.name(...)`: a method of the file's class, a module's function, or a method of
    /// a built-in type.
    fn call_attr(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        obj: &Expr,
        name: &str,
        a: &Args,
        mut cost: Cost,
    ) -> (Val, Cost) {
        let via_self = matches!(&obj.kind, ExprKind::Name(o) if o == "self" || o == "this");
        if via_self && let Some(id) = self.resolve(f, name, true) {
            return self.user_call(f, e, id, a.exprs, a.vals, cost);
        }
        let lib = Library::of(self.python);
        let module = obj.name().unwrap_or("");
        if lib.is_module(module) && !f.env.contains_key(module) {
            let rule = lib.static_fn(module, name);
            if rule == Some(Static::ByName) {
                let bare = Expr::new(ExprKind::Name(name.to_string()), e.span);
                return self.call(f, e, &bare, a.exprs);
            }
            let (v, c, why) = self.static_fn(rule, a);
            return self.charge(f, e, v, c, why, cost);
        }
        let (ov, oc) = self.expr(f, obj);
        cost = cost.add(&oc);
        let lib = Library::of(self.python);
        if lib.runs_callback(name)
            && let Some(cb) = a.vals.first().and_then(|v| v.func)
        {
            return self.callback_loop(f, e, ov, name, cb, cost);
        }
        let Some(rule) = lib.method(name) else {
            return (Val::unknown(), cost);
        };
        let recv = Receiver {
            name: obj.name().map(str::to_string),
            val: &ov,
        };
        let (v, c, why) = self.method_rule(f, rule, &recv, a);
        self.charge(f, e, v, c, why, cost)
    }

    pub(super) fn charge(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        v: Val,
        c: Option<Cost>,
        why: &str,
        cost: Cost,
    ) -> (Val, Cost) {
        if why.is_empty() {
            return (v, cost);
        }
        match c {
            Some(c) => {
                if !c.is_one() {
                    let t = self.text(e.span);
                    self.reason(f, e.span, &format!("`{t}`: {why}"), c.clone());
                }
                (v, cost.add(&c))
            }
            None => {
                f.set_unknown(format!(
                    "cannot tell the size of the argument of `{}`",
                    self.text(e.span)
                ));
                (v, cost)
            }
        }
    }

    pub(super) fn grow(&mut self, f: &mut Frame, name: &str) {
        if let Some(cur) = f.env.get(name).cloned() {
            let mut nv = cur.clone();
            nv.size = match f.caps.get(name) {
                // Trimmed back whenever it passes the cap (`if len(heap) > k: heappop(heap)`).
                Some(cap) => Some(cap.clone()),
                None => grow(&cur.size, &f.loop_mult),
            };
            f.env.insert(name.to_string(), nv);
        }
    }

    pub(super) fn callback_loop(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        ov: Val,
        name: &str,
        cb: FuncId,
        cost: Cost,
    ) -> (Val, Cost) {
        let Some(count) = ov.size.clone() else {
            f.set_unknown(format!(
                "cannot tell the size of the array in `{}`",
                self.text(e.span)
            ));
            return (Val::unknown(), cost);
        };
        let prog = self.prog;
        let func = &prog.funcs[cb];
        let el = self.elem_of(&ov);
        let params = func.params.clone();
        let saved_env = f.env.clone();
        let (body_cost, _) = self.loop_body(
            f,
            &count,
            &func.body,
            LoopInfo {
                iter: None,
                targets: params.clone(),
                count: Cost::one(),
                from_param: false,
            },
            |f| {
                for (i, p) in params.iter().enumerate() {
                    let v = match (name, i) {
                        ("reduce" | "reduceRight", 0) => Val::one(Kind::Unknown),
                        ("reduce" | "reduceRight", 1) | (_, 0) => el.clone(),
                        _ => Val::of(Kind::Num, count.clone()),
                    };
                    f.env.insert(p.clone(), v);
                }
            },
        );
        f.env = saved_env;
        let mut total = body_cost;
        if name == "sort" {
            // The comparator runs O(n log n) times; body_cost counted it n times.
            let per = self.callback_once(f, cb, &el);
            total = count.mul(&count.log(), &self.work).mul(&per, &self.work);
        }
        if !count.is_one() {
            let what = match name {
                "sort" => "sorting with a comparator".to_string(),
                _ => format!("`.{name}(...)` calls its callback on every element"),
            };
            self.reason(f, e.span, &what, total.clone());
        }
        let mut v = ov.clone();
        if name == "map" || name == "filter" || name == "sort" || name == "flatMap" {
            v.kind = Kind::List;
            if name == "filter" {
                v.part_of = Some(String::new());
            }
        } else {
            v = Val::one(Kind::Num);
        }
        (v, cost.add(&total))
    }

    /// The cost of one run of a callback.
    pub(super) fn callback_once(&mut self, f: &mut Frame, cb: FuncId, el: &Val) -> Cost {
        let prog = self.prog;
        let func = &prog.funcs[cb];
        let saved_env = f.env.clone();
        for p in &func.params {
            f.env.insert(p.clone(), el.clone());
        }
        let saved_reasons = f.reasons.len();
        let c = self.block(f, &func.body);
        f.reasons.truncate(saved_reasons);
        f.env = saved_env;
        c
    }

    pub(super) fn user_call(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        id: FuncId,
        args: &[Expr],
        avals: &[Val],
        cost: Cost,
    ) -> (Val, Cost) {
        if Some(id) == f.func {
            f.rec_calls.push(RecCall {
                args: args.to_vec(),
                span: e.span,
                in_loop: f.loops.last().cloned(),
            });
            let v = self.return_val(id, avals);
            return (v, cost);
        }
        let name = self.prog.funcs[id].name.clone();
        if self.in_progress.contains(&id) {
            f.set_unknown(format!(
                "`{name}` and the functions it calls call each other (mutual recursion)"
            ));
            return (Val::one(Kind::Unknown), cost);
        }
        if self.in_progress.len() > MAX_CALL_DEPTH {
            f.set_unknown("calls nest too deeply to follow".into());
            return (Val::one(Kind::Unknown), cost);
        }
        if !self.summaries.contains_key(&id)
            && !self.closure_env.contains_key(&id)
            && self.prog.funcs[id].parent == f.func
            && f.func.is_some()
        {
            self.closure_env.insert(id, f.env.clone());
        }
        let s = self.summary(id);
        let callee_cost = match &s.cost {
            Ok(c) => c.clone(),
            Err(_) => {
                f.set_unknown(format!("calls `{name}`, whose cost is unknown"));
                return (Val::one(Kind::Unknown), cost);
            }
        };
        let Some((c, map)) = self.cost_with_args(f, &name, &s, &callee_cost, avals) else {
            return (Val::one(Kind::Unknown), cost);
        };
        let ret = self.returned(id, &s, &map, avals);
        if s.memoised && f.depth > 0 && !c.is_one() {
            // The memo (or visited marks) outlives each call: all calls together do the
            // work once.
            let t = self.text(e.span);
            self.reason(
                f,
                e.span,
                &format!("call `{t}`, memoised: over all calls"),
                c.clone(),
            );
            f.amortized = f.amortized.add(&c);
            return (ret, cost);
        }
        if !c.is_one() {
            let t = self.text(e.span);
            self.reason(f, e.span, &format!("call `{t}`"), c.clone());
        }
        (ret, cost.add(&c))
    }

    /// The callee's cost with the arguments' sizes put in for its parameters, and the map
    /// used; `None` (the frame made unknown, with why) when that cannot be told.
    fn cost_with_args(
        &mut self,
        f: &mut Frame,
        name: &str,
        s: &Summary,
        callee_cost: &Cost,
        avals: &[Val],
    ) -> Option<(Cost, HashMap<Var, Option<Cost>>)> {
        // Put the arguments' sizes in for the parameters.
        let mut map: HashMap<Var, Option<Cost>> = HashMap::new();
        for (i, pv) in s.params.iter().enumerate() {
            let av = avals.get(i).cloned().unwrap_or_else(|| Val::one(Kind::Num));
            map.insert(*pv, av.size.clone());
            if let Some(d) = self.derived.get(pv).copied() {
                let el = self.elem_of(&av);
                map.insert(d, el.size);
            }
        }
        let mut missing = None;
        for v in callee_cost.vars() {
            if let Some(None) = map.get(&v) {
                missing = Some(v);
            }
        }
        if let Some(v) = missing {
            let p = self.syms[v].origin.clone();
            f.set_unknown(format!(
                "cannot tell the size of the argument `{p}` passed to `{name}`"
            ));
            return None;
        }
        if self.work.exhausted() {
            f.set_unknown(format!(
                "the cost of calling `{name}` grows too large to work out"
            ));
            return None;
        }
        let c = match callee_cost.subst(&|v| map.get(&v).cloned().flatten(), &self.work) {
            Ok(c) => c,
            Err(_) => {
                f.set_unknown(format!(
                    "cannot put the arguments of `{name}` into its cost"
                ));
                return None;
            }
        };
        Some((c, map))
    }

    /// What the call returns: the callee's return value with the arguments' sizes put in.
    fn returned(
        &mut self,
        id: FuncId,
        s: &Summary,
        map: &HashMap<Var, Option<Cost>>,
        avals: &[Val],
    ) -> Val {
        match &s.ret {
            Some(r) => {
                let mut v = r.clone();
                v.func = None;
                v.mid = false;
                v.part_of = None;
                v.size = r.size.as_ref().and_then(|sz| {
                    if sz.vars().iter().any(|x| matches!(map.get(x), Some(None))) {
                        return None;
                    }
                    sz.subst(&|x| map.get(&x).cloned().flatten(), &self.work)
                        .ok()
                });
                v.elem = None;
                v
            }
            _ => self.return_val(id, avals),
        }
    }

    /// What a call returns: a collection as big as its first argument is a fair guess for
    /// helpers that transform a list; anything else is a constant-size value.
    pub(super) fn return_val(&mut self, id: FuncId, avals: &[Val]) -> Val {
        let prog = self.prog;
        let func = &prog.funcs[id];
        let mut returns_param = false;
        walk_stmts(&func.body, &mut |s| {
            if let Stmt::Return(Some(e)) = s
                && returns_collection_of(e, &func.params)
            {
                returns_param = true;
            }
        });
        if returns_param {
            let mut v = avals
                .first()
                .cloned()
                .unwrap_or_else(|| Val::one(Kind::Unknown));
            v.func = None;
            v.mid = false;
            return v;
        }
        Val::one(Kind::Unknown)
    }
}

/// Does `e` evaluate to a collection built from a parameter (`a`, `a[1:]`, `merge(l, r)`,
/// `left + [p] + right`)? A number computed from one (`a[0] + f(a[1:])`) does not.
pub(super) fn returns_collection_of(e: &Expr, params: &[String]) -> bool {
    let is_param = |x: &Expr| x.name().is_some_and(|n| params.iter().any(|p| p == n));
    match &e.kind {
        ExprKind::Name(_) => is_param(e),
        ExprKind::Slice { obj, .. } => obj.mentions_any(params),
        ExprKind::Call { args, func } => {
            args.iter().any(|a| a.mentions_any(params))
                || matches!(&func.kind, ExprKind::Attr { obj, .. } if obj.mentions_any(params))
        }
        ExprKind::Seq { items, .. } => items
            .iter()
            .any(|i| matches!(&i.kind, ExprKind::Spread(_)) && i.mentions_any(params)),
        ExprKind::Bin {
            op: BinOp::Add,
            l,
            r,
        } => {
            // One side must visibly be a list (a call's result could be a number).
            let coll = |x: &Expr| {
                matches!(
                    x.kind,
                    ExprKind::Seq { .. } | ExprKind::Comp { .. } | ExprKind::Slice { .. }
                ) || matches!(&x.kind, ExprKind::Bin { op: BinOp::Add, .. } if returns_collection_of(x, params))
            };
            (coll(l) || coll(r)) && e.mentions_any(params)
        }
        ExprKind::Cond { a, b, .. } => {
            returns_collection_of(a, params) || returns_collection_of(b, params)
        }
        _ => false,
    }
}
