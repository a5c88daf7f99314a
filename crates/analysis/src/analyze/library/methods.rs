//! The rules for methods of built-in types: what `xs.append(x)`, `s.split()` or
//! `m.get(k)` cost, return, and do to the size of the object.

use super::*;

/// The object a method is called on.
pub(in crate::analyze) struct Receiver<'a> {
    /// Its name, when it is a plain local (`xs` in `xs.append(x)`): it may grow.
    pub(in crate::analyze) name: Option<String>,
    pub(in crate::analyze) val: &'a Val,
}

impl Analyzer<'_> {
    /// A method of the table called on `recv`.
    pub(in crate::analyze) fn method_rule(
        &mut self,
        f: &mut Frame,
        rule: Method,
        recv: &Receiver,
        args: &Args,
    ) -> Charge {
        let ov = recv.val;
        let osize = ov.size.clone();
        let set_like = matches!(ov.kind, Kind::Set | Kind::Dict);
        match rule {
            Method::Insert { shifts } => {
                if let Some(n) = &recv.name {
                    self.grow(f, n);
                }
                let c = if shifts && !set_like {
                    osize
                } else {
                    Some(Cost::one())
                };
                (Val::one(Kind::Num), c, "`unshift` shifts every element")
            }
            Method::Extend | Method::Concat => self.extend(f, rule, recv, args),
            Method::Pop => self.pop(ov, args),
            Method::Shift => (self.elem_of(ov), osize, "`shift` moves every element"),
            Method::Get => (self.elem_of(ov), Some(Cost::one()), ""),
            Method::Lookup => (Val::one(Kind::Num), Some(Cost::one()), ""),
            Method::Remove if set_like => (Val::one(Kind::Num), Some(Cost::one()), ""),
            Method::Remove | Method::Search => {
                (Val::one(Kind::Num), osize, "scans the whole sequence")
            }
            Method::InsertAt => {
                if let Some(n) = &recv.name {
                    self.grow(f, n);
                }
                (Val::one(Kind::Num), osize, "`insert` shifts the list")
            }
            Method::Measure => (Val::one(Kind::Num), osize, "touches every element"),
            Method::Transform => (ov.clone(), osize, "touches every element"),
            Method::Split => split(ov),
            Method::Join => {
                let v = Val {
                    kind: Kind::Str,
                    ..args.val(0)
                };
                (v, args.size(0), "joins every piece")
            }
            Method::Slice | Method::Substr => self.slice(f, rule, ov, args),
            Method::Keys | Method::Entries => {
                let mut v = ov.clone();
                v.kind = Kind::List;
                if rule == Method::Entries {
                    v.elem = None;
                }
                (v, Some(Cost::one()), "")
            }
            Method::Sort => {
                let c = osize.as_ref().map(|s| s.mul(&s.log(), &self.work));
                (ov.clone(), c, "sorting")
            }
            Method::Read => {
                // Input: its size is a variable of its own.
                let var = self.new_var("input", false);
                (Val::of(Kind::Str, Cost::var(var)), Some(Cost::one()), "")
            }
            Method::Repeat => (
                Val::of(Kind::Str, args.size(0).unwrap_or_else(Cost::one)),
                args.size(0),
                "repeats the string",
            ),
            Method::Constant => (Val::one(Kind::Num), Some(Cost::one()), ""),
        }
    }

    /// `pop()` takes the last element; `pop(i)` (not `pop(-1)`) shifts the rest of a list.
    fn pop(&mut self, ov: &Val, args: &Args) -> Charge {
        let from_front = args
            .vals
            .first()
            .is_some_and(|_| args.exprs.first().and_then(Expr::num) != Some(-1));
        let el = self.elem_of(ov);
        if from_front && !matches!(ov.kind, Kind::Set | Kind::Dict) {
            (el, ov.size.clone(), "`pop(i)` shifts the rest of the list")
        } else {
            (el, Some(Cost::one()), "")
        }
    }

    /// `xs.extend(ys)` grows `xs` by `ys`; `xs.concat(ys)` copies both.
    fn extend(&mut self, f: &mut Frame, rule: Method, recv: &Receiver, args: &Args) -> Charge {
        let osize = recv.val.size.clone();
        if let (Some(n), Some(s)) = (&recv.name, args.size(0))
            && let Some(cur) = f.env.get(n).cloned()
        {
            let mut nv = cur.clone();
            nv.size = grow(&cur.size, &f.loop_mult.mul(&s, &self.work));
            f.env.insert(n.clone(), nv);
        }
        let mut v = recv.val.clone();
        if rule == Method::Concat {
            v.size = join_sizes(&[osize.clone(), args.size(0)]);
            (v, join_sizes(&[osize, args.size(0)]), "copies")
        } else {
            (v, args.size(0), "adds every element")
        }
    }

    /// `s.slice(i, i + w)` copies `w`; `s.slice(i)` copies the rest (all of it, at worst).
    fn slice(&mut self, f: &mut Frame, rule: Method, ov: &Val, args: &Args) -> Charge {
        let mut v = ov.clone();
        v.mid = false;
        let width = if rule == Method::Substr {
            args.exprs.get(1)
        } else {
            fixed_width(args.exprs.first(), args.exprs.get(1))
        };
        let size = match width {
            Some(w) => {
                let mut g = Frame::new(f.func, f.env.clone());
                self.expr(&mut g, w).0.size
            }
            None => ov.size.clone(),
        };
        v.size = size.clone();
        (v, size, "copies")
    }
}

/// `s.split()`: a list of pieces, each at most as long as `s`.
fn split(ov: &Val) -> Charge {
    let mut v = ov.clone();
    v.kind = Kind::List;
    v.elem = Some(Box::new(Val::of(
        Kind::Str,
        ov.size.clone().unwrap_or_else(Cost::one),
    )));
    (v, ov.size.clone(), "splits the whole string")
}
