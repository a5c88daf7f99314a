//! Big-O expressions over named size variables, and their one canonical notation.
//!
//! A [`Cost`] is a sum of [`Term`]s with every dominated term dropped; a term is a product
//! of per-variable factors `n^a · log^b n · c^n · n!`. Notation (what the corpus compares):
//! `O(1)`, `O(log n)`, `O(n)`, `O(n log n)`, `O(n^2)`, `O(n^2 log n)`, `O(log^2 n)`,
//! `O(n·m)`, `O(n + m)`, `O(n log k)`, `O(n·m log m)`, `O(2^n)`, `O(n·2^n)`, `O(n!)`,
//! `O(n·n!)`. Within one variable the power comes first, then its log (joined by a space),
//! then the exponential, then the factorial (joined by `·`); variables are joined by `·` in
//! naming order (n, m, k, …), except that a variable present only as a log goes last after a
//! space (`n log k`); terms of a sum are joined by ` + `, biggest first, ties in naming order.

use std::collections::BTreeMap;

/// How fast one factor grows: (factorial, exponential base, power, log), compared in order.
type GrowthKey = (u32, u32, u32, u32);

/// Most terms a sum keeps (only pathological input comes near it).
const MAX_TERMS: usize = 24;

/// Term products one analysis may compute before giving up on growing costs (a 300-line
/// file uses a few thousand; the budget is well under a second of work).
const WORK_BUDGET: u64 = 2_000_000;

/// Term products one substitution of arguments into a callee's cost may compute.
const SUBST_BUDGET: u64 = 50_000;

/// The work budget of one analysis: term products computed so far, so that pathological
/// input (costs raised through chains of calls) cannot take seconds. Every operation that
/// multiplies costs is handed it; a `Cell` so that shared borrows of the analyser can
/// charge it.
#[derive(Debug, Default)]
pub(crate) struct Work(std::cell::Cell<u64>);

impl Work {
    fn charge(&self, products: u64) {
        self.0.set(self.0.get().saturating_add(products));
    }

    /// Term products computed so far.
    pub fn spent(&self) -> u64 {
        self.0.get()
    }

    /// The whole analysis has used up its budget.
    pub fn exhausted(&self) -> bool {
        self.spent() > WORK_BUDGET
    }
}

/// Identifies a size variable (an index into the analyser's `syms`).
pub(crate) type Var = usize;

/// The growth of one term in one variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub(crate) struct Factor {
    /// `n!` (compared first: it grows fastest).
    pub fact: u32,
    /// `base^n`, 0 when absent.
    pub exp_base: u32,
    pub pow: u32,
    pub log: u32,
}

impl Factor {
    fn is_one(&self) -> bool {
        *self == Factor::default()
    }

