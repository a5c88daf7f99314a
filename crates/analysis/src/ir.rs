//! A small language-neutral syntax tree: the Python and JavaScript lowerings produce it and
//! the cost rules read only it, so every rule is written once for both languages.

/// Deepest syntax nesting the lowerings follow; deeper code (only hostile input is so deep)
/// is left out of the tree rather than risking the stack.
pub(crate) const MAX_DEPTH: usize = 100;

/// Where a piece of code is: 1-based lines (inclusive) and the byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub line_start: usize,
    pub line_end: usize,
    pub byte_start: usize,
    pub byte_end: usize,
}

/// Index of a function in [`Program::funcs`].
pub(crate) type FuncId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Shl,
    Shr,
    And,
    Or,
    Bit,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    In,
    NotIn,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqKind {
    List,
    Tuple,
    Set,
    Dict,
}

/// One `for x in xs` clause of a comprehension.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    pub targets: Vec<String>,
    pub iter: Expr,
    pub conds: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    Name(String),
    Num(i64),
    Str,
    /// `True`, `None`, `null`, a float, …: a value of constant size.
    Const,
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
    },
    Attr {
        obj: Box<Expr>,
        name: String,
    },
    Index {
        obj: Box<Expr>,
        index: Box<Expr>,
    },
    Slice {
        obj: Box<Expr>,
        lo: Option<Box<Expr>>,
        hi: Option<Box<Expr>>,
    },
    Bin {
        op: BinOp,
        l: Box<Expr>,
        r: Box<Expr>,
    },
    Cmp {
        op: CmpOp,
        l: Box<Expr>,
        r: Box<Expr>,
    },
    Unary(Box<Expr>),
    Seq {
        kind: SeqKind,
        items: Vec<Expr>,
    },
    /// `*xs` / `...xs`.
    Spread(Box<Expr>),
    /// `i++` / `i--` used as a value (`a[i++]`): still a step of `i`.
    IncDec(Box<Expr>, bool),
    Comp {
        kind: SeqKind,
        gens: Vec<Generator>,
        elt: Vec<Expr>,
    },
    Lambda(FuncId),
    Cond {
        c: Box<Expr>,
        a: Box<Expr>,
        b: Box<Expr>,
    },
    /// Anything else: only its sub-expressions matter.
    Other(Vec<Expr>),
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn num(&self) -> Option<i64> {
        match &self.kind {
            ExprKind::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Calls `f` on every direct sub-expression (not into lambdas).
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match &self.kind {
            ExprKind::Name(_)
            | ExprKind::Num(_)
            | ExprKind::Str
            | ExprKind::Const
            | ExprKind::Lambda(_) => {}
            ExprKind::Call { func, args, .. } => {
                f(func);
                args.iter().for_each(f);
            }
            ExprKind::Attr { obj, .. } => f(obj),
            ExprKind::Index { obj, index } => {
                f(obj);
                f(index);
            }
            ExprKind::Slice { obj, lo, hi } => {
                f(obj);
                lo.iter().for_each(|e| f(e));
                hi.iter().for_each(|e| f(e));
            }
            ExprKind::Bin { l, r, .. } | ExprKind::Cmp { l, r, .. } => {
                f(l);
                f(r);
            }
            ExprKind::Unary(e) | ExprKind::Spread(e) | ExprKind::IncDec(e, _) => f(e),
            ExprKind::Seq { items, .. } | ExprKind::Other(items) => items.iter().for_each(f),
            ExprKind::Comp { gens, elt, .. } => {
                for g in gens {
                    f(&g.iter);
                    g.conds.iter().for_each(&mut *f);
                }
                elt.iter().for_each(f);
            }
            ExprKind::Cond { c, a, b } => {
                f(c);
                f(a);
                f(b);
            }
        }
    }

    /// True if `pred` holds for this expression or any sub-expression.
    pub fn any(&self, pred: &dyn Fn(&Expr) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        let mut found = false;
        self.for_each_child(&mut |c| {
            if !found && c.any(pred) {
                found = true;
            }
        });
        found
    }

    /// Calls `f` on this expression and every sub-expression, pre-order.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        self.for_each_child(&mut |c| c.walk(f));
    }

    /// True if any of the names occurs in this expression.
    pub fn mentions_any(&self, names: &[String]) -> bool {
        names.iter().any(|n| self.mentions(n))
    }

    /// True if the name `n` occurs in this expression.
    pub fn mentions(&self, n: &str) -> bool {
        self.any(&|e| e.name() == Some(n))
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Stmt {
    /// `for x in xs` (Python), `for (x of xs)` / `for (k in obj)` (JavaScript).
    For {
        targets: Vec<String>,
        iter: Expr,
        body: Vec<Stmt>,
        span: Span,
    },
    /// A C-style `for (init; cond; update)`.
    CFor {
        init: Vec<Stmt>,
        cond: Option<Expr>,
        update: Vec<Stmt>,
        body: Vec<Stmt>,
        span: Span,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
        span: Span,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    /// `target = value`, or `target op= value` when `op` is set (`i++` is `i += 1`).
    Assign {
        targets: Vec<Expr>,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    Expr(Expr),
    Return(Option<Expr>),
    Break,
    Continue,
    Def(FuncId),
    /// `del x[i]`.
    Del(Expr),
}

#[derive(Debug, Clone)]
pub(crate) struct Func {
    /// Qualified name: `outer.inner`, `Class.method`.
    pub name: String,
    pub params: Vec<String>,
    pub body: Vec<Stmt>,
    pub span: Span,
    /// `@cache`, `@lru_cache`, `@functools.cache`, …
    pub memo_decorator: bool,
    /// The function this one is nested in.
    pub parent: Option<FuncId>,
    /// The class this method belongs to.
    pub class: Option<String>,
    /// An anonymous function (lambda, callback): not reported on its own.
    pub anonymous: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    pub funcs: Vec<Func>,
    pub module: Vec<Stmt>,
    pub span: Span,
}
