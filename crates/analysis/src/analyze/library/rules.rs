//! The rules the library tables name: the value and cost of each kind of library call.

use super::*;

impl Analyzer<'_> {
    /// A function of the table called by name (heap operations excepted: see `heap_op`).
    pub(in crate::analyze) fn builtin(
        &mut self,
        f: &mut Frame,
        rule: Builtin,
        args: &Args,
    ) -> Charge {
        let size = |i: usize| args.size(i);
        match rule {
            Builtin::Len => (
                Val::of(Kind::Num, size(0).unwrap_or_else(Cost::one)),
                None,
                "",
            ),
            Builtin::Range => (range(args), None, ""),
            Builtin::SameSize => (args.val(0), None, ""),
            Builtin::Zip => {
                let mut v = args.val(0);
                v.size = join_sizes(&args.vals.iter().map(|a| a.size.clone()).collect::<Vec<_>>());
                (v, None, "")
            }
            Builtin::Sorted => {
                let mut v = args.val(0);
                v.kind = Kind::List;
                (v, size(0).map(|s| s.mul(&s.log(), &self.work)), "sorting")
            }
            Builtin::Collection(kind) => collection(kind, args, "copies its argument"),
            Builtin::EmptyCollection(kind) => (Val::one(kind), None, ""),
            Builtin::Heapify => collection(Kind::List, args, "`heapify`"),
            Builtin::Array => {
                let count = args.vals.first().is_some_and(|a| {
                    !matches!(a.kind, Kind::List | Kind::Str | Kind::Set | Kind::Dict)
                });
                if args.len() > 0 && count {
                    // new Array(n)
                    let v = Val::of(Kind::List, size(0).unwrap_or_else(Cost::one));
                    (v, size(0), "allocates")
                } else {
                    collection(Kind::List, args, "copies its argument")
                }
            }
            Builtin::Scan | Builtin::Extremum if args.len() == 1 => {
                let el = self.elem_of(&args.val(0));
                let v = Val::of(Kind::Num, el.size.unwrap_or_else(Cost::one));
                (v, size(0), "scans its argument")
            }
            // `sum(a, start)`: a helper of unknown result; `max(a, b)`: a constant.
            Builtin::Scan => (Val::unknown(), None, ""),
            Builtin::Extremum | Builtin::Constant => (Val::one(Kind::Unknown), None, ""),
            Builtin::MapFilter => {
                let mut v = args.val(1);
                v.kind = Kind::List;
                (v, None, "")
            }
            Builtin::Input => {
                let var = self.new_var("input", false);
                (Val::of(Kind::Str, Cost::var(var)), None, "")
            }
            Builtin::ToNumber => {
                let mut v = args.val(0);
                v.kind = Kind::Num;
                v.elem = None;
                (v, None, "")
            }
            Builtin::ToText => (Val::one(Kind::Str), None, ""),
            Builtin::TopK => {
                let k = size(0).unwrap_or_else(Cost::one);
                let c = size(1).map(|s| s.mul(&k.log(), &self.work));
                (Val::of(Kind::List, k), c, "`nlargest`/`nsmallest`")
            }
            Builtin::Bisect => (
                Val::one(Kind::Num),
                size(0).map(|s| s.log()),
                "binary search",
            ),
            Builtin::Insort => {
                if let Some(h) = args.exprs.first().and_then(|a| a.name()) {
                    self.grow(f, h);
                }
                (Val::one(Kind::Unknown), size(0), "`insort` shifts the list")
            }
            // Handled by `heap_op`, which also names the heap in the reason.
            Builtin::Heap { .. } => (Val::one(Kind::Unknown), None, ""),
        }
    }

    /// `module.name(...)` on a module of the table.
    pub(in crate::analyze) fn static_fn(&mut self, rule: Option<Static>, args: &Args) -> Charge {
        match rule {
            Some(Static::Rounding) => {
                let mut v = args.val(0);
                v.kind = Kind::Num;
                (v, None, "")
            }
            Some(rule @ (Static::Keys | Static::Entries)) => {
                let mut v = args.val(0);
                v.kind = Kind::List;
                if rule == Static::Entries {
                    v.elem = None;
                }
                (v, args.size(0), "copies its argument")
            }
            Some(Static::Serialize) => {
                (Val::one(Kind::Str), args.size(0), "serializes its argument")
            }
            // Rerouted by the caller before it gets here.
            Some(Static::ByName) | None => (Val::one(Kind::Num), None, ""),
        }
    }

    /// `heappush(h, x)` and friends: log of the heap's size.
    pub(in crate::analyze) fn heap_op(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        grows: bool,
        args: &Args,
        cost: Cost,
    ) -> (Val, Cost) {
        let hname = args
            .exprs
            .first()
            .and_then(|h| h.name())
            .map(str::to_string);
        if grows && let Some(h) = &hname {
            self.grow(f, h);
        }
        let sz = match &hname {
            Some(h) => f.env.get(h).and_then(|v| v.size.clone()),
            None => args.size(0),
        };
        let el = args
            .vals
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
}

/// `range(n)`, `range(a, b)`: at most `b` numbers; `range(b, a, -1)`: at most `b`.
fn range(args: &Args) -> Val {
    let negative = args
        .exprs
        .get(2)
        .is_some_and(|s| matches!(s.kind, ExprKind::Unary(_)) || s.num().is_some_and(|v| v < 0));
    let sz = if args.len() <= 1 || negative {
        args.size(0)
    } else {
        args.size(1)
    };
    let mut v = Val::of(Kind::List, Cost::one());
    v.size = sz;
    v.elem = Some(Box::new(Val::of(
        Kind::Num,
        v.size.clone().unwrap_or_else(Cost::one),
    )));
    v
}

/// An empty collection of `kind`, or one copied from the first argument.
fn collection(kind: Kind, args: &Args, why: &'static str) -> Charge {
    if args.len() == 0 {
        return (Val::one(kind), None, "");
    }
    let mut v = args.val(0);
    v.kind = kind;
    v.mid = false;
    if kind == Kind::Dict || kind == Kind::Set {
        v.elem = None;
    }
    (v, args.size(0), why)
}