    fn mul(self, o: Factor) -> Factor {
        // Saturating: hostile input can nest and chain costs without end.
        Factor {
            fact: self.fact.saturating_add(o.fact),
            exp_base: match (self.exp_base, o.exp_base) {
                (0, b) | (b, 0) => b,
                (a, b) => a.saturating_mul(b),
            },
            pow: self.pow.saturating_add(o.pow),
            log: self.log.saturating_add(o.log),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub(crate) struct Term(pub BTreeMap<Var, Factor>);

impl Term {
    pub fn var(v: Var) -> Term {
        Term::single(
            v,
            Factor {
                pow: 1,
                ..Default::default()
            },
        )
    }

    pub fn single(v: Var, f: Factor) -> Term {
        let mut m = BTreeMap::new();
        if !f.is_one() {
            m.insert(v, f);
        }
        Term(m)
    }

    fn mul(&self, o: &Term) -> Term {
        let mut m = self.0.clone();
        for (v, f) in &o.0 {
            let e = m.entry(*v).or_default();
            *e = e.mul(*f);
        }
        m.retain(|_, f| !f.is_one());
        Term(m)
    }

    /// `self` grows at least as fast as `o` in every variable.
    fn dominates(&self, o: &Term) -> bool {
        o.0.iter()
            .all(|(v, f)| self.0.get(v).is_some_and(|g| g >= f))
    }
}

/// A sum of terms; the empty sum is not used: `O(1)` is the sum of the empty term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Cost(pub Vec<Term>);

impl Cost {
    pub fn one() -> Cost {
        Cost(vec![Term::default()])
    }

    pub fn var(v: Var) -> Cost {
        Cost(vec![Term::var(v)])
    }

    pub fn single(v: Var, f: Factor) -> Cost {
        Cost(vec![Term::single(v, f)])
    }

    pub fn is_one(&self) -> bool {
        self.0.iter().all(|t| t.0.is_empty())
    }

    fn normalize(mut terms: Vec<Term>) -> Cost {
        terms.sort();
        terms.dedup();
        if terms.len() > MAX_TERMS {
            // Only absurd input gets here: keep the fastest-growing terms.
            terms.sort_by_key(|t| {
                std::cmp::Reverse(
                    t.0.values()
                        .map(|f| (f.fact, f.exp_base, f.pow, f.log))
                        .max(),
                )
            });
            terms.truncate(MAX_TERMS);
        }
        let mut keep: Vec<Term> = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let dominated = terms
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o != t && o.dominates(t));
            if !dominated {
                keep.push(t.clone());
            }
        }
        if keep.is_empty() {
            keep.push(Term::default());
        }
        Cost(keep)
    }

    pub fn add(&self, o: &Cost) -> Cost {
        let mut v = self.0.clone();
        v.extend(o.0.iter().cloned());
        Cost::normalize(v)
    }

    pub fn mul(&self, o: &Cost, w: &Work) -> Cost {
        w.charge((self.0.len() * o.0.len()) as u64);
        let mut v = Vec::new();
        for a in &self.0 {
            for b in &o.0 {
                v.push(a.mul(b));
            }
        }
        Cost::normalize(v)
    }

    pub fn pow(&self, k: u32, w: &Work) -> Cost {
        if let [t] = self.0.as_slice() {
            // One term: scale its exponents.
            let mut m = BTreeMap::new();
            for (v, f) in &t.0 {
                m.insert(
                    *v,
                    Factor {
                        fact: f.fact.saturating_mul(k),
                        exp_base: if f.exp_base == 0 {
                            0
                        } else {
                            f.exp_base.saturating_pow(k)
                        },
                        pow: f.pow.saturating_mul(k),
                        log: f.log.saturating_mul(k),
                    },
                );
            }
            return if k == 0 {
                Cost::one()
            } else {
                Cost(vec![Term(m)])
            };
        }
        let mut r = Cost::one();
        // (a + b)^k has the same biggest terms as (a + b)^min(k, 4) raised term by term.
        for _ in 0..k.min(4) {
            r = r.mul(self, w);
        }
        if k > 4 {
            let rest = Cost(
                self.0
                    .iter()
                    .map(|t| Cost(vec![t.clone()]).pow(k - 4, w).0[0].clone())
                    .collect(),
            );
            r = r.mul(&Cost::normalize(rest.0), w);
        }
        r
    }

    /// `log` of this size: `log(n^2·m) = log n + log m`; `log(2^n) = n`.
    pub fn log(&self) -> Cost {
        let mut v = Vec::new();
        for t in &self.0 {
            for (var, f) in &t.0 {
                if f.exp_base > 0 || f.fact > 0 {
                    v.push(Term::single(
                        *var,
                        Factor {
                            pow: 1,
                            log: u32::from(f.fact > 0),
                            ..Default::default()
                        },
                    ));
                } else if f.pow > 0 {
                    v.push(Term::single(
                        *var,
                        Factor {
                            log: 1,
                            ..Default::default()
                        },
                    ));
                } else if f.log > 0 {
                    // log log n: too small to matter next to anything else.
                }
            }
        }
        Cost::normalize(v)
    }

    /// `base^self`, for a size that is one variable to the first power; `None` otherwise.
    pub fn exp(&self, base: u32, w: &Work) -> Option<Cost> {
        let mut out = Cost::one();
        for t in &self.0 {
            for (v, f) in &t.0 {
                if f.pow != 1 || f.log != 0 || f.exp_base != 0 || f.fact != 0 {
                    return None;
                }
                out = out.mul(
                    &Cost::single(
                        *v,
                        Factor {
                            exp_base: base,
                            ..Default::default()
                        },
                    ),
                    w,
                );
            }
        }
        Some(out)
    }

    /// `self!`, for a single variable.
    pub fn factorial(&self, w: &Work) -> Option<Cost> {
        let mut out = Cost::one();
        for t in &self.0 {
            for (v, f) in &t.0 {
                if f.pow != 1 || f.log != 0 || f.exp_base != 0 || f.fact != 0 {
                    return None;
                }
                out = out.mul(
                    &Cost::single(
                        *v,
                        Factor {
                            fact: 1,
                            ..Default::default()
                        },
                    ),
                    w,
                );
            }
        }
        Some(out)
    }

    /// The variables this cost mentions.
    pub fn vars(&self) -> Vec<Var> {
        let mut v: Vec<Var> = self.0.iter().flat_map(|t| t.0.keys().copied()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The largest power of `n` in any term, and the logs beside it (for the master theorem).
    pub fn degree(&self) -> (u32, u32) {
        let mut best = (0, 0);
        for t in &self.0 {
            let p: u32 = t.0.values().map(|f| f.pow).sum();
            let l: u32 = t.0.values().map(|f| f.log).sum();
            if (p, l) > best {
                best = (p, l);
            }
        }
        best
    }

    /// Drops the terms that known bounds make redundant: with `k <= n`, `n + k` is `n`.
    /// A term goes only when, with each bounded variable raised to its bound, another term
    /// still covers it.
    pub fn drop_bounded(&self, le: &[(Var, Var)]) -> Cost {
        if le.is_empty() || self.0.len() < 2 {
            return self.clone();
        }
        let raised = |t: &Term| -> Term {
            let mut m: BTreeMap<Var, Factor> = BTreeMap::new();
            for (v, f) in &t.0 {
                let to = le
                    .iter()
                    .find(|(small, _)| small == v)
                    .map(|(_, big)| *big)
                    .unwrap_or(*v);
                let e = m.entry(to).or_default();
                *e = e.mul(*f);
            }
            Term(m)
        };
        let keep: Vec<Term> = self
            .0
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                let r = raised(t);
                !self
                    .0
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != *i && o.dominates(&r))
            })
            .map(|(_, t)| t.clone())
            .collect();
        if keep.is_empty() {
            self.clone()
        } else {
            Cost(keep)
        }
    }

