//! Calls: the library cost table (Python builtins and methods, JavaScript arrays, strings,
//! maps and sets, heaps), callbacks run per element, and calls to the file's own functions
//! with the arguments' sizes put in for the parameters.

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
                        (v, s.map(|s| s.mul(&s.log(), &self.work)), "sorting")
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
                        } else if n == "Array"
                            && avals.first().is_some_and(|a| {
                                !matches!(a.kind, Kind::List | Kind::Str | Kind::Set | Kind::Dict)
                            })
                        {
                            // new Array(n)
                            (
                                Val::of(Kind::List, size(0).unwrap_or_else(Cost::one)),
                                size(0),
                                "allocates",
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
                            s.map(|s| s.mul(&k.log(), &self.work)),
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

    pub(super) fn heap_op(
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
    pub(super) fn static_call(
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
    pub(super) fn method(
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
                    nv.size = grow(&cur.size, &f.loop_mult.mul(&s, &self.work));
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
                let width = if name == "substr" {
                    args.get(1)
                } else {
                    fixed_width(args.first(), args.get(1))
                };
                let size = match width {
                    Some(w) => {
                        let mut g = Frame::new(f.func, f.env.clone());
                        self.expr(&mut g, w).0.size
                    }
                    None => osize,
                };
                v.size = size.clone();
                (v, size, "copies")
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
                let c = osize.as_ref().map(|s| s.mul(&s.log(), &self.work));
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
        if self.work.exhausted() {
            f.set_unknown(format!(
                "the cost of calling `{name}` grows too large to work out"
            ));
            return (Val::one(Kind::Unknown), cost);
        }
        let c = match callee_cost.subst(&|v| map.get(&v).cloned().flatten(), &self.work) {
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
                    sz.subst(&|x| map.get(&x).cloned().flatten(), &self.work)
                        .ok()
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

pub(super) fn arg_val(avals: &[Val], i: usize) -> Val {
    avals
        .get(i)
        .cloned()
        .unwrap_or_else(|| Val::one(Kind::Unknown))
}
