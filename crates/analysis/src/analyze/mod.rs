//! The cost rules: walks the [`crate::ir`] of one file and gives each function a
//! [`Cost`] with the reasons behind it.
//!
//! How a cost is found: a loop costs (iterations) × (body); statements in sequence add, so
//! the biggest wins; each value carries a symbolic size (a collection's length, a number's
//! magnitude) so a loop knows how often it runs; library calls have a table of costs; calls to
//! functions of the same file cost what their own analysis says, with the arguments' sizes put
//! in for the parameters; self-recursion is solved at the end of a function from how the
//! arguments shrink. Whatever cannot be told makes the function "unknown" with the reason.
//!
//! This file holds the walk (statements, `for` loops, expressions, sizes); `loops` the
//! `while` patterns and amortization, `calls` the library cost table and calls between
//! functions, `recursion` the recursion rules.

use std::collections::{HashMap, HashSet};

use crate::complexity::{Cost, Factor, Var};
use crate::ir::*;

mod calls;
mod loops;
mod recursion;

use loops::*;
use recursion::*;

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
    /// Known bounds between sizes, `(k, n)` for k <= n: a counter below `k` that indexes a
    /// collection of size `n` proves it.
    pub le: Vec<(Var, Var)>,
    /// Size variables of object fields (`this.items`).
    fields: HashMap<String, Var>,
    /// Python strings are immutable (`s += c` copies); JavaScript's are ropes.
    python: bool,
}

const MAX_CALL_DEPTH: usize = 16;

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
            le: Vec::new(),
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
        let total = cost.add(&f.amortized).drop_bounded(&self.le);
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
        let cost = cost.drop_bounded(&self.le);
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

    // ---------------------------------------------------------------- recursion
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

/// `(i, i + w)`: a slice of width `w` (`s[i:i + 2]`, `s.slice(i, i + 2)`); returns `w`.
fn fixed_width<'e>(lo: Option<&'e Expr>, hi: Option<&'e Expr>) -> Option<&'e Expr> {
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