    pub fn has_exp(&self) -> bool {
        self.0
            .iter()
            .any(|t| t.0.values().any(|f| f.exp_base > 0 || f.fact > 0))
    }

    /// Replaces each variable by a cost (`None` keeps it). Gives up (`Err`) once this
    /// substitution has computed more than its share of term products.
    pub fn subst(&self, f: &dyn Fn(Var) -> Option<Cost>, w: &Work) -> Result<Cost, Var> {
        let limit = w.spent().saturating_add(SUBST_BUDGET);
        let mut total: Option<Cost> = None;
        for t in &self.0 {
            let mut prod = Cost::one();
            for (v, fac) in &t.0 {
                if w.spent() > limit {
                    return Err(*v);
                }
                let Some(c) = f(*v) else {
                    prod = prod.mul(&Cost::single(*v, *fac), w);
                    continue;
                };
                let mut part = c.pow(fac.pow, w);
                if fac.log > 0 {
                    part = part.mul(&c.log().pow(fac.log, w), w);
                }
                if fac.exp_base > 0 {
                    if c.is_one() {
                        // base^constant is a constant.
                    } else {
                        part = part.mul(&c.exp(fac.exp_base, w).ok_or(*v)?, w);
                    }
                }
                if fac.fact > 0 && !c.is_one() {
                    part = part.mul(&c.factorial(w).ok_or(*v)?, w);
                }
                prod = prod.mul(&part, w);
            }
            total = Some(match total {
                None => prod,
                Some(t) => t.add(&prod),
            });
        }
        Ok(total.unwrap_or_else(Cost::one))
    }

