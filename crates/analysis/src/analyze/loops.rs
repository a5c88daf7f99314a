//! Loops: the shared walk of a loop body run `count` times, `for` loops, comprehensions, and
//! collections trimmed back to a bound inside a loop.

use super::*;

/// The parts of one `for` statement.
#[derive(Clone, Copy)]
struct ForLoop<'a> {
    targets: &'a [String],
    iter: &'a Expr,
    body: &'a [Stmt],
    span: Span,
}

impl Analyzer<'_> {
    /// Enters a loop running `count` times: returns the cost of the body run that often.
    pub(super) fn loop_body(
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
            f.rec_loop_counts.push(RecLoop {
                count: count.clone(),
                iter: info.iter.clone(),
                pushed,
            });
        }
        let one = Cost::one();
        f.loop_mult = f
            .loop_mult
            .mul(if charge { count } else { &one }, &self.work);
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
            count.mul(&body_cost, &self.work)
        } else {
            body_cost
        };
        (total, has_rec)
    }

    pub(super) fn for_loop(
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
        if let Some(g) = self.neighbour_lists(f, iter, &iv) {
            let l = ForLoop {
                targets,
                iter,
                body,
                span,
            };
            let once = self.over_all_nodes(f, &l, &count, &elem, g);
            return ic.add(&once);
        }
        let enumerate = is_call_to(iter, "enumerate") || is_call_to(iter, "entries");
        let from_param = is_call_to(iter, "range")
            && matches!(&iter.kind, ExprKind::Call { args, .. } if args.len() >= 2 && args[0].name().is_some_and(|a| self.is_param(f, a)));
        let bound = self.target_values(targets, iter, &elem, enumerate, &idx_val);
        let info = LoopInfo {
            iter: Some(iter.clone()),
            targets: targets.to_vec(),
            count: Cost::one(),
            from_param,
        };
        let (total, _) = self.loop_body(f, &count, body, info, |f| {
            for (name, v) in bound {
                f.env.insert(name, v);
            }
        });
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
    pub(super) fn iteration(
        &mut self,
        _f: &mut Frame,
        iter: &Expr,
        iv: &Val,
    ) -> Option<(Cost, Val)> {
        let count = iv.size.clone()?;
        let elem = if is_call_to(iter, "range") {
            Val::of(Kind::Num, count.clone())
        } else {
            self.elem_of(iv)
        };
        Some((count, elem))
    }

    pub(super) fn comprehension(
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
            let c = self.enter_generator(f, g, &count, &mut cost);
            count = count.mul(&c, &self.work);
            f.loop_mult = f.loop_mult.mul(&c, &self.work);
            f.depth += 1;
            f.max_depth = f.max_depth.max(f.depth);
            for cnd in &g.conds {
                let (_, cc) = self.expr(f, cnd);
                cost = cost.add(&count.mul(&cc, &self.work));
            }
            if !g.conds.is_empty() {
                filtered_from = g.iter.name().map(str::to_string);
            }
        }
        let mut elem = None;
        for x in elt {
            let (v, c) = self.expr(f, x);
            cost = cost.add(&count.mul(&c, &self.work));
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

    /// Collections a loop body trims back to a bound: `if len(h) > k: heappop(h)`.
    pub(super) fn find_caps(&mut self, f: &mut Frame, body: &[Stmt]) {
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

    /// `for v in graph[u]` inside a traversal of `graph` (or a loop over its nodes): the
    /// size variable of its nodes, whose neighbour lists add up to the edges.
    fn neighbour_lists(&self, f: &Frame, iter: &Expr, iv: &Val) -> Option<Var> {
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
            return Some(g);
        }
        None
    }

    /// A loop over the neighbours of each node: run once per node, E times in all, charged
    /// once per function call. Returns the cost of one run.
    fn over_all_nodes(
        &mut self,
        f: &mut Frame,
        l: &ForLoop,
        count: &Cost,
        elem: &Val,
        g: Var,
    ) -> Cost {
        let ForLoop {
            targets,
            iter,
            body,
            span,
        } = *l;
        self.mark_graph(g);
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
        let total = count.mul(&once, &self.work);
        f.amortized = f.amortized.add(&total);
        let what = self.text(iter.span);
        self.reason(
            f,
            span,
            &format!("loop over `{what}`, all nodes together"),
            count.clone(),
        );
        once
    }

    /// What each loop target is bound to: the index for `enumerate`'s first, a part of the
    /// element when a tuple is unpacked (`for dr, dc in pairs`), else the element.
    fn target_values(
        &mut self,
        targets: &[String],
        iter: &Expr,
        el: &Val,
        enumerate: bool,
        index: &Val,
    ) -> Vec<(String, Val)> {
        let destructures = targets.len() > 1
            && !enumerate
            && !["zip", "items", "entries"]
                .iter()
                .any(|n| is_call_to(iter, n));
        let part = if destructures {
            self.elem_of(el)
        } else {
            el.clone()
        };
        targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let v = if enumerate && i == 0 {
                    index.clone()
                } else {
                    part.clone()
                };
                (t.clone(), v)
            })
            .collect()
    }

    /// One `for` of a comprehension, run `count` times: charges its iterable, binds its
    /// targets and answers how often it runs.
    fn enter_generator(
        &mut self,
        f: &mut Frame,
        g: &Generator,
        count: &Cost,
        cost: &mut Cost,
    ) -> Cost {
        let (iv, ic) = self.expr(f, &g.iter);
        *cost = cost.add(&count.mul(&ic, &self.work));
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
        let index = Val::of(Kind::Num, c.clone());
        for (t, v) in self.target_values(&g.targets, &g.iter, &el, enumerate, &index) {
            f.env.insert(t, v);
        }
        c
    }
}
