//! JavaScript tree-sitter tree → [`crate::ir`].

use tree_sitter::Node;

use crate::ir::*;
use crate::lower_python::{binop, named_children, span, text};

pub(crate) struct Lower<'a> {
    src: &'a [u8],
    pub prog: Program,
    /// Nesting of the node being lowered: deeper code is cut off, not followed into a stack
    /// overflow.
    depth: usize,
}

impl<'a> Lower<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Lower {
            src,
            prog: Program::default(),
            depth: 0,
        }
    }

    pub fn program(&mut self, root: Node) {
        self.prog.span = span(root);
        let body = self.stmts(root, None, None);
        self.prog.module = body;
    }

    fn stmts(&mut self, n: Node, parent: Option<FuncId>, class: Option<&str>) -> Vec<Stmt> {
        let mut out = Vec::new();
        for c in named_children(n) {
            self.stmt(c, parent, class, &mut out);
        }
        out
    }

    /// A statement that may or may not be a `{ block }`.
    fn body(&mut self, n: Option<Node>, parent: Option<FuncId>, class: Option<&str>) -> Vec<Stmt> {
        let mut out = Vec::new();
        if let Some(n) = n {
            self.stmt(n, parent, class, &mut out);
        }
        out
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
            "statement_block" | "else_clause" | "finally_clause" | "ERROR" | "switch_body"
            | "export_statement" | "labeled_statement" => {
                for c in named_children(n) {
                    self.stmt(c, parent, class, out);
                }
            }
            "expression_statement" => {
                for c in named_children(n) {
                    self.expr_stmt(c, parent, out);
                }
            }
            "lexical_declaration" | "variable_declaration" => {
                self.declaration(n, parent, class, out)
            }
            "function_declaration" | "generator_function_declaration" => {
                let fname = n
                    .child_by_field_name("name")
                    .map(|x| text(self.src, x).to_string())
                    .unwrap_or_else(|| "<anonymous>".into());
                let id = self.function(n, &fname, parent, class);
                out.push(Stmt::Def(id));
            }
            "class_declaration" | "class" => self.class(n, parent, out),
            "for_statement" => self.c_for(n, parent, class, out),
            "for_in_statement" => self.for_in(n, parent, class, out),
            "while_statement" | "do_statement" => {
                let cond = match n.child_by_field_name("condition") {
                    Some(c) => self.expr(c, parent),
                    None => Expr::new(ExprKind::Const, span(n)),
                };
                let body = self.body(n.child_by_field_name("body"), parent, class);
                out.push(Stmt::While {
                    cond,
                    body,
                    span: span(n),
                });
            }
            "if_statement" => {
                let cond = match n.child_by_field_name("condition") {
                    Some(c) => self.expr(c, parent),
                    None => Expr::new(ExprKind::Const, span(n)),
                };
                let then = self.body(n.child_by_field_name("consequence"), parent, class);
                let els = self.body(n.child_by_field_name("alternative"), parent, class);
                out.push(Stmt::If { cond, then, els });
            }
            "switch_statement" => self.switch(n, parent, class, out),
            "try_statement" => {
                out.extend(self.body(n.child_by_field_name("body"), parent, class));
                if let Some(h) = n.child_by_field_name("handler") {
                    out.extend(self.body(h.child_by_field_name("body"), parent, class));
                }
                if let Some(f) = n.child_by_field_name("finalizer") {
                    self.stmt(f, parent, class, out);
                }
            }
            "return_statement" | "throw_statement" => {
                let e = named_children(n).first().map(|c| self.expr(*c, parent));
                if n.kind() == "return_statement" {
                    out.push(Stmt::Return(e));
                } else if let Some(e) = e {
                    out.push(Stmt::Expr(e));
                }
            }
            "break_statement" => out.push(Stmt::Break),
            "continue_statement" => out.push(Stmt::Continue),
            "comment" | "empty_statement" | "import_statement" | "debugger_statement"
            | "hash_bang_line" => {}
            _ => {
                let e = self.expr(n, parent);
                out.push(Stmt::Expr(e));
            }
        }
    }

    /// `let x = ...`, `const f = () => ...`: assignments, or definitions of functions.
    fn declaration(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        out: &mut Vec<Stmt>,
    ) {
        for d in named_children(n) {
            if d.kind() != "variable_declarator" {
                continue;
            }
            let Some(name) = d.child_by_field_name("name") else {
                continue;
            };
            let Some(value) = d.child_by_field_name("value") else {
                continue;
            };
            if matches!(value.kind(), "arrow_function" | "function_expression")
                && name.kind() == "identifier"
            {
                let fname = text(self.src, name).to_string();
                let id = self.function(value, &fname, parent, class);
                out.push(Stmt::Def(id));
                continue;
            }
            let target = self.expr(name, parent);
            let value = self.expr(value, parent);
            out.push(Stmt::Assign {
                targets: vec![target],
                op: None,
                value,
                span: span(d),
            });
        }
    }

    /// `class A { m() {} }`: one function per method.
    fn class(&mut self, n: Node, parent: Option<FuncId>, out: &mut Vec<Stmt>) {
        let cname = n
            .child_by_field_name("name")
            .map(|x| text(self.src, x).to_string())
            .unwrap_or_default();
        if let Some(b) = n.child_by_field_name("body") {
            for m in named_children(b) {
                if m.kind() == "method_definition" {
                    let mname = m
                        .child_by_field_name("name")
                        .map(|x| text(self.src, x).to_string())
                        .unwrap_or_default();
                    let id = self.function(m, &mname, parent, Some(&cname));
                    out.push(Stmt::Def(id));
                }
            }
        }
    }

    /// `for (init; cond; update)`.
    fn c_for(&mut self, n: Node, parent: Option<FuncId>, class: Option<&str>, out: &mut Vec<Stmt>) {
        let init = self.body(n.child_by_field_name("initializer"), parent, class);
        let cond = n
            .child_by_field_name("condition")
            .and_then(|c| {
                if c.kind() == "expression_statement" {
                    named_children(c).first().copied()
                } else if c.kind() == "empty_statement" || c.kind() == ";" {
                    None
                } else {
                    Some(c)
                }
            })
            .map(|c| self.expr(c, parent));
        let mut update = Vec::new();
        if let Some(u) = n.child_by_field_name("increment") {
            if u.kind() == "sequence_expression" {
                for c in named_children(u) {
                    self.expr_stmt(c, parent, &mut update);
                }
            } else {
                self.expr_stmt(u, parent, &mut update);
            }
        }
        let body = self.body(n.child_by_field_name("body"), parent, class);
        out.push(Stmt::CFor {
            init,
            cond,
            update,
            body,
            span: span(n),
        });
    }

    /// `for (const x of xs)` / `for (const k in o)`.
    fn for_in(
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
        let is_in = n
            .child_by_field_name("operator")
            .is_some_and(|o| text(self.src, o) == "in");
        let mut iter = match n.child_by_field_name("right") {
            Some(r) => self.expr(r, parent),
            None => Expr::new(ExprKind::Const, span(n)),
        };
        if is_in {
            // `for (k in obj)` iterates the keys: as many as the object has.
            let sp = iter.span;
            iter = Expr::new(
                ExprKind::Call {
                    func: Box::new(Expr::new(
                        ExprKind::Attr {
                            obj: Box::new(Expr::new(ExprKind::Name("Object".into()), sp)),
                            name: "keys".into(),
                        },
                        sp,
                    )),
                    args: vec![iter],
                },
                sp,
            );
        }
        let body = self.body(n.child_by_field_name("body"), parent, class);
        out.push(Stmt::For {
            targets,
            iter,
            body,
            span: span(n),
        });
    }

    /// `switch`: its cases as branches.
    fn switch(
        &mut self,
        n: Node,
        parent: Option<FuncId>,
        class: Option<&str>,
        out: &mut Vec<Stmt>,
    ) {
        if let Some(v) = n.child_by_field_name("value") {
            let e = self.expr(v, parent);
            out.push(Stmt::Expr(e));
        }
        if let Some(b) = n.child_by_field_name("body") {
            for case in named_children(b) {
                // Each case is a branch: model as `if (?) {...}`.
                let mut inner = Vec::new();
                for s in named_children(case) {
                    if Some(s) == case.child_by_field_name("value") {
                        continue;
                    }
                    self.stmt(s, parent, class, &mut inner);
                }
                out.push(Stmt::If {
                    cond: Expr::new(ExprKind::Const, span(case)),
                    then: inner,
                    els: Vec::new(),
                });
            }
        }
    }

    fn expr_stmt(&mut self, c: Node, parent: Option<FuncId>, out: &mut Vec<Stmt>) {
        match c.kind() {
            "assignment_expression" => self.assignment_stmt(c, parent, out),
            "augmented_assignment_expression" => self.augmented_stmt(c, parent, out),
            "update_expression" => {
                let inc = text(self.src, c).contains("++");
                let Some(arg) = c.child_by_field_name("argument") else {
                    return;
                };
                let target = self.expr(arg, parent);
                out.push(Stmt::Assign {
                    targets: vec![target],
                    op: Some(if inc { BinOp::Add } else { BinOp::Sub }),
                    value: Expr::new(ExprKind::Num(1), span(c)),
                    span: span(c),
                });
            }
            "sequence_expression" => {
                for x in named_children(c) {
                    self.expr_stmt(x, parent, out);
                }
            }
            "parenthesized_expression" if named_children(c).len() == 1 => {
                if let Some(x) = named_children(c).first() {
                    self.expr_stmt(*x, parent, out);
                }
            }
            _ => {
                let e = self.expr(c, parent);
                out.push(Stmt::Expr(e));
            }
        }
    }

    /// `a = b = value`: one assignment with several targets.
    fn assignment_stmt(&mut self, c: Node, parent: Option<FuncId>, out: &mut Vec<Stmt>) {
        let mut targets = Vec::new();
        let mut cur = c;
        loop {
            if let Some(l) = cur.child_by_field_name("left") {
                targets.push(self.expr(l, parent));
            }
            match cur.child_by_field_name("right") {
                Some(r) if r.kind() == "assignment_expression" => cur = r,
                Some(r) => {
                    // `obj.f = function () {}` / `f = () => {}`: a named function.
                    if matches!(r.kind(), "arrow_function" | "function_expression")
                        && targets.len() == 1
                        && let Some(l) = cur.child_by_field_name("left")
                    {
                        let fname = text(self.src, l).to_string();
                        let id = self.function(r, &fname, parent, None);
                        out.push(Stmt::Def(id));
                        return;
                    }
                    let value = self.expr(r, parent);
                    out.push(Stmt::Assign {
                        targets,
                        op: None,
                        value,
                        span: span(c),
                    });
                    return;
                }
                None => return,
            }
        }
    }

    /// `x op= value`.
    fn augmented_stmt(&mut self, c: Node, parent: Option<FuncId>, out: &mut Vec<Stmt>) {
        let op = c
            .child_by_field_name("operator")
            .map(|o| binop(text(self.src, o).trim_end_matches('=')))
            .unwrap_or(BinOp::Other);
        let target = match c.child_by_field_name("left") {
            Some(l) => self.expr(l, parent),
            None => return,
        };
        let value = match c.child_by_field_name("right") {
            Some(r) => self.expr(r, parent),
            None => return,
        };
        out.push(Stmt::Assign {
            targets: vec![target],
            op: Some(op),
            value,
            span: span(c),
        });
    }

    fn function(
        &mut self,
        n: Node,
        short: &str,
        parent: Option<FuncId>,
        class: Option<&str>,
    ) -> FuncId {
        self.function_full(n, short, parent, class, false)
    }

    fn function_full(
        &mut self,
        n: Node,
        short: &str,
        parent: Option<FuncId>,
        class: Option<&str>,
        anonymous: bool,
    ) -> FuncId {
        let name = match (parent, class) {
            (_, Some(c)) => format!("{c}.{short}"),
            (Some(p), None) => format!("{}.{}", self.prog.funcs[p].name, short),
            (None, None) => short.to_string(),
        };
        let mut params = Vec::new();
        if let Some(p) = n.child_by_field_name("parameter") {
            params.push(text(self.src, p).to_string());
        }
        if let Some(ps) = n.child_by_field_name("parameters") {
            for p in named_children(ps) {
                let id = match p.kind() {
                    "identifier" => Some(p),
                    "assignment_pattern" => p.child_by_field_name("left"),
                    "rest_pattern" => named_children(p).first().copied(),
                    _ => None,
                };
                params.push(
                    id.map(|i| text(self.src, i).to_string())
                        .unwrap_or_else(|| format!("<param{}>", params.len())),
                );
            }
        }
        let id = self.prog.funcs.len();
        self.prog.funcs.push(Func {
            name,
            params,
            body: Vec::new(),
            span: span(n),
            memo_decorator: false,
            parent,
            class: class.map(str::to_string),
            anonymous,
        });
        let body = match n.child_by_field_name("body") {
            Some(b) if b.kind() == "statement_block" => self.stmts(b, Some(id), None),
            Some(b) => {
                let e = self.expr(b, Some(id));
                vec![Stmt::Return(Some(e))]
            }
            None => Vec::new(),
        };
        self.prog.funcs[id].body = body;
        id
    }

    fn targets(&self, n: Node) -> Vec<String> {
        match n.kind() {
            "identifier" | "shorthand_property_identifier_pattern" => {
                vec![text(self.src, n).to_string()]
            }
            _ => {
                let mut v = Vec::new();
                for c in named_children(n) {
                    v.extend(self.targets(c));
                }
                v
            }
        }
    }

    fn children_exprs(&mut self, n: Node, parent: Option<FuncId>) -> Vec<Expr> {
        named_children(n)
            .into_iter()
            .map(|c| self.expr(c, parent))
            .collect()
    }

    fn field(&mut self, n: Node, f: &str, parent: Option<FuncId>) -> Expr {
        match n.child_by_field_name(f) {
            Some(c) => self.expr(c, parent),
            None => Expr::new(ExprKind::Const, span(n)),
        }
    }

    pub fn expr(&mut self, n: Node, parent: Option<FuncId>) -> Expr {
        if self.depth > MAX_DEPTH {
            return Expr::new(ExprKind::Const, span(n));
        }
        self.depth += 1;
        let e = self.expr_inner(n, parent);
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self, n: Node, parent: Option<FuncId>) -> Expr {
        let sp = span(n);
        let kind = match n.kind() {
            "identifier" | "shorthand_property_identifier" | "this" => {
                ExprKind::Name(text(self.src, n).to_string())
            }
            "number" => match text(self.src, n).replace('_', "").parse::<i64>() {
                Ok(v) => ExprKind::Num(v),
                Err(_) => ExprKind::Const,
            },
            "string" | "template_string" | "regex" => ExprKind::Str,
            "true" | "false" | "null" | "undefined" => ExprKind::Const,
            "parenthesized_expression" => {
                let cs = named_children(n);
                if cs.len() == 1 {
                    return self.expr(cs[0], parent);
                }
                ExprKind::Other(self.children_exprs(n, parent))
            }
            "call_expression" | "new_expression" => self.call_expr(n, parent),
            "member_expression" => ExprKind::Attr {
                obj: Box::new(self.field(n, "object", parent)),
                name: n
                    .child_by_field_name("property")
                    .map(|p| text(self.src, p).to_string())
                    .unwrap_or_default(),
            },
            "subscript_expression" => ExprKind::Index {
                obj: Box::new(self.field(n, "object", parent)),
                index: Box::new(self.field(n, "index", parent)),
            },
            "binary_expression" => self.binary_expr(n, parent),
            "unary_expression" | "await_expression" | "yield_expression" => {
                match named_children(n).first() {
                    Some(c) => ExprKind::Unary(Box::new(self.expr(*c, parent))),
                    None => ExprKind::Const,
                }
            }
            "array_pattern" => ExprKind::Seq {
                kind: SeqKind::Tuple,
                items: self.children_exprs(n, parent),
            },
            "rest_pattern" => match named_children(n).first() {
                Some(c) => ExprKind::Spread(Box::new(self.expr(*c, parent))),
                None => ExprKind::Const,
            },
            "array" => ExprKind::Seq {
                kind: SeqKind::List,
                items: self.children_exprs(n, parent),
            },
            "object" => self.object_expr(n, parent),
            "spread_element" => match named_children(n).first() {
                Some(c) => ExprKind::Spread(Box::new(self.expr(*c, parent))),
                None => ExprKind::Const,
            },
            "arrow_function" | "function_expression" | "function" => {
                let id = self.function_full(n, "<anonymous>", parent, None, true);
                ExprKind::Lambda(id)
            }
            "ternary_expression" => ExprKind::Cond {
                c: Box::new(self.field(n, "condition", parent)),
                a: Box::new(self.field(n, "consequence", parent)),
                b: Box::new(self.field(n, "alternative", parent)),
            },
            "update_expression" => match n.child_by_field_name("argument") {
                Some(a) => ExprKind::IncDec(
                    Box::new(self.expr(a, parent)),
                    text(self.src, n).contains("++"),
                ),
                None => ExprKind::Const,
            },
            "assignment_expression" | "augmented_assignment_expression" => {
                // An assignment used as a value: keep its parts for costs.
                ExprKind::Other(self.children_exprs(n, parent))
            }
            _ => ExprKind::Other(self.children_exprs(n, parent)),
        };
        Expr::new(kind, sp)
    }

    /// A binary operator: arithmetic, comparison or logical.
    fn binary_expr(&mut self, n: Node, parent: Option<FuncId>) -> ExprKind {
        let op = n
            .child_by_field_name("operator")
            .map(|o| text(self.src, o))
            .unwrap_or("");
        let l = Box::new(self.field(n, "left", parent));
        let r = Box::new(self.field(n, "right", parent));
        let cmp = match op {
            "<" => Some(CmpOp::Lt),
            "<=" => Some(CmpOp::Le),
            ">" => Some(CmpOp::Gt),
            ">=" => Some(CmpOp::Ge),
            "==" | "===" => Some(CmpOp::Eq),
            "!=" | "!==" => Some(CmpOp::Ne),
            // `k in obj` is a property lookup: constant time.
            "in" | "instanceof" => Some(CmpOp::Other),
            _ => None,
        };
        match cmp {
            Some(op) => ExprKind::Cmp { op, l, r },
            None => ExprKind::Bin {
                op: binop(op),
                l,
                r,
            },
        }
    }

    /// An object literal: its values, as a dict.
    fn object_expr(&mut self, n: Node, parent: Option<FuncId>) -> ExprKind {
        let mut items = Vec::new();
        for p in named_children(n) {
            if p.kind() == "method_definition" {
                // `{ sum(xs) { ... } }`: a function of its own, reported by its key.
                let key = p
                    .child_by_field_name("name")
                    .map(|k| text(self.src, k).to_string())
                    .unwrap_or_default();
                let id = self.function_full(p, &key, parent, None, false);
                items.push(Expr::new(ExprKind::Lambda(id), span(p)));
            } else if p.kind() == "pair" {
                items.push(self.field(p, "value", parent));
            } else {
                items.push(self.expr(p, parent));
            }
        }
        ExprKind::Seq {
            kind: SeqKind::Dict,
            items,
        }
    }

    /// A call or `new`.
    fn call_expr(&mut self, n: Node, parent: Option<FuncId>) -> ExprKind {
        let is_new = n.kind() == "new_expression";
        let func = Box::new(self.field(n, if is_new { "constructor" } else { "function" }, parent));
        let args = match n.child_by_field_name("arguments") {
            Some(a) => self.children_exprs(a, parent),
            None => Vec::new(),
        };
        ExprKind::Call { func, args }
    }
}
