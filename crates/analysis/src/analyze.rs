//! The cost rules: walks the [`crate::ir`] of one file and gives each function a
//! [`Cost`] with the reasons behind it.
//!
//! How a cost is found: a loop costs (iterations) × (body); statements in sequence add, so
//! the biggest wins; each value carries a symbolic size (a collection's length, a number's
//! magnitude) so a loop knows how often it runs; library calls have a table of costs; calls to
//! functions of the same file cost what their own analysis says, with the arguments' sizes put
//! in for the parameters; self-recursion is solved at the end of a function from how the
//! arguments shrink. Whatever cannot be told makes the function "unknown" with the reason.

use std::collections::{HashMap, HashSet};

use crate::complexity::{Cost, Factor, Var};
use crate::ir::*;

/// What a size variable stands for, to name it in the report.
#[derive(Debug, Clone)]
pub(crate) struct VarInfo {
    /// The code it comes from: a parameter name, `grid[*]`, `input`.
    pub origin: String,
    /// Used as a number (`range(n)`, `n - 1`): keeps a one-letter name of its own.
    pub is_number: bool,
    /// Creation order of the variable this one derives from, then depth.
    pub order: (usize, usize),
    /// `V` / `E` of a graph traversal.
    pub graph: Option<&'static str>,
    /// A one-letter local the code itself stores this size in (`n = len(nums)`).
    pub preferred: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Num,
    Str,
    List,
    Set,
    Dict,
    Deque,
}

/// What the analysis knows of a value.
#[derive(Debug, Clone)]
struct Val {
    kind: Kind,
    /// Length of a collection or magnitude of a number; `None` when it cannot be told.
    size: Option<Cost>,
    /// The value of its elements, when known.
    elem: Option<Box<Val>>,
    /// A function value (lambda or named function).
    func: Option<FuncId>,
    /// A number computed as the middle of two others (`(lo + hi) // 2`).
    mid: bool,
    /// A collection built by filtering another (`[x for x in a if x < p]`): a part of it.
    part_of: Option<String>,
}

impl Val {
    fn of(kind: Kind, size: Cost) -> Val {
        Val {
            kind,
            size: Some(size),
            elem: None,
            func: None,
            mid: false,
            part_of: None,
        }
    }
    fn one(kind: Kind) -> Val {
        Val::of(kind, Cost::one())
    }
    fn unknown() -> Val {
        Val {
            kind: Kind::Unknown,
            size: None,
            elem: None,
            func: None,
            mid: false,
            part_of: None,
        }
    }
}

/// One reason line before naming: a text and the cost it stands for.
#[derive(Debug, Clone)]
pub(crate) struct RawReason {
    pub span: Span,
    pub text: String,
    pub cost: Option<Cost>,
}

/// The analysis of one function (or of the top-level code).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub cost: Result<Cost, String>,
    pub reasons: Vec<RawReason>,
    pub max_depth: usize,
    /// Memoised (or marking visited state that outlives a call): repeated calls share work.
    memoised: bool,
    /// What it returns, sizes in its parameters' variables.
    ret: Option<Val>,
    /// Size variable of each parameter.
    params: Vec<Var>,
}

#[derive(Debug, Clone)]
struct RecCall {
    args: Vec<Expr>,
    span: Span,
    /// Iterable of the innermost loop around the call, when there is one.
    in_loop: Option<LoopInfo>,
}

#[derive(Debug, Clone)]
struct LoopInfo {
    iter: Option<Expr>,
    targets: Vec<String>,
    /// How many times it runs.
    count: Cost,
    /// It starts from a parameter (`range(start, n)`): the shape of subset enumeration.
    from_param: bool,
}

/// State while walking one function body.
struct Frame {
    func: Option<FuncId>,
    env: HashMap<String, Val>,
    /// Product of the iteration counts of the loops around the current statement.
    loop_mult: Cost,
    /// Names plainly assigned inside each enclosing loop body (outermost first).
    loop_assigned: Vec<HashMap<String, usize>>,
    /// Plain copies `a = b` in each enclosing loop body (outermost first).
    loop_copies: Vec<Vec<(String, String)>>,
    loops: Vec<LoopInfo>,
    depth: usize,
    max_depth: usize,
    reasons: Vec<RawReason>,
    unknown: Option<String>,
    /// Costs paid once per function call however deep they sit (amortized loops).
    amortized: Cost,
    rec_calls: Vec<RecCall>,
    /// When false, a loop whose body recurses counts its body once (structural recursion
    /// charges the loop to the children instead).
    charge_rec_loops: bool,
    /// Loops whose body recurses: how often they run, what they iterate and what they push.
    rec_loop_counts: Vec<(Cost, Option<Expr>, Vec<String>)>,
    /// Locals assigned the middle of a range: `mid = (lo + hi) // 2`.
    mids: HashSet<String>,
    /// Inside a graph traversal with a visited set: the adjacency collection, whose
    /// per-node loops add up to the edges instead of multiplying.
    graph_loop: Option<String>,
    /// The value the function returns (sizes in its own variables).
    ret: Option<Val>,
    /// Collections trimmed to a bound inside a loop (a heap of the k best).
    caps: HashMap<String, Cost>,
    /// Locals holding half of something (`mid = len(a) // 2`): cutting there halves.
    halves: HashSet<String>,
}

impl Frame {
    fn new(func: Option<FuncId>, env: HashMap<String, Val>) -> Frame {
        Frame {
            func,
            env,
            loop_mult: Cost::one(),
            loop_assigned: Vec::new(),
            loop_copies: Vec::new(),
            loops: Vec::new(),
            depth: 0,
            max_depth: 0,
            reasons: Vec::new(),
            unknown: None,
            amortized: Cost::one(),
            rec_calls: Vec::new(),
            charge_rec_loops: true,
            rec_loop_counts: Vec::new(),
            mids: HashSet::new(),
            graph_loop: None,
            halves: HashSet::new(),
            caps: HashMap::new(),
            ret: None,
        }
    }

    fn set_unknown(&mut self, why: String) {
        if self.unknown.is_none() {
            self.unknown = Some(why);
        }
    }
}

pub(crate) struct Analyzer<'p> {
    pub prog: &'p Program,
    pub src: &'p str,
    pub syms: Vec<VarInfo>,
    derived: HashMap<Var, Var>,
    pub summaries: HashMap<FuncId, Summary>,
    in_progress: Vec<FuncId>,
    /// Environment each nested function sees (its enclosing function's locals).
    closure_env: HashMap<FuncId, HashMap<String, Val>>,
    /// Top-level names, for functions that read globals.
    globals: HashMap<String, Val>,
    /// Size variables of object fields (`this.items`).
    fields: HashMap<String, Var>,
    /// Python strings are immutable (`s += c` copies); JavaScript's are ropes.
    python: bool,
}

const MAX_CALL_DEPTH: usize = 24;

impl<'p> Analyzer<'p> {
    pub fn new(prog: &'p Program, src: &'p str, python: bool) -> Self {
        Analyzer {
            prog,
            src,
            syms: Vec::new(),
            derived: HashMap::new(),
            summaries: HashMap::new(),
            in_progress: Vec::new(),
            closure_env: HashMap::new(),
            globals: HashMap::new(),
            fields: HashMap::new(),
            python,
        }
    }

    fn text(&self, sp: Span) -> String {
        let t = self
            .src
            .get(sp.byte_start..sp.byte_end)
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if t.chars().count() > 40 {
            let short: String = t.chars().take(37).collect();
            format!("{short}...")
        } else {
            t
        }
    }

