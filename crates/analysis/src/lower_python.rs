//! Python tree-sitter tree → [`crate::ir`].

use tree_sitter::Node;

use crate::ir::*;

pub(crate) struct Lower<'a> {
    src: &'a [u8],
    pub prog: Program,
    /// Nesting of the node being lowered: deeper code is cut off, not followed into a stack
    /// overflow.
    depth: usize,
}

pub(crate) fn span(n: Node) -> Span {
    Span {
        line_start: n.start_position().row + 1,
        line_end: n.end_position().row + 1,
        byte_start: n.start_byte(),
        byte_end: n.end_byte(),
    }
}

pub(crate) fn named_children<'t>(n: Node<'t>) -> Vec<Node<'t>> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect()
}

pub(crate) fn text<'s>(src: &'s [u8], n: Node) -> &'s str {
    n.utf8_text(src).unwrap_or("")
}

impl<'a> Lower<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Lower {
            src,
            prog: Program::default(),
            depth: 0,
        }
    }

    pub fn module(&mut self, root: Node) {
        self.prog.span = span(root);
        let body = self.block(root, None, None);
        self.prog.module = body;
    }

    fn block(&mut self, n: Node, parent: Option<FuncId>, class: Option<&str>) -> Vec<Stmt> {
        let mut out = Vec::new();
        for c in named_children(n) {
            self.stmt(c, parent, class, &mut out);
        }
        out
    }

    fn field_block(
        &mut self,
        n: Node,
        field: &str,
        parent: Option<FuncId>,
        class: Option<&str>,
    ) -> Vec<Stmt> {
        match n.child_by_field_name(field) {
            Some(b) => self.block(b, parent, class),
            None => Vec::new(),
        }
    }

    fn stmt(&mut self, n: Node, parent: Option<FuncId>, class: Option<&str>, out: &mut Vec<Stmt>) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.stmt_inner(n, parent, class, out);
        self.depth -= 1;
    }

    fn stmt_inner(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        out: &mut Vec<Stmt>,
    ) {
        match n.kind() {
            "expression_statement" => self.expression_stmt(n, out),
            "function_definition" => {
                let id = self.function(n, parent, class, false);
                out.push(Stmt::Def(id));
            }
            "decorated_definition" => self.decorated_stmt(n, parent, class, out),
            "class_definition" => {
                let name = n
                    .child_by_field_name("name")
                    .map(|x| text(self.src, x).to_string())
                    .unwrap_or_default();
                let body = self.field_block(n, "body", parent, Some(&name));
                out.extend(body);
            }
            "for_statement" => self.for_stmt(n, parent, class, out),
            "while_statement" => {
                let cond = self.field_expr(n, "condition");
                let body = self.field_block(n, "body", parent, class);
                out.push(Stmt::While {
                    cond,
                    body,
                    span: span(n),
                });
            }
            "if_statement" => self.if_stmt(n, parent, class, out),
            "return_statement" => {
                let e = named_children(n).first().map(|c| self.expr(*c));
                out.push(Stmt::Return(e));
            }
            "break_statement" => out.push(Stmt::Break),
            "continue_statement" => out.push(Stmt::Continue),
            "delete_statement" => {
                for c in named_children(n) {
                    out.push(Stmt::Del(self.expr(c)));
                }
            }
            "try_statement" | "with_statement" | "block" | "except_clause" | "finally_clause"
            | "else_clause" | "match_statement" | "case_clause" => {
                for c in named_children(n) {
                    match c.kind() {
                        "block" => out.extend(self.block(c, parent, class)),
                        "with_clause" | "case_pattern" => {}
                        _ => self.stmt(c, parent, class, out),
                    }
                }
            }
            "import_statement"
            | "import_from_statement"
            | "pass_statement"
            | "comment"
            | "global_statement"
            | "nonlocal_statement"
            | "future_import_statement" => {}
            "raise_statement" | "assert_statement" | "print_statement" => {
                for c in named_children(n) {
                    out.push(Stmt::Expr(self.expr(c)));
                }
            }
            "ERROR" => {
                for c in named_children(n) {
                    self.stmt(c, parent, class, out);
                }
            }
            _ => {
                // An expression in statement position (e.g. inside an ERROR node).
                let e = self.expr(n);
                out.push(Stmt::Expr(e));
            }
        }
    }

    /// An expression statement: an assignment, or an expression evaluated for its effect.
    fn expression_stmt(&mut self, n: Node, out: &mut Vec<Stmt>) {
        for c in named_children(n) {
            match c.kind() {
                "assignment" => self.assignment(c, out),
                "augmented_assignment" => {
                    let op = c
                        .child_by_field_name("operator")
                        .map(|o| binop(text(self.src, o).trim_end_matches('=')))
                        .unwrap_or(BinOp::Other);
                    let target = self.field_expr(c, "left");
                    let value = self.field_expr(c, "right");
                    out.push(Stmt::Assign {
                        targets: vec![target],
                        op: Some(op),
                        value,
                        span: span(c),
                    });
                }
                _ => out.push(Stmt::Expr(self.expr(c))),
            }
        }
    }

    /// A decorated function (`@cache` marks it memoised) or class.
    fn decorated_stmt(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        out: &mut Vec<Stmt>,
    ) {
        let memo = named_children(n).iter().any(|d| {
            d.kind() == "decorator" && {
                let t = text(self.src, *d);
                t.contains("cache") || t.contains("memo")
            }
        });
        if let Some(def) = n.child_by_field_name("definition") {
            match def.kind() {
                "function_definition" => {
                    let id = self.function(def, parent, class, memo);
                    out.push(Stmt::Def(id));
                }
                _ => self.stmt(def, parent, class, out),
            }
        }
    }

    /// `for targets in iter:` (its `else` runs after it).
    fn for_stmt(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        out: &mut Vec<Stmt>,
    ) {
        let targets = n
            .child_by_field_name("left")
            .map(|l| self.targets(l))
            .unwrap_or_default();
        let iter = self.field_expr(n, "right");
        let mut body = self.field_block(n, "body", parent, class);
        if let Some(alt) = n.child_by_field_name("alternative") {
            body.extend(self.field_block(alt, "body", parent, class));
        }
        out.push(Stmt::For {
            targets,
            iter,
            body,
            span: span(n),
        });
    }

    /// `if` / `elif` / `else` as nested branches.
    fn if_stmt(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        out: &mut Vec<Stmt>,
    ) {
        let cond = self.field_expr(n, "condition");
        let then = self.field_block(n, "consequence", parent, class);
        // elif / else clauses, chained right to left.
        let mut clauses: Vec<Node> = Vec::new();
        let mut c = n.walk();
        for alt in n.children_by_field_name("alternative", &mut c) {
            clauses.push(alt);
        }
        let mut els: Vec<Stmt> = Vec::new();
        for alt in clauses.into_iter().rev() {
            if alt.kind() == "elif_clause" {
                let cond = self.field_expr(alt, "condition");
                let then = self.field_block(alt, "consequence", parent, class);
                els = vec![Stmt::If { cond, then, els }];
            } else {
                let mut b = self.field_block(alt, "body", parent, class);
                b.extend(els);
                els = b;
            }
        }
        out.push(Stmt::If { cond, then, els });
    }

    fn assignment(&mut self, c: Node, out: &mut Vec<Stmt>) {
        // a = b = value parses as nested assignments on the right.
        let mut targets = vec![self.field_expr(c, "left")];
        let mut right = c.child_by_field_name("right");
        while let Some(r) = right {
            if r.kind() == "assignment" {
                targets.push(self.field_expr(r, "left"));
                right = r.child_by_field_name("right");
            } else {
                break;
            }
        }
        let value = match right {
            Some(r) => self.expr(r),
            None => Expr::new(ExprKind::Const, span(c)),
        };
        out.push(Stmt::Assign {
            targets,
            op: None,
            value,
            span: span(c),
        });
    }

    fn function(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        memo: bool,
    ) -> FuncId {
        let short = n
            .child_by_field_name("name")
            .map(|x| text(self.src, x).to_string())
            .unwrap_or_else(|| "<anonymous>".into());
        let name = match (parent, class) {
            (Some(p), _) => format!("{}.{}", self.prog.funcs[p].name, short),
            (None, Some(c)) => format!("{c}.{short}"),
            (None, None) => short,
        };
        let mut params = Vec::new();
        if let Some(ps) = n.child_by_field_name("parameters") {
            for p in named_children(ps) {
                if let Some(name) = self.param_name(p) {
                    params.push(name);
                }
            }
        }
        if class.is_some()
            && parent.is_none()
            && params.first().is_some_and(|p| p == "self" || p == "cls")
        {
            params.remove(0);
        }
        let id = self.prog.funcs.len();
        self.prog.funcs.push(Func {
            name,
            params,
            body: Vec::new(),
            span: span(n),
            memo_decorator: memo,
            parent,
            class: class.map(str::to_string),
            anonymous: false,
        });
        let body = self.field_block(n, "body", Some(id), None);
        self.prog.funcs[id].body = body;
        id
    }

    fn param_name(&self, p: Node) -> Option<String> {
        match p.kind() {
            "identifier" => Some(text(self.src, p).to_string()),
            "default_parameter" | "typed_default_parameter" => p
                .child_by_field_name("name")
                .map(|x| text(self.src, x).to_string()),
            "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => {
                named_children(p)
                    .into_iter()
                    .find(|c| c.kind() == "identifier")
                    .map(|x| text(self.src, x).to_string())
            }
            _ => None,
        }
    }

    fn targets(&self, n: Node) -> Vec<String> {
        match n.kind() {
            "identifier" => vec![text(self.src, n).to_string()],
            _ => {
                let mut v = Vec::new();
                for c in named_children(n) {
                    v.extend(self.targets(c));
                }
                v
            }
        }
    }

    fn field_expr(&mut self, n: Node, field: &str) -> Expr {
        match n.child_by_field_name(field) {
            Some(c) => self.expr(c),
            None => Expr::new(ExprKind::Const, span(n)),
        }
    }

    fn children_exprs(&mut self, n: Node) -> Vec<Expr> {
        named_children(n)
            .into_iter()
            .map(|c| self.expr(c))
            .collect()
    }

    pub fn expr(&mut self, n: Node) -> Expr {
        if self.depth > MAX_DEPTH {
            return Expr::new(ExprKind::Const, span(n));
        }
        self.depth += 1;
        let e = self.expr_inner(n);
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self, n: Node) -> Expr {
        let sp = span(n);
        let kind = match n.kind() {
            "identifier" => ExprKind::Name(text(self.src, n).to_string()),
            "integer" => match text(self.src, n).replace('_', "").parse::<i64>() {
                Ok(v) => ExprKind::Num(v),
                Err(_) => ExprKind::Const,
            },
            "float" | "true" | "false" | "none" | "ellipsis" => ExprKind::Const,
            "string" | "concatenated_string" => ExprKind::Str,
            "parenthesized_expression" | "expression_list" if named_children(n).len() == 1 => {
                return match named_children(n).first() {
                    Some(c) => self.expr(*c),
                    None => Expr::new(ExprKind::Const, sp),
                };
            }
            "call" => self.call_expr(n),
            "attribute" => ExprKind::Attr {
                obj: Box::new(self.field_expr(n, "object")),
                name: n
                    .child_by_field_name("attribute")
                    .map(|a| text(self.src, a).to_string())
                    .unwrap_or_default(),
            },
            "subscript" => self.subscript_expr(n, sp),
            "binary_operator" => self.binary_expr(n),
            "boolean_operator" => self.boolean_expr(n),
            "comparison_operator" => return self.comparison(n),
            "not_operator" => ExprKind::Unary(Box::new(self.field_expr(n, "argument"))),
            "unary_operator" => ExprKind::Unary(Box::new(self.field_expr(n, "argument"))),
            "list" => ExprKind::Seq {
                kind: SeqKind::List,
                items: self.children_exprs(n),
            },
            "tuple" | "expression_list" | "pattern_list" | "tuple_pattern" | "list_pattern" => {
                ExprKind::Seq {
                    kind: SeqKind::Tuple,
                    items: self.children_exprs(n),
                }
            }
            "set" => ExprKind::Seq {
                kind: SeqKind::Set,
                items: self.children_exprs(n),
            },
            "dictionary" => self.dict_expr(n),
            "list_splat" | "dictionary_splat" | "list_splat_pattern" => {
                match named_children(n).first() {
                    Some(c) => ExprKind::Spread(Box::new(self.expr(*c))),
                    None => ExprKind::Const,
                }
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => self.comprehension_expr(n),
            "lambda" => self.lambda_expr(n, sp),
            "conditional_expression" => self.conditional_expr(n),
            "keyword_argument" => return self.field_expr(n, "value"),
            "await" | "parenthesized_expression" | "named_expression" => {
                // (x) with several children, walrus: keep the value part.
                ExprKind::Other(self.children_exprs(n))
            }
            _ => ExprKind::Other(self.children_exprs(n)),
        };
        Expr::new(kind, sp)
    }

    /// A list, set or dict comprehension or a generator: its generators, conditions and
    /// element.
    fn comprehension_expr(&mut self, n: Node) -> ExprKind {
        let kind = match n.kind() {
            "set_comprehension" => SeqKind::Set,
            "dictionary_comprehension" => SeqKind::Dict,
            "generator_expression" => SeqKind::Tuple,
            _ => SeqKind::List,
        };
        let mut gens: Vec<Generator> = Vec::new();
        let mut elt = Vec::new();
        for c in named_children(n) {
            match c.kind() {
                "for_in_clause" => {
                    let targets = c
                        .child_by_field_name("left")
                        .map(|l| self.targets(l))
                        .unwrap_or_default();
                    let iter = self.field_expr(c, "right");
                    gens.push(Generator {
                        targets,
                        iter,
                        conds: Vec::new(),
                    });
                }
                "if_clause" => {
                    let conds = self.children_exprs(c);
                    if let Some(g) = gens.last_mut() {
                        g.conds.extend(conds);
                    }
                }
                "pair" => elt.extend(self.children_exprs(c)),
                _ => elt.push(self.expr(c)),
            }
        }
        ExprKind::Comp { kind, gens, elt }
    }

    /// A call, with keyword arguments as plain arguments.
    fn call_expr(&mut self, n: Node) -> ExprKind {
        let func = Box::new(self.field_expr(n, "function"));
        let mut args = Vec::new();
        if let Some(a) = n.child_by_field_name("arguments") {
            if a.kind() == "generator_expression" {
                args.push(self.expr(a));
            } else {
                for c in named_children(a) {
                    if c.kind() == "keyword_argument" {
                        args.push(self.field_expr(c, "value"));
                    } else {
                        args.push(self.expr(c));
                    }
                }
            }
        }
        ExprKind::Call { func, args }
    }

    /// `a[i]` or a slice `a[lo:hi]`.
    fn subscript_expr(&mut self, n: Node, sp: Span) -> ExprKind {
        let obj = Box::new(self.field_expr(n, "value"));
        let mut c = n.walk();
        let subs: Vec<Node> = n.children_by_field_name("subscript", &mut c).collect();
        match subs.as_slice() {
            [s] if s.kind() == "slice" => {
                let parts = self.slice_parts(*s);
                ExprKind::Slice {
                    obj,
                    lo: parts.0.map(Box::new),
                    hi: parts.1.map(Box::new),
                }
            }
            [s] => ExprKind::Index {
                obj,
                index: Box::new(self.expr(*s)),
            },
            _ => {
                let items = subs.iter().map(|s| self.expr(*s)).collect();
                ExprKind::Index {
                    obj,
                    index: Box::new(Expr::new(
                        ExprKind::Seq {
                            kind: SeqKind::Tuple,
                            items,
                        },
                        sp,
                    )),
                }
            }
        }
    }

    /// A lambda: an anonymous function of its own.
    fn lambda_expr(&mut self, n: Node, sp: Span) -> ExprKind {
        let mut params = Vec::new();
        if let Some(ps) = n.child_by_field_name("parameters") {
            for p in named_children(ps) {
                if let Some(name) = self.param_name(p) {
                    params.push(name);
                }
            }
        }
        let body_expr = self.field_expr(n, "body");
        let id = self.prog.funcs.len();
        self.prog.funcs.push(Func {
            name: "<lambda>".into(),
            params,
            body: vec![Stmt::Return(Some(body_expr))],
            span: sp,
            memo_decorator: false,
            parent: None,
            class: None,
            anonymous: true,
        });
        ExprKind::Lambda(id)
    }

    /// `a if c else b`.
    fn conditional_expr(&mut self, n: Node) -> ExprKind {
        let mut cs = self.children_exprs(n);
        if cs.len() == 3 {
            let b = cs.pop().map(Box::new);
            let c = cs.pop().map(Box::new);
            let a = cs.pop().map(Box::new);
            match (a, b, c) {
                (Some(a), Some(b), Some(c)) => ExprKind::Cond { c, a, b },
                _ => ExprKind::Const,
            }
        } else {
            ExprKind::Other(cs)
        }
    }

    /// An arithmetic or bitwise operator.
    fn binary_expr(&mut self, n: Node) -> ExprKind {
        let op = n
            .child_by_field_name("operator")
            .map(|o| binop(text(self.src, o)))
            .unwrap_or(BinOp::Other);
        ExprKind::Bin {
            op,
            l: Box::new(self.field_expr(n, "left")),
            r: Box::new(self.field_expr(n, "right")),
        }
    }

    /// `and` / `or`.
    fn boolean_expr(&mut self, n: Node) -> ExprKind {
        let op = match n.child_by_field_name("operator").map(|o| text(self.src, o)) {
            Some("and") => BinOp::And,
            _ => BinOp::Or,
        };
        ExprKind::Bin {
            op,
            l: Box::new(self.field_expr(n, "left")),
            r: Box::new(self.field_expr(n, "right")),
        }
    }

    /// A dict literal: its values, as a `Seq`.
    fn dict_expr(&mut self, n: Node) -> ExprKind {
        let mut items = Vec::new();
        for p in named_children(n) {
            items.extend(self.children_exprs(p));
        }
        ExprKind::Seq {
            kind: SeqKind::Dict,
            items,
        }
    }

    fn slice_parts(&mut self, s: Node) -> (Option<Expr>, Option<Expr>) {
        // slice children: [start] ':' [stop] [':' [step]]; find by colon positions.
        let mut lo = None;
        let mut hi = None;
        let mut colons = 0;
        let mut c = s.walk();
        for ch in s.children(&mut c) {
            if ch.kind() == ":" {
                colons += 1;
            } else if ch.is_named() {
                match colons {
                    0 => lo = Some(self.expr(ch)),
                    1 => hi = Some(self.expr(ch)),
                    _ => {}
                }
            }
        }
        (lo, hi)
    }

    fn comparison(&mut self, n: Node) -> Expr {
        // a < b < c: keep the pairwise comparisons joined with `and`.
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        let mut c = n.walk();
        let mut pending_not = false;
        for ch in n.children(&mut c) {
            if ch.is_named() {
                operands.push(self.expr(ch));
            } else {
                let t = text(self.src, ch);
                let op = match t {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "in" if pending_not => CmpOp::NotIn,
                    "in" => CmpOp::In,
                    "not in" => CmpOp::NotIn,
                    "not" => {
                        pending_not = true;
                        continue;
                    }
                    "is" | "is not" => CmpOp::Other,
                    _ => CmpOp::Other,
                };
                pending_not = false;
                ops.push(op);
            }
        }
        let sp = span(n);
        let mut result: Option<Expr> = None;
        for (i, op) in ops.iter().enumerate() {
            let (Some(l), Some(r)) = (operands.get(i), operands.get(i + 1)) else {
                break;
            };
            let cmp = Expr::new(
                ExprKind::Cmp {
                    op: *op,
                    l: Box::new(l.clone()),
                    r: Box::new(r.clone()),
                },
                sp,
            );
            result = Some(match result {
                None => cmp,
                Some(prev) => Expr::new(
                    ExprKind::Bin {
                        op: BinOp::And,
                        l: Box::new(prev),
                        r: Box::new(cmp),
                    },
                    sp,
                ),
            });
        }
        result.unwrap_or_else(|| Expr::new(ExprKind::Other(operands), sp))
    }
}

pub(crate) fn binop(t: &str) -> BinOp {
    match t {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "//" => BinOp::FloorDiv,
        "%" => BinOp::Mod,
        "**" => BinOp::Pow,
        "<<" => BinOp::Shl,
        ">>" | ">>>" => BinOp::Shr,
        "and" | "&&" => BinOp::And,
        "or" | "||" | "??" => BinOp::Or,
        "&" | "|" | "^" => BinOp::Bit,
        _ => BinOp::Other,
    }
}