    /// `O(...)` with the given variable names.
    pub fn render(&self, name: &dyn Fn(Var) -> String, order: &dyn Fn(Var) -> usize) -> String {
        let mut terms: Vec<(Vec<GrowthKey>, String)> = Vec::new();
        for t in &self.0 {
            let mut vars: Vec<(&Var, &Factor)> = t.0.iter().collect();
            vars.sort_by_key(|(v, _)| order(**v));
            // Polynomial, exponential and factorial parts first, joined by `·`; factors that
            // are only a log go last, after a space: `n log k`, `m log n`.
            let mut parts = Vec::new();
            let mut logs = Vec::new();
            for (v, f) in vars {
                let n = name(*v);
                let mut s = String::new();
                match f.pow {
                    0 => {}
                    1 => s.push_str(&n),
                    p => s.push_str(&format!("{n}^{p}")),
                }
                let log = match f.log {
                    0 => String::new(),
                    1 => format!("log {n}"),
                    l => format!("log^{l} {n}"),
                };
                let only_log = f.pow == 0 && f.exp_base == 0 && f.fact == 0;
                if only_log {
                    logs.push(log);
                    continue;
                }
                if !log.is_empty() {
                    s.push(' ');
                    s.push_str(&log);
                }
                let mut sub = Vec::new();
                if !s.is_empty() {
                    sub.push(s);
                }
                if f.exp_base > 0 {
                    sub.push(format!("{}^{n}", f.exp_base));
                }
                if f.fact > 0 {
                    sub.push(format!("{n}!"));
                }
                parts.push(sub.join("·"));
            }
            let key = {
                let mut k: Vec<GrowthKey> =
                    t.0.values()
                        .map(|f| (f.fact, f.exp_base, f.pow, f.log))
                        .collect();
                k.sort_unstable_by(|a, b| b.cmp(a));
                // Ties go by naming order (n before m).
                let first = t.0.keys().map(|v| order(*v)).min().unwrap_or(0);
                k.push((0, 0, 0, u32::MAX - u32::try_from(first).unwrap_or(u32::MAX)));
                k
            };
            let mut s = parts.join("·");
            for l in logs {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(&l);
            }
            if s.is_empty() {
                s.push('1');
            }
            terms.push((key, s));
        }
        terms.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        terms.dedup_by(|a, b| a.1 == b.1);
        let body: Vec<String> = terms.into_iter().map(|(_, s)| s).collect();
        format!("O({})", body.join(" + "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(c: &Cost) -> String {
        let names = ["n", "m", "k"];
        c.render(&|v| names[v].to_string(), &|v| v)
    }

    #[test]
    fn notation() {
        let w = &Work::default();
        let n = Cost::var(0);
        let m = Cost::var(1);
        assert_eq!(show(&Cost::one()), "O(1)");
        assert_eq!(show(&n), "O(n)");
        assert_eq!(show(&n.log()), "O(log n)");
        assert_eq!(show(&n.mul(&n.log(), w)), "O(n log n)");
        assert_eq!(show(&n.mul(&n, w)), "O(n^2)");
        assert_eq!(show(&n.mul(&m, w)), "O(n·m)");
        assert_eq!(show(&n.add(&m)), "O(n + m)");
        assert_eq!(show(&n.add(&n.mul(&n, w))), "O(n^2)");
        assert_eq!(show(&n.exp(2, w).unwrap_or_else(Cost::one)), "O(2^n)");
        assert_eq!(
            show(&n.factorial(w).unwrap_or_else(Cost::one).mul(&n, w)),
            "O(n·n!)"
        );
        assert_eq!(show(&m.mul(&n.log(), w)), "O(m log n)");
        assert_eq!(show(&n.mul(&m, w).mul(&m.log(), w)), "O(n·m log m)");
        assert_eq!(show(&n.log().mul(&m.log(), w)), "O(log n log m)");
        assert_eq!(show(&n.add(&Cost::one())), "O(n)");
        // With m <= n: n + m is n, n·m stays (no other term covers it).
        assert_eq!(show(&n.add(&m).drop_bounded(&[(1, 0)])), "O(n)");
        assert_eq!(show(&n.mul(&m, w).drop_bounded(&[(1, 0)])), "O(n·m)");
        assert_eq!(
            show(&n.mul(&n, w).add(&n.mul(&m, w)).drop_bounded(&[(1, 0)])),
            "O(n^2)"
        );
    }
}

#[cfg(test)]
mod work_tests {
    use super::*;

    #[test]
    fn products_are_charged_to_the_work_they_are_handed() {
        let w = Work::default();
        let sum = Cost::var(0).add(&Cost::var(1));
        let _ = sum.mul(&sum, &w);
        assert_eq!(w.spent(), 4);
        assert!(!w.exhausted());
        let other = Work::default();
        let _ = sum.mul(&sum, &other);
        assert_eq!(w.spent(), 4, "each analysis counts its own work");
    }

    #[test]
    fn a_substitution_gives_up_past_its_budget() {
        let nine = Factor {
            pow: 9,
            ..Default::default()
        };
        // 24 terms, each four of ten variables to the 9th: x0^9·x1^9·x2^9·x3^9 + ...
        let mut terms = Vec::new();
        'fill: for a in 0..10 {
            for b in a + 1..10 {
                for c in b + 1..10 {
                    for d in c + 1..10 {
                        terms.push(Term([a, b, c, d].into_iter().map(|v| (v, nine)).collect()));
                        if terms.len() == MAX_TERMS {
                            break 'fill;
                        }
                    }
                }
            }
        }
        let cost = Cost(terms);
        // Each variable becomes a sum of seven: tens of thousands of products per term.
        let seven = (20..27).fold(Cost::one(), |c, v| c.add(&Cost::var(v)));
        let w = Work::default();
        assert!(cost.subst(&|_| Some(seven.clone()), &w).is_err());
        assert!(w.spent() > SUBST_BUDGET);
        // The same cost with each variable renamed: a few products, well within it.
        let w = Work::default();
        assert!(cost.subst(&|v| Some(Cost::var(v + 100)), &w).is_ok());
        assert!(w.spent() < 1_000, "{}", w.spent());
    }
}
