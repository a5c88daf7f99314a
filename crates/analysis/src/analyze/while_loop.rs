//! `while` loops (and C-style `for`): the recognised pattern gives the iteration count; an
//! amortized one is charged once over the enclosing loop.

use super::patterns::Pattern;
use super::*;

impl Analyzer<'_> {
    pub(super) fn while_loop(
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
        let Pattern {
            count,
            text,
            amortized,
            movers,
        } = match self.while_pattern(f, cond, body) {
            Some(p) => p,
            None => {
                f.set_unknown(format!(
                    "cannot tell how many times the {kw} loop on line {} runs",
                    span.line_start
                ));
                Pattern {
                    count: Cost::one(),
                    text: String::new(),
                    amortized: false,
                    movers: Vec::new(),
                }
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
            let total = count.mul(&per, &self.work);
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
        total.add(&count.mul(&cond_cost, &self.work))
    }
}
