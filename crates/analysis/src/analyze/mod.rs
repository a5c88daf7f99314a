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
//! This module holds the analyser's state and the walk of whole functions; each concern has
//! a module of its own: [`value`] and [`frame`] what the walk knows, [`stmts`], [`exprs`],
//! [`loops`] and [`while_loop`] the cost rules, [`patterns`] the `while` recognisers,
//! [`updates`] and [`syntax`] plain questions about the IR, [`calls`] library and user
//! calls, [`recursion`] the recursion rules.

use std::collections::{HashMap, HashSet};

use crate::complexity::{Cost, Factor, Var, Work};
use crate::ir::*;

mod calls;
mod exprs;
mod frame;
mod library;
mod loops;
mod patterns;
mod recursion;
mod stmts;
mod syntax;
mod updates;
mod value;
mod while_loop;

use frame::*;
use library::*;
use recursion::*;
use syntax::*;
use updates::*;
use value::*;

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
    /// The work budget of this analysis, handed to every product of costs.
    work: Work,
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
            work: Work::default(),
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

    /// `v` counts the nodes of a graph: it is `V`, the size of its neighbour lists `E`.
    fn mark_graph(&mut self, v: Var) -> Var {
        let e = self.derived_var(v);
        self.syms[v].graph = Some("V");
        self.syms[e].graph = Some("E");
        e
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
            for l in &f.rec_loop_counts {
                for n in &l.pushed {
                    if let Some(v) = env.get_mut(n) {
                        v.size = grow(&v.size, &l.count);
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
}