    fn new_var(&mut self, origin: &str, is_number: bool) -> Var {
        let id = self.syms.len();
        self.syms.push(VarInfo {
            origin: origin.to_string(),
            is_number,
            order: (id, 0),
            graph: None,
            preferred: None,
        });
        id
    }

    /// The size variable of the elements of `v` (`grid` → `grid[*]`).
    fn derived_var(&mut self, v: Var) -> Var {
        if let Some(d) = self.derived.get(&v) {
            return *d;
        }
        let parent = self.syms[v].clone();
        let id = self.syms.len();
        self.syms.push(VarInfo {
            origin: format!("{}[*]", parent.origin),
            is_number: false,
            order: (parent.order.0, parent.order.1 + 1),
            graph: None,
            preferred: None,
        });
        self.derived.insert(v, id);
        id
    }

    fn single_var(c: &Cost) -> Option<Var> {
        match c.0.as_slice() {
            [t] if t.0.len() == 1 => {
                let (v, f) = t.0.iter().next()?;
                (*f == Factor {
                    pow: 1,
                    ..Default::default()
                })
                .then_some(*v)
            }
            _ => None,
        }
    }

    fn elem_of(&mut self, v: &Val) -> Val {
        if let Some(e) = &v.elem {
            return (**e).clone();
        }
        match v.kind {
            Kind::Str => Val::one(Kind::Str),
            Kind::Num => Val::one(Kind::Num),
            _ => match v.size.as_ref().and_then(Self::single_var) {
                Some(var) if v.kind == Kind::Unknown => {
                    let d = self.derived_var(var);
                    Val::of(Kind::Unknown, Cost::var(d))
                }
                _ => Val::one(Kind::Unknown),
            },
        }
    }

    // ---------------------------------------------------------------- functions

    /// Analyses the top-level code (and through it, the functions it calls).
    pub fn module(&mut self) -> Summary {
        let mut f = Frame::new(None, HashMap::new());
        let prog = self.prog;
        let cost = self.block(&mut f, &prog.module);
        self.globals = f.env.clone();
        let total = cost.add(&f.amortized);
        Summary {
            cost: match f.unknown {
                Some(w) => Err(w),
                None => Ok(total),
            },
            reasons: f.reasons,
            max_depth: f.max_depth,
            memoised: false,
            ret: None,
            params: Vec::new(),
        }
    }

    pub fn summary(&mut self, id: FuncId) -> Summary {
        if let Some(s) = self.summaries.get(&id) {
            return s.clone();
        }
        let s = self.analyze_func(id);
        self.summaries.insert(id, s.clone());
        s
    }

    fn analyze_func(&mut self, id: FuncId) -> Summary {
        let prog = self.prog;
        let func = &prog.funcs[id];
        self.in_progress.push(id);
        let mut env = self
            .closure_env
            .get(&id)
            .cloned()
            .unwrap_or_else(|| self.globals.clone());
        let numeric = numeric_names(&func.body);
        let mut params = Vec::new();
        for p in &func.params {
            let v = self.new_var(p, numeric.contains(p.as_str()));
            params.push(v);
            let mut val = Val::of(Kind::Unknown, Cost::var(v));
            if used_as_hash(&func.body, p) || memo_tables(&func.body).contains(p) {
                val.kind = Kind::Dict;
            }
            env.insert(p.clone(), val);
        }
        let recursive = calls_self(prog, id);
        let mut f = Frame::new(Some(id), env.clone());
        let body_cost = self.block(&mut f, &func.body);
        let mut cost = body_cost.add(&f.amortized);
        let mut memoised = false;
        if recursive && !f.rec_calls.is_empty() && f.unknown.is_none() {
            // Second walk: per-call work with loops around recursive calls counted once, and
            // what those loops push (the path of a backtracking search) as deep as they go.
            let mut env = env;
            for (count, _, pushed) in &f.rec_loop_counts {
                for n in pushed {
                    if let Some(v) = env.get_mut(n) {
                        v.size = grow(&v.size, count);
                    }
                }
            }
            let mut g = Frame::new(Some(id), env);
            g.charge_rec_loops = false;
            let local = self.block(&mut g, &func.body).add(&g.amortized);
            match self.solve_recursion(id, &f, &params, &cost, &local, &g.rec_loop_counts) {
                Ok((c, why, memo)) => {
                    memoised = memo;
                    f.reasons.push(RawReason {
                        span: f.rec_calls[0].span,
                        text: why,
                        cost: Some(c.clone()),
                    });
                    cost = c;
                }
                Err(why) => f.set_unknown(why),
            }
        }
        self.in_progress.retain(|x| *x != id);
        Summary {
            cost: match f.unknown {
                Some(w) => Err(w),
                None => Ok(cost),
            },
            reasons: f.reasons,
            max_depth: f.max_depth,
            memoised,
            ret: f.ret,
            params,
        }
    }

    fn resolve(&self, f: &Frame, name: &str, via_self: bool) -> Option<FuncId> {
        let funcs = &self.prog.funcs;
        let short = |i: usize| -> &str {
            let n = &funcs[i].name;
            n.rsplit('.').next().unwrap_or(n)
        };
        if via_self {
            let class = f.func.and_then(|c| funcs[c].class.clone());
            return (0..funcs.len())
                .find(|&i| !funcs[i].anonymous && funcs[i].class == class && short(i) == name);
        }
        // Innermost scope first: nested in the current function, then its parents, then top level.
        let mut scope = f.func;
        loop {
            if let Some(i) = (0..funcs.len()).find(|&i| {
                !funcs[i].anonymous
                    && funcs[i].parent == scope
                    && (scope.is_some() || funcs[i].class.is_none())
                    && short(i) == name
            }) {
                return Some(i);
            }
            if let Some(s) = scope
                && short(s) == name
                && funcs[s].class.is_none()
            {
                return Some(s);
            }
            match scope {
                Some(s) => scope = funcs[s].parent,
                None => break,
            }
        }
        None
    }

    // ---------------------------------------------------------------- statements

    fn block(&mut self, f: &mut Frame, stmts: &[Stmt]) -> Cost {
        let mut total = Cost::one();
        for s in stmts {
            let c = self.stmt(f, s);
            total = total.add(&c);
        }
        total
    }

    fn stmt(&mut self, f: &mut Frame, s: &Stmt) -> Cost {
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

    fn is_param(&self, f: &Frame, name: &str) -> bool {
        f.func
            .is_some_and(|id| self.prog.funcs[id].params.iter().any(|p| p == name))
    }

    fn reason(&self, f: &mut Frame, span: Span, text: &str, cost: Cost) {
        f.reasons.push(RawReason {
            span,
            text: text.to_string(),
            cost: Some(cost),
        });
    }

    fn assign(
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
                        nv.size = grow(&tv.size, &f.loop_mult.mul(&sz));
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
                                &f.loop_mult.mul(v.size.as_ref().unwrap_or(&Cost::one())),
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
            return cost;
        }
        for t in targets {
            match &t.kind {
                ExprKind::Name(n) => {
                    if is_mid_expr(value) {
                        f.mids.insert(n.clone());
                        v.mid = true;
                    } else {
                        f.mids.remove(n);
                    }
                    if is_half_expr(value) {
                        f.halves.insert(n.clone());
                    } else {
                        f.halves.remove(n);
                    }
                    // A fresh size read from input takes the name it is stored under.
                    if let Some(var) = v.size.as_ref().and_then(Self::single_var)
                        && self.syms[var].origin == "input"
                    {
                        self.syms[var].origin = n.clone();
                        self.syms[var].is_number = v.kind == Kind::Num;
                    }
                    if is_len_expr(value) {
                        self.prefer_name(n, &v);
                    }
                    f.env.insert(n.clone(), v.clone());
                }
                ExprKind::Seq { items, .. } => {
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
                        let el = self.elem_of(&v);
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
    fn prefer_name(&mut self, local: &str, v: &Val) {
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
    fn grow_container(&mut self, f: &mut Frame, target: &Expr) {
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

    fn is_python(&self) -> bool {
        self.python
    }

    /// Enters a loop running `count` times: returns the cost of the body run that often.
    fn loop_body(
        &mut self,
        f: &mut Frame,
        count: &Cost,
        body: &[Stmt],
        info: LoopInfo,
        bind: impl FnOnce(&mut Frame),
    ) -> (Cost, bool) {
        let has_rec = f.func.is_some_and(|id| stmts_call(self.prog, body, id));
        let saved_mult = f.loop_mult.clone();
        let charge = f.charge_rec_loops || !has_rec;
        let mut info = info;
        info.count = count.clone();
        if has_rec {
            let mut ups = HashMap::new();
            collect_updates(body, &mut ups, &mut Derivations::default());
            let pushed: Vec<String> = ups
                .into_iter()
                .filter(|(_, u)| u.contains(&Update::Push))
                .map(|(n, _)| n)
                .collect();
            f.rec_loop_counts
                .push((count.clone(), info.iter.clone(), pushed));
        }
        let one = Cost::one();
        f.loop_mult = f.loop_mult.mul(if charge { count } else { &one });
        self.find_caps(f, body);
        // Collections pushed to in the body are as big as the loop makes them, even when the
        // body reads them before the push (`if x in seen: ...; seen.append(x)`).
        let mut ups = HashMap::new();
        collect_updates(body, &mut ups, &mut Derivations::default());
        for (n, u) in &ups {
            if u.contains(&Update::Push) && !u.contains(&Update::Pop) {
                self.grow(f, n);
            }
        }
        f.loop_assigned.push(assigned_names(body));
        f.loop_copies.push(copies_in(body));
        f.loops.push(info);
        f.depth += 1;
        f.max_depth = f.max_depth.max(f.depth);
        bind(f);
        // Collections grown in the body are as big as the loop runs when the body reads them.
        let body_cost = self.block(f, body);
        f.depth -= 1;
        f.loops.pop();
        f.loop_assigned.pop();
        f.loop_copies.pop();
        f.loop_mult = saved_mult;
        let total = if charge {
            count.mul(&body_cost)
        } else {
            body_cost
        };
        (total, has_rec)
    }

    fn for_loop(
        &mut self,
        f: &mut Frame,
        targets: &[String],
        iter: &Expr,
        body: &[Stmt],
        span: Span,
    ) -> Cost {
        let (iv, ic) = self.expr(f, iter);
        let (count, elem) = match self.iteration(f, iter, &iv) {
            Some(x) => x,
            None => {
                f.set_unknown(format!(
                    "cannot tell how many times the loop on line {} runs: the size of `{}` is not known",
                    span.line_start,
                    self.text(iter.span)
                ));
                (Cost::one(), Val::unknown())
            }
        };
        let idx_val = Val::of(Kind::Num, iv.size.clone().unwrap_or_else(Cost::one));
        // `for u in graph: for v in graph[u]`: the neighbour lists of all nodes together.
        let all_lists = |f: &Frame, obj: &Expr, index: &Expr| {
            let (Some(g), Some(u)) = (obj.name(), index.name()) else {
                return false;
            };
            f.loops.iter().any(|l| {
                l.targets.first().is_some_and(|t| t == u)
                    && l.iter.as_ref().is_some_and(|it| {
                        it.name() == Some(g) || is_method_call(it, "keys") && it.mentions(g)
                    })
            })
        };
        if let ExprKind::Index { obj, index } = &iter.kind
            && obj.name().is_some()
            && (f.graph_loop.as_deref() == obj.name() || all_lists(f, obj, index))
            && let Some(g) = iv.size.as_ref().and_then(|_| {
                obj.name()
                    .and_then(|g| f.env.get(g))
                    .and_then(|v| v.size.clone())
                    .as_ref()
                    .and_then(Self::single_var)
            })
        {
            let e = self.derived_var(g);
            self.syms[g].graph = Some("V");
            self.syms[e].graph = Some("E");
            // Neighbours of each node once: E in total over the traversal.
            let el = elem.clone();
            let t = targets.to_vec();
            let info = LoopInfo {
                iter: Some(iter.clone()),
                targets: t.clone(),
                count: Cost::one(),
                from_param: false,
            };
            let (once, _) = self.loop_body(f, &Cost::one(), body, info, |f| {
                for name in &t {
                    f.env.insert(name.clone(), el.clone());
                }
            });
            let total = count.mul(&once);
            f.amortized = f.amortized.add(&total);
            let what = self.text(iter.span);
            self.reason(
                f,
                span,
                &format!("loop over `{what}`, all nodes together"),
                count.clone(),
            );
            return ic.add(&once);
        }
        let t = targets.to_vec();
        let enumerate = is_call_to(iter, "enumerate") || is_call_to(iter, "entries");
        let from_param = is_call_to(iter, "range")
            && matches!(&iter.kind, ExprKind::Call { args, .. } if args.len() >= 2 && args[0].name().is_some_and(|a| self.is_param(f, a)));
        // `for dr, dc in pairs`: each name is a part of the element, not the element.
        let destructures = targets.len() > 1
            && !enumerate
            && !["zip", "items", "entries"]
                .iter()
                .any(|n| is_call_to(iter, n));
        let part = if destructures {
            self.elem_of(&elem)
        } else {
            elem.clone()
        };
        let (total, _) = self.loop_body(
            f,
            &count,
            body,
            LoopInfo {
                iter: Some(iter.clone()),
                targets: t.clone(),
                count: Cost::one(),
                from_param,
            },
            |f| {
                for (i, name) in t.iter().enumerate() {
                    let v = if enumerate && i == 0 {
                        idx_val.clone()
                    } else {
                        part.clone()
                    };
                    f.env.insert(name.clone(), v);
                }
            },
        );
        if !count.is_one() {
            let what = self.text(iter.span);
            self.reason(f, span, &format!("loop over `{what}`"), count.clone());
        } else if f.unknown.is_none() {
            let what = self.text(iter.span);
            self.reason(
                f,
                span,
                &format!("loop over `{what}` of constant size"),
                count.clone(),
            );
        }
        ic.add(&total)
    }

    /// How many times iterating `iter` runs, and the value of each element.
    fn iteration(&mut self, _f: &mut Frame, iter: &Expr, iv: &Val) -> Option<(Cost, Val)> {
        let count = iv.size.clone()?;
        let elem = if is_call_to(iter, "range") {
            Val::of(Kind::Num, count.clone())
        } else {
            self.elem_of(iv)
        };
        Some((count, elem))
    }

    // ---------------------------------------------------------------- while loops

    fn while_loop(
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
    fn while_pattern(
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

    fn max_size(&mut self, f: &mut Frame, names: &[&str]) -> Option<Cost> {
        let sizes: Vec<Option<Cost>> = names
            .iter()
            .map(|n| f.env.get(*n).and_then(|v| v.size.clone()))
            .collect();
        join_sizes(&sizes)
    }

    /// The number of nodes of a graph explored with a visited set, if the body looks so.
    fn graph_size(&mut self, f: &mut Frame, body: &[Stmt]) -> Option<Cost> {
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
    fn state_space(&mut self, f: &mut Frame, body: &[Stmt]) -> Option<Cost> {
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

    fn tree_size(&mut self, f: &mut Frame, body: &[Stmt], qv: &Val) -> Option<Cost> {
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

    // ---------------------------------------------------------------- expressions

    fn lookup(&mut self, f: &Frame, name: &str) -> Val {
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
    fn expr(&mut self, f: &mut Frame, e: &Expr) -> (Val, Cost) {
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
            ExprKind::Seq { kind, items } => {
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
            ExprKind::Spread(inner) => {
                let (v, c) = self.expr(f, inner);
                let sz = v.size.clone().unwrap_or_else(Cost::one);
                (v, c.add(&sz))
            }
            ExprKind::Comp { kind, gens, elt } => self.comprehension(f, e, *kind, gens, elt),
            ExprKind::Attr { obj, name } => {
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
            ExprKind::Index { obj, index } => {
                let (ov, oc) = self.expr(f, obj);
                let (_, ic) = self.expr(f, index);
                (self.elem_of(&ov), oc.add(&ic))
            }
            ExprKind::Slice { obj, lo, hi } => {
                let (ov, mut cost) = self.expr(f, obj);
                for b in [lo, hi].into_iter().flatten() {
                    cost = cost.add(&self.expr(f, b).1);
                }
                let sz = ov.size.clone();
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
                if ov.kind == Kind::Unknown {
                    v.kind = Kind::List;
                }
                (v, cost)
            }
            ExprKind::Bin { op, l, r } => {
                let (lv, lc) = self.expr(f, l);
                let (rv, rc) = self.expr(f, r);
                let cost = lc.add(&rc);
                self.binop(f, e, *op, lv, rv, cost)
            }
            ExprKind::Cmp { op, l, r } => {
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
                                self.reason(
                                    f,
                                    e.span,
                                    &format!("`in` on {kind} scans `{t}`"),
                                    s.clone(),
                                );
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

    fn binop(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        op: BinOp,
        lv: Val,
        rv: Val,
        mut cost: Cost,
    ) -> (Val, Cost) {
        let coll = |k: Kind| matches!(k, Kind::List | Kind::Str);
        match op {
            BinOp::Add if coll(lv.kind) || coll(rv.kind) => {
                // A number turned into text is a few characters: it adds no length.
                let part = |v: &Val| -> Option<Cost> {
                    if v.kind == Kind::Num {
                        Some(Cost::one())
                    } else {
                        v.size.clone()
                    }
                };
                let size = join_sizes(&[part(&lv), part(&rv)]);
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
            BinOp::Mul if lv.kind == Kind::List || rv.kind == Kind::List => {
                // [0] * n
                let (list, n) = if lv.kind == Kind::List {
                    (&lv, &rv)
                } else {
                    (&rv, &lv)
                };
                let size = match (&list.size, &n.size) {
                    (Some(a), Some(b)) => Some(a.mul(b)),
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
                    None => {
                        f.set_unknown(format!("cannot tell the size of `{}`", self.text(e.span)))
                    }
                }
                let mut v = Val::of(Kind::List, size.clone().unwrap_or_else(Cost::one));
                v.size = size;
                v.elem = list.elem.clone();
                (v, cost)
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
                        s.exp(base)
                    }
                });
                (v, cost)
            }
            BinOp::Mul | BinOp::Pow | BinOp::Shl => {
                let size = match (&lv.size, &rv.size) {
                    (Some(a), Some(b)) => Some(a.mul(b)),
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

    fn comprehension(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        kind: SeqKind,
        gens: &[Generator],
        elt: &[Expr],
    ) -> (Val, Cost) {
        let saved_env = f.env.clone();
        let saved_mult = f.loop_mult.clone();
        let saved_depth = f.depth;
        let mut count = Cost::one();
        let mut cost = Cost::one();
        let mut filtered_from = None;
        for g in gens {
            let (iv, ic) = self.expr(f, &g.iter);
            cost = cost.add(&count.mul(&ic));
            let (c, el) = match self.iteration(f, &g.iter, &iv) {
                Some(x) => x,
                None => {
                    f.set_unknown(format!(
                        "cannot tell the size of `{}`",
                        self.text(g.iter.span)
                    ));
                    (Cost::one(), Val::unknown())
                }
            };
            let enumerate = is_call_to(&g.iter, "enumerate");
            let destructures = g.targets.len() > 1
                && !enumerate
                && !["zip", "items", "entries"]
                    .iter()
                    .any(|n| is_call_to(&g.iter, n));
            let part = if destructures {
                self.elem_of(&el)
            } else {
                el.clone()
            };
            for (i, t) in g.targets.iter().enumerate() {
                let v = if enumerate && i == 0 {
                    Val::of(Kind::Num, c.clone())
                } else {
                    part.clone()
                };
                f.env.insert(t.clone(), v);
            }
            count = count.mul(&c);
            f.loop_mult = f.loop_mult.mul(&c);
            f.depth += 1;
            f.max_depth = f.max_depth.max(f.depth);
            for cnd in &g.conds {
                let (_, cc) = self.expr(f, cnd);
                cost = cost.add(&count.mul(&cc));
            }
            if !g.conds.is_empty() {
                filtered_from = g.iter.name().map(str::to_string);
            }
        }
        let mut elem = None;
        for x in elt {
            let (v, c) = self.expr(f, x);
            cost = cost.add(&count.mul(&c));
            elem.get_or_insert(v);
        }
        f.env = saved_env;
        f.loop_mult = saved_mult;
        f.depth = saved_depth;
        cost = cost.add(&count);
        if !count.is_one() {
            let first = gens
                .first()
                .map(|g| self.text(g.iter.span))
                .unwrap_or_default();
            self.reason(
                f,
                e.span,
                &format!("comprehension over `{first}`"),
                count.clone(),
            );
        }
        let k = match kind {
            SeqKind::Set => Kind::Set,
            SeqKind::Dict => Kind::Dict,
            _ => Kind::List,
        };
        let mut v = Val::of(k, count);
        v.elem = elem.map(Box::new);
        v.part_of = filtered_from;
        (v, cost)
    }

    // ---------------------------------------------------------------- calls

    fn call(&mut self, f: &mut Frame, e: &Expr, func: &Expr, args: &[Expr]) -> (Val, Cost) {
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
        let arg = |i: usize| {
            avals
                .get(i)
                .cloned()
                .unwrap_or_else(|| Val::one(Kind::Unknown))
        };
        let size = |i: usize| avals.get(i).and_then(|v| v.size.clone());
        match &func.kind {
            ExprKind::Name(name) => {
                if let Some(id) = self.resolve(f, name, false)
                    && f.env.get(name.as_str()).is_none_or(|v| v.func == Some(id))
                {
                    return self.user_call(f, e, id, args, &avals, cost);
                }
                if let Some(v) = f.env.get(name.as_str()).cloned()
                    && let Some(id) = v.func
                {
                    return self.user_call(f, e, id, args, &avals, cost);
                }
                let n = name.as_str();
                let (v, c, why): (Val, Option<Cost>, &str) = match n {
                    "len" => (
                        Val::of(Kind::Num, size(0).unwrap_or_else(Cost::one)),
                        None,
                        "",
                    ),
                    "range" => {
                        // range(a, b) runs at most b times; range(b, a, -1) at most b times.
                        let negative = args.get(2).is_some_and(|s| {
                            matches!(s.kind, ExprKind::Unary(_)) || s.num().is_some_and(|v| v < 0)
                        });
                        let sz = if args.len() <= 1 || negative {
                            size(0)
                        } else {
                            size(1)
                        };
                        let mut v = Val::of(Kind::List, Cost::one());
                        v.size = sz;
                        v.elem = Some(Box::new(Val::of(
                            Kind::Num,
                            v.size.clone().unwrap_or_else(Cost::one),
                        )));
                        (v, None, "")
                    }
                    "enumerate" | "reversed" | "iter" | "zip" => {
                        let mut v = arg(0);
                        if n == "zip" {
                            v.size = join_sizes(
                                &avals.iter().map(|a| a.size.clone()).collect::<Vec<_>>(),
                            );
                        }
                        (v, None, "")
                    }
                    "sorted" => {
                        let s = size(0);
                        let mut v = arg(0);
                        v.kind = Kind::List;
                        (v, s.map(|s| s.mul(&s.log())), "sorting")
                    }
                    "list" | "tuple" | "set" | "frozenset" | "dict" | "Counter" | "deque"
                    | "defaultdict" | "OrderedDict" | "Set" | "Map" | "Array" | "heapify" => {
                        let kind = match n {
                            "set" | "frozenset" | "Set" => Kind::Set,
                            "dict" | "Counter" | "defaultdict" | "OrderedDict" | "Map" => {
                                Kind::Dict
                            }
                            "deque" => Kind::Deque,
                            _ => Kind::List,
                        };
                        if args.is_empty() || (n == "defaultdict") {
                            (Val::one(kind), None, "")
                        } else if n == "Array" && avals.first().is_some_and(|a| a.kind == Kind::Num)
                        {
                            // new Array(n)
                            (
                                Val::of(Kind::List, size(0).unwrap_or_else(Cost::one)),
                                size(0),
                                "`Array(n)` allocates",
                            )
                        } else {
                            let mut v = arg(0);
                            v.kind = kind;
                            v.mid = false;
                            if kind == Kind::Dict || kind == Kind::Set {
                                v.elem = None;
                            }
                            let why = if n == "heapify" {
                                "`heapify`"
                            } else {
                                "copies its argument"
                            };
                            (v, size(0), why)
                        }
                    }
                    "sum" | "max" | "min" | "any" | "all" if args.len() == 1 => {
                        let el = self.elem_of(&arg(0));
                        (
                            Val::of(Kind::Num, el.size.unwrap_or_else(Cost::one)),
                            size(0),
                            "scans its argument",
                        )
                    }
                    "map" | "filter" => {
                        let mut v = arg(1);
                        v.kind = Kind::List;
                        (v, None, "")
                    }
                    "input" | "prompt" | "readline" => {
                        let var = self.new_var("input", false);
                        (Val::of(Kind::Str, Cost::var(var)), None, "")
                    }
                    "int" | "float" | "parseInt" | "parseFloat" | "Number" | "abs" | "round" => {
                        let mut v = arg(0);
                        v.kind = Kind::Num;
                        v.elem = None;
                        (v, None, "")
                    }
                    "str" | "String" | "repr" => (Val::one(Kind::Str), None, ""),
                    "heappush" | "heappop" | "heappushpop" | "heapreplace" => {
                        let heap = args.first();
                        return self.heap_op(f, e, n, heap, &avals, cost);
                    }
                    "nlargest" | "nsmallest" => {
                        let k = size(0).unwrap_or_else(Cost::one);
                        let s = size(1);
                        (
                            Val::of(Kind::List, k.clone()),
                            s.map(|s| s.mul(&k.log())),
                            "`nlargest`/`nsmallest`",
                        )
                    }
                    "bisect" | "bisect_left" | "bisect_right" => (
                        Val::one(Kind::Num),
                        size(0).map(|s| s.log()),
                        "binary search",
                    ),
                    "insort" | "insort_left" | "insort_right" => {
                        if let Some(h) = args.first().and_then(|a| a.name()) {
                            self.grow(f, h);
                        }
                        (Val::one(Kind::Unknown), size(0), "`insort` shifts the list")
                    }
                    "print" | "ord" | "chr" | "isinstance" | "hash" | "id" | "type" | "bool"
                    | "divmod" | "pow" | "hex" | "bin" | "callable" | "setattr" | "getattr"
                    | "hasattr" | "next" | "Boolean" | "isNaN" | "isFinite" | "require" | "min"
                    | "max" | "super" | "object" | "Symbol" | "Error" | "TypeError"
                    | "ValueError" | "KeyError" | "IndexError" | "Exception" | "RangeError" => {
                        (Val::one(Kind::Unknown), None, "")
                    }
                    // A function neither in the file nor in the cost table: what it returns
                    // has no known size (its own cost is taken as constant).
                    _ => (Val::unknown(), None, ""),
                };
                self.charge(f, e, v, c, why, cost)
            }
            ExprKind::Attr { obj, name } => {
                let via_self = matches!(&obj.kind, ExprKind::Name(o) if o == "self" || o == "this");
                if via_self && let Some(id) = self.resolve(f, name, true) {
                    return self.user_call(f, e, id, args, &avals, cost);
                }
                let module = obj.name().unwrap_or("");
                if matches!(module, "heapq") {
                    return self.call(
                        f,
                        e,
                        &Expr::new(ExprKind::Name(name.clone()), func.span),
                        args,
                    );
                }
                if matches!(
                    module,
                    "math"
                        | "Math"
                        | "console"
                        | "random"
                        | "sys"
                        | "JSON"
                        | "Number"
                        | "functools"
                        | "itertools"
                        | "collections"
                        | "bisect"
                        | "Object"
                        | "Array"
                        | "String"
                ) && !f.env.contains_key(module)
                {
                    return self.static_call(f, e, module, name, args, &avals, cost);
                }
                let (ov, oc) = self.expr(f, obj);
                cost = cost.add(&oc);
                self.method(f, e, obj, ov, name, args, &avals, cost)
            }
            _ => {
                let (_, c) = self.expr(f, func);
                (Val::one(Kind::Unknown), cost.add(&c))
            }
        }
    }

    fn charge(
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

    fn grow(&mut self, f: &mut Frame, name: &str) {
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

    /// Collections a loop body trims back to a bound: `if len(h) > k: heappop(h)`.
    fn find_caps(&mut self, f: &mut Frame, body: &[Stmt]) {
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

    fn heap_op(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        op: &str,
        heap: Option<&Expr>,
        avals: &[Val],
        cost: Cost,
    ) -> (Val, Cost) {
        let hname = heap.and_then(|h| h.name()).map(str::to_string);
        if op == "heappush"
            && let Some(h) = &hname
        {
            self.grow(f, h);
        }
        let sz = match &hname {
            Some(h) => f.env.get(h).and_then(|v| v.size.clone()),
            None => avals.first().and_then(|v| v.size.clone()),
        };
        let el = avals
            .first()
            .map(|h| self.elem_of(h))
            .unwrap_or_else(|| Val::one(Kind::Unknown));
        match sz {
            Some(s) => {
                let c = if s.is_one() { Cost::one() } else { s.log() };
                if !c.is_one() {
                    let t = self.text(e.span);
                    self.reason(f, e.span, &format!("`{t}`: heap operation"), c.clone());
                }
                (el, cost.add(&c))
            }
            None => {
                f.set_unknown(format!(
                    "cannot tell the size of the heap in `{}`",
                    self.text(e.span)
                ));
                (el, cost)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn static_call(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        module: &str,
        name: &str,
        args: &[Expr],
        avals: &[Val],
        cost: Cost,
    ) -> (Val, Cost) {
        let size = |i: usize| avals.get(i).and_then(|v| v.size.clone());
        let arg = |i: usize| {
            avals
                .get(i)
                .cloned()
                .unwrap_or_else(|| Val::one(Kind::Unknown))
        };
        let spread: Option<Cost> = args
            .iter()
            .zip(avals)
            .filter(|(a, _)| matches!(a.kind, ExprKind::Spread(_)))
            .map(|(_, v)| v.size.clone().unwrap_or_else(Cost::one))
            .reduce(|a, b| a.add(&b));
        let (v, c, why): (Val, Option<Cost>, &str) = match (module, name) {
            ("Math", "floor" | "ceil" | "trunc" | "round" | "abs" | "sqrt")
            | ("math", "floor" | "ceil" | "sqrt" | "isqrt") => {
                let mut v = arg(0);
                v.kind = Kind::Num;
                (v, None, "")
            }
            ("Math", "max" | "min") if spread.is_some() => (Val::one(Kind::Num), None, ""),
            ("Object", "keys" | "values" | "entries") | ("Array", "from") => {
                let mut v = arg(0);
                v.kind = Kind::List;
                let s = size(0);
                if name == "entries" || name == "values" {
                    v.elem = None;
                }
                (v, s, "copies its argument")
            }
            ("JSON", _) => (Val::one(Kind::Str), size(0), "serializes its argument"),
            ("collections", "deque" | "Counter" | "defaultdict" | "OrderedDict")
            | ("bisect", _)
            | ("itertools", _)
            | ("functools", _) => {
                return self.call(
                    f,
                    e,
                    &Expr::new(ExprKind::Name(name.to_string()), e.span),
                    args,
                );
            }
            _ => (Val::one(Kind::Num), None, ""),
        };
        self.charge(f, e, v, c, why, cost)
    }

    #[allow(clippy::too_many_arguments)]
    fn method(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        obj: &Expr,
        ov: Val,
        name: &str,
        args: &[Expr],
        avals: &[Val],
        cost: Cost,
    ) -> (Val, Cost) {
        let osize = ov.size.clone();
        let oname = obj.name().map(str::to_string);
        let arg_size = |i: usize| avals.get(i).and_then(|v| v.size.clone());
        let set_like = matches!(ov.kind, Kind::Set | Kind::Dict);
        // Higher-order array methods: a loop with the callback as body.
        if matches!(
            name,
            "map"
                | "filter"
                | "forEach"
                | "reduce"
                | "some"
                | "every"
                | "find"
                | "findIndex"
                | "flatMap"
                | "reduceRight"
                | "sort"
        ) && let Some(cb) = avals.first().and_then(|v| v.func)
        {
            return self.callback_loop(f, e, ov, name, cb, cost);
        }
        let (v, c, why): (Val, Option<Cost>, &str) = match name {
            "append" | "push" | "add" | "appendleft" | "unshift" | "set" | "put" => {
                if let Some(n) = &oname {
                    self.grow(f, n);
                }
                let c = if name == "unshift" && !set_like {
                    osize
                } else {
                    Some(Cost::one())
                };
                (Val::one(Kind::Num), c, "`unshift` shifts every element")
            }
            "extend" | "update" | "concat" => {
                if let (Some(n), Some(s)) = (&oname, arg_size(0))
                    && let Some(cur) = f.env.get(n).cloned()
                {
                    let mut nv = cur.clone();
                    nv.size = grow(&cur.size, &f.loop_mult.mul(&s));
                    f.env.insert(n.clone(), nv);
                }
                let mut v = ov.clone();
                if name == "concat" {
                    v.size = join_sizes(&[osize.clone(), arg_size(0)]);
                    (v, join_sizes(&[osize, arg_size(0)]), "copies")
                } else {
                    (v, arg_size(0), "adds every element")
                }
            }
            "pop" => {
                let from_front = avals
                    .first()
                    .is_some_and(|_| args.first().and_then(Expr::num) != Some(-1));
                let el = self.elem_of(&ov);
                if from_front && !set_like {
                    (el, osize, "`pop(i)` shifts the rest of the list")
                } else {
                    (el, Some(Cost::one()), "")
                }
            }
            "shift" => (self.elem_of(&ov), osize, "`shift` moves every element"),
            "popleft" | "get" | "has" | "delete" | "discard" | "setdefault" | "peek" | "top"
            | "charAt" | "charCodeAt" | "isdigit" | "isalpha" | "isalnum" | "isupper"
            | "islower" | "isspace" => {
                let el = if name == "get" {
                    self.elem_of(&ov)
                } else {
                    Val::one(Kind::Num)
                };
                (el, Some(Cost::one()), "")
            }
            "remove" if set_like => (Val::one(Kind::Num), Some(Cost::one()), ""),
            "insert" => {
                if let Some(n) = &oname {
                    self.grow(f, n);
                }
                (Val::one(Kind::Num), osize, "`insert` shifts the list")
            }
            "remove" | "index" | "count" | "indexOf" | "includes" | "lastIndexOf" | "find"
            | "rfind" | "startswith" | "endswith" | "startsWith" | "endsWith" | "reverse"
            | "copy" | "fill" | "replace" | "strip" | "lower" | "upper" | "toLowerCase"
            | "toUpperCase" | "trim" | "toString" => {
                let mut v = ov.clone();
                if !matches!(
                    name,
                    "copy"
                        | "reverse"
                        | "fill"
                        | "replace"
                        | "strip"
                        | "lower"
                        | "upper"
                        | "toLowerCase"
                        | "toUpperCase"
                        | "trim"
                ) {
                    v = Val::one(Kind::Num);
                }
                let why = match name {
                    "includes" | "indexOf" | "lastIndexOf" | "index" | "count" | "find"
                    | "rfind" | "remove" => "scans the whole sequence",
                    _ => "touches every element",
                };
                (v, osize, why)
            }
            "split" => {
                let mut v = ov.clone();
                v.kind = Kind::List;
                v.elem = Some(Box::new(Val::of(
                    Kind::Str,
                    osize.clone().unwrap_or_else(Cost::one),
                )));
                (v, osize, "splits the whole string")
            }
            "join" => {
                let v = Val {
                    kind: Kind::Str,
                    ..arg_val(avals, 0)
                };
                (v, arg_size(0), "joins every piece")
            }
            "slice" | "substring" | "substr" | "splice" => {
                let mut v = ov.clone();
                v.mid = false;
                (v, osize, "copies")
            }
            "keys" | "values" | "items" | "entries" => {
                let mut v = ov.clone();
                v.kind = Kind::List;
                if name != "keys" {
                    v.elem = None;
                }
                (v, Some(Cost::one()), "")
            }
            "sort" => {
                let c = osize.as_ref().map(|s| s.mul(&s.log()));
                (ov.clone(), c, "sorting")
            }
            "readFileSync" | "readline" | "readlines" | "read" => {
                // Input: its size is a variable of its own.
                let var = self.new_var("input", false);
                (Val::of(Kind::Str, Cost::var(var)), Some(Cost::one()), "")
            }
            "repeat" => (
                Val::of(Kind::Str, arg_size(0).unwrap_or_else(Cost::one)),
                arg_size(0),
                "repeats the string",
            ),
            "clear" | "sqrt" | "floor" | "format" | "toFixed" => {
                (Val::one(Kind::Num), Some(Cost::one()), "")
            }
            _ => (Val::unknown(), Some(Cost::one()), ""),
        };
        self.charge(f, e, v, c, why, cost)
    }

    fn callback_loop(
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
            total = count.mul(&count.log()).mul(&per);
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
    fn callback_once(&mut self, f: &mut Frame, cb: FuncId, el: &Val) -> Cost {
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

    fn user_call(
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
            return (Val::one(Kind::Unknown), cost);
        }
        let c = match callee_cost.subst(&|v| map.get(&v).cloned().flatten()) {
            Ok(c) => c,
            Err(_) => {
                f.set_unknown(format!(
                    "cannot put the arguments of `{name}` into its cost"
                ));
                return (Val::one(Kind::Unknown), cost);
            }
        };
        let ret = match &s.ret {
            Some(r) => {
                let mut v = r.clone();
                v.func = None;
                v.mid = false;
                v.part_of = None;
                v.size = r.size.as_ref().and_then(|sz| {
                    if sz.vars().iter().any(|x| matches!(map.get(x), Some(None))) {
                        return None;
                    }
                    sz.subst(&|x| map.get(&x).cloned().flatten()).ok()
                });
                v.elem = None;
                v
            }
            _ => self.return_val(id, avals),
        };
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
        let _ = args;
        (ret, cost.add(&c))
    }

    /// What a call returns: a collection as big as its first argument is a fair guess for
    /// helpers that transform a list; anything else is a constant-size value.
    fn return_val(&mut self, id: FuncId, avals: &[Val]) -> Val {
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

    // ---------------------------------------------------------------- recursion

    /// Solves the recursion of function `id` from how its recursive calls shrink the input.
    /// `full` is the work of one call with its loops counted fully, `local` with the loops
    /// that recurse counted once.
    fn solve_recursion(
        &mut self,
        id: FuncId,
        f: &Frame,
        params: &[Var],
        full: &Cost,
        local: &Cost,
        rec_loops: &[(Cost, Option<Expr>, Vec<String>)],
    ) -> Result<(Cost, String, bool), String> {
        let prog = self.prog;
        let func = &prog.funcs[id];
        let name = func.name.clone();
        let mut kinds = Vec::new();
        for call in &f.rec_calls {
            kinds.push(self.shrink(f, func, params, call));
        }
        let memo = func.memo_decorator || has_memo_dict(&func.body);
        let unknown =
            || format!("cannot tell how the recursive calls of `{name}` shrink the input");
        // The parameters that change from call to call, and how big each can get.
        let mut changing: Vec<Cost> = Vec::new();
        let mut driver: Option<(Shrink, Cost, usize)> = None;
        let rank = |s: &Shrink| match s {
            Shrink::Struct => 5,
            Shrink::Half => 4,
            Shrink::Split => 3,
            Shrink::Step => 1,
            _ => 0,
        };
        for k in &kinds {
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
        if memo {
            if changing.is_empty() {
                return Err(unknown());
            }
            let states = changing.iter().fold(Cost::one(), |a, b| a.mul(b));
            return Ok((
                states.mul(local),
                "memoised recursion: each state is computed once".into(),
                true,
            ));
        }
        let in_loop: Vec<&RecCall> = f.rec_calls.iter().filter(|c| c.in_loop.is_some()).collect();
        if let Some((Shrink::Struct, n, i)) = &driver {
            // Each node is visited once; loops over its neighbours add up to the edges.
            let p = func.params.get(*i).cloned().unwrap_or_default();
            let mut nodes = n.clone();
            let mut edges = Cost::one();
            for (count, iter, _) in rec_loops {
                if let Some(ExprKind::Index { obj, index }) = iter.as_ref().map(|e| &e.kind)
                    && index.mentions(&p)
                    && let Some(gv) = {
                        let mut tmp = Frame::new(f.func, f.env.clone());
                        self.expr(&mut tmp, obj).0.size
                    }
                    && let Some(g) = Self::single_var(&gv)
                {
                    let e = self.derived_var(g);
                    self.syms[g].graph = Some("V");
                    self.syms[e].graph = Some("E");
                    nodes = Cost::var(g);
                    edges = edges.add(&Cost::var(e));
                    continue;
                }
                // Children of a tree node: n - 1 of them in all.
                edges = edges.add(&nodes);
                let _ = count;
            }
            let total = nodes.mul(local).add(&edges);
            return Ok((total, "recursion visits each node once".into(), false));
        }
        if let Some(call) = in_loop.first() {
            // Backtracking: one call per choice made in a loop.
            let info = call.in_loop.clone().ok_or_else(unknown)?;
            let n = info.count.clone();
            if n.is_one() {
                return Err(unknown());
            }
            let (leaves, why) = if info.from_param {
                (
                    n.exp(2).ok_or_else(unknown)?,
                    "backtracking: one call per subset",
                )
            } else {
                (
                    n.factorial().ok_or_else(unknown)?,
                    "backtracking: one call per ordering",
                )
            };
            return Ok((leaves.mul(local), why.into(), false));
        }
        let Some((shrink, n, _)) = driver else {
            return Err(unknown());
        };
        let sites = count_sites(&func.body, id, prog);
        match shrink {
            Shrink::Split => {
                // Worst case: one part gets everything but the pivot.
                Ok((
                    n.mul(full),
                    "recursion on parts of the input: worst case depth n".into(),
                    false,
                ))
            }
            Shrink::Half => {
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
                let total = if deg < crit {
                    n.pow(crit)
                } else if deg == crit {
                    let mut t = n.pow(crit);
                    for _ in 0..=logs {
                        t = t.mul(&n.log());
                    }
                    t
                } else {
                    full.clone()
                };
                Ok((
                    total,
                    format!("{a} recursive call(s) on half the input (master theorem)"),
                    false,
                ))
            }
            Shrink::Step => {
                // Accumulators that grow by a piece per call (`prefix + "a"`, `path + [x]`)
                // are at most as long as the recursion is deep.
                let mut growing: Vec<Var> = Vec::new();
                for (k, call) in kinds.iter().zip(&f.rec_calls) {
                    for (i, sh) in k.iter().enumerate() {
                        let grows = *sh == Shrink::Step
                            && call.args.get(i).is_some_and(|a| {
                                matches!(&a.kind, ExprKind::Bin { op: BinOp::Add, .. })
                            });
                        if grows
                            && self.magnitude(f, func, params, i).is_none()
                            && let Some(v) = params.get(i)
                        {
                            growing.push(*v);
                        }
                    }
                }
                let with_depth = |c: &Cost| {
                    c.subst(&|v| growing.contains(&v).then(|| n.clone()))
                        .unwrap_or_else(|_| c.clone())
                };
                let full_d = with_depth(full);
                if sites <= 1 {
                    Ok((
                        n.mul(&full_d),
                        "one recursive call on an input one smaller: depth n".into(),
                        false,
                    ))
                } else {
                    let total = n.exp(sites as u32).ok_or_else(unknown)?;
                    // Work that shrinks with the input sums to a constant factor over the levels;
                    // work on a growing accumulator does not.
                    let total = if full.has_exp() {
                        total.mul(full)
                    } else if full_d != *full {
                        total.mul(&full_d)
                    } else {
                        total
                    };
                    Ok((
                        total,
                        format!("{sites} recursive calls, each on n minus a constant"),
                        false,
                    ))
                }
            }
            _ => Err(unknown()),
        }
    }

    fn shrink(&mut self, f: &Frame, func: &Func, _params: &[Var], call: &RecCall) -> Vec<Shrink> {
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
    fn magnitude(&mut self, f: &Frame, func: &Func, params: &[Var], i: usize) -> Option<Cost> {
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
enum Shrink {
    Same,
    Step,
    Half,
    Split,
    Struct,
    Other,
}

fn classify_arg(a: &Expr, p: &str, f: &Frame, func: &Func, call: &RecCall) -> Shrink {
    if a.name() == Some(p) {
        return Shrink::Same;
    }
    if let ExprKind::Bin { op, l, r } = &a.kind {
        let lp = l.mentions(p);
        match op {
            BinOp::Sub | BinOp::Add if lp && r.num().is_some() => return Shrink::Step,
            BinOp::FloorDiv | BinOp::Div | BinOp::Shr if lp => return Shrink::Half,
            _ => {}
        }
        // lo = mid + 1 / hi = mid - 1
        if let Some(n) = l.name() {
            if f.mids.contains(n) {
                return Shrink::Half;
            }
            if matches!(op, BinOp::Sub | BinOp::Add)
                && r.num().is_some()
                && !func.params.iter().any(|q| q == n)
            {
                // pivot ± 1, a loop variable + 1 …
                if call
                    .in_loop
                    .as_ref()
                    .is_some_and(|l| l.targets.iter().any(|t| t == n))
                {
                    return Shrink::Step;
                }
                return Shrink::Split;
            }
        }
    }
    if let Some(n) = a.name() {
        if f.mids.contains(n) {
            return Shrink::Half;
        }
        if let Some(v) = f.env.get(n)
            && v.part_of.is_some()
        {
            return Shrink::Split;
        }
        // A loop variable over the parameter's children / neighbours.
        if let Some(l) = &call.in_loop
            && l.targets.iter().any(|t| t == n)
            && l.iter.as_ref().is_some_and(|it| it.mentions(p))
        {
            return Shrink::Struct;
        }
        if !func.params.iter().any(|q| q == n) {
            return Shrink::Split;
        }
    }
    match &a.kind {
        ExprKind::Attr { obj, .. } if obj.mentions(p) => Shrink::Struct,
        ExprKind::Slice { obj, lo, hi } if obj.mentions(p) => {
            let halves = |e: &Option<Box<Expr>>| {
                e.as_ref().is_some_and(|e| {
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
                })
            };
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
                let halves = args.iter().any(|e| {
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
                });
                if halves { Shrink::Half } else { Shrink::Step }
            }
            _ => Shrink::Other,
        },
        _ => Shrink::Other,
    }
}

fn stmt_mentions_index(s: &Stmt, coll: &str, idx: &str) -> bool {
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
fn count_sites(stmts: &[Stmt], id: FuncId, prog: &Program) -> usize {
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

fn expr_calls(e: &Expr, id: FuncId, prog: &Program) -> usize {
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

fn count_calls_named(e: &Expr, short: &str, n: &mut usize) {
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
fn calls_self(prog: &Program, id: FuncId) -> bool {
    stmts_call(prog, &prog.funcs[id].body, id)
}

fn stmts_call(prog: &Program, body: &[Stmt], id: FuncId) -> bool {
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
fn used_as_hash(body: &[Stmt], p: &str) -> bool {
    stmts_any_expr(body, &|e| {
        matches!(&e.kind, ExprKind::Call { func, .. }
            if matches!(&func.kind, ExprKind::Attr { obj, name }
                if obj.name() == Some(p)
                    && matches!(name.as_str(), "add" | "has" | "get" | "set" | "discard" | "setdefault" | "keys" | "items" | "values")))
    })
}

/// A memo table: a name looked up in a condition whose branch returns, and stored into.
fn has_memo_dict(body: &[Stmt]) -> bool {
    !memo_tables(body).is_empty()
}

/// The names used as memo tables in a body.
fn memo_tables(body: &[Stmt]) -> HashSet<String> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Update {
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
    fn is_step(&self) -> bool {
        matches!(self, Update::Inc | Update::Dec)
    }
}

/// How a value relates to the variable it was computed from: `p = (i - 1) >> 1` makes a
/// later `i = p` a halving of `i`.
#[derive(Default, Clone)]
struct Derivations {
    mids: HashSet<String>,
    from: HashMap<String, (String, Update)>,
    /// `j = i`: j started as a copy of i.
    copies: HashMap<String, String>,
}

fn classify_value(n: &str, value: &Expr, d: &Derivations) -> Update {
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

fn collect_updates(body: &[Stmt], out: &mut HashMap<String, Vec<Update>>, d: &mut Derivations) {
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

fn collect_calls(e: &Expr, out: &mut HashMap<String, Vec<Update>>) {
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

fn split_cond<'e>(c: &'e Expr, cmps: &mut Vec<(&'e Expr, &'e Expr)>, truthy: &mut Vec<&'e Expr>) {
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

/// Does `e` evaluate to a collection built from a parameter (`a`, `a[1:]`, `merge(l, r)`,
/// `left + [p] + right`)? A number computed from one (`a[0] + f(a[1:])`) does not.
fn returns_collection_of(e: &Expr, params: &[String]) -> bool {
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

/// The collection that `name` indexes in a loop (`s[left]`), if any.
fn indexed_by(body: &[Stmt], cond: &Expr, name: &str) -> Option<String> {
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
fn worklist_name(e: &Expr) -> Option<String> {
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

/// `(lo + hi) // 2`, `lo + (hi - lo) // 2`, `(lo + hi) >> 1`, `Math.floor((lo + hi) / 2)`.
fn is_mid_expr(e: &Expr) -> bool {
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
fn is_half_expr(e: &Expr) -> bool {
    let halves = |x: &Expr| matches!(&x.kind, ExprKind::Bin { op: BinOp::FloorDiv | BinOp::Div | BinOp::Shr, r, .. } if r.num().is_some_and(|v| v == 2 || v == 1));
    halves(e) || matches!(&e.kind, ExprKind::Call { args, .. } if args.first().is_some_and(halves))
}

fn count_names(e: &Expr, n: &mut usize) {
    if e.name().is_some() {
        *n += 1;
    }
    e.for_each_child(&mut |c| count_names(c, n));
}

/// Plain copies `a = b` anywhere in a loop body, as (a, b).
fn copies_in(body: &[Stmt]) -> Vec<(String, String)> {
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
fn assigned_names(body: &[Stmt]) -> HashMap<String, usize> {
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
fn for_each_stmt_expr(s: &Stmt, f: &mut dyn FnMut(&Expr)) {
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

fn stmts_any_expr(stmts: &[Stmt], pred: &dyn Fn(&Expr) -> bool) -> bool {
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

fn is_call_to(e: &Expr, name: &str) -> bool {
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
fn l_const_base(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Bin { l, .. } if l.num().is_some_and(|v| v >= 1))
}

fn l_const_base_value(e: &Expr) -> u32 {
    match &e.kind {
        ExprKind::Bin { l, .. } => l
            .num()
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(2)
            .max(2),
        _ => 2,
    }
}

/// `len(x)` / `x.length` / `x.size`.
fn is_len_expr(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { func, .. } => matches!(&func.kind, ExprKind::Name(n) if n == "len"),
        ExprKind::Attr { name, .. } => name == "length" || name == "size",
        _ => false,
    }
}

fn is_method_call(e: &Expr, name: &str) -> bool {
    matches!(&e.kind, ExprKind::Call { func, .. } if matches!(&func.kind, ExprKind::Attr { name: n, .. } if n == name))
}

fn arg_val(avals: &[Val], i: usize) -> Val {
    avals
        .get(i)
        .cloned()
        .unwrap_or_else(|| Val::one(Kind::Unknown))
}

/// The size after growing inside loops running `mult` times in all.
fn grow(cur: &Option<Cost>, mult: &Cost) -> Option<Cost> {
    cur.as_ref().map(|c| c.add(mult))
}

/// The larger of several sizes (their sum, in Big-O); `None` if any is unknown.
fn join_sizes(sizes: &[Option<Cost>]) -> Option<Cost> {
    let mut out = Cost::one();
    for s in sizes {
        out = out.add(s.as_ref()?);
    }
    Some(out)
}

/// Names used as numbers in a body (`range(n)`, `n - 1`, `n > 0`): they keep their own name.
fn numeric_names(body: &[Stmt]) -> HashSet<String> {
    let mut out = HashSet::new();
    walk_stmts(body, &mut |s| {
        for_each_stmt_expr(s, &mut |e| {
            mark_numeric(e, &mut out);
        });
    });
    out
}

fn mark_numeric(e: &Expr, out: &mut HashSet<String>) {
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
                let arithmetic = y.num().is_some()
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
