//! The library cost table: what calling a builtin, a standard-library function or a method
//! of a built-in type costs and returns. The names are data, one table per language
//! ([`python`], [`javascript`]); the rules they name are written once, here.

use super::*;

mod javascript;
mod methods;
mod python;
mod rules;

pub(super) use methods::Receiver;

/// A function called by name: `len(xs)`, `sorted(xs)`, `parseInt(s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Builtin {
    /// `len(x)`: the size of its argument, for free.
    Len,
    /// `range(n)`, `range(a, b)`, `range(b, a, -1)`.
    Range,
    /// `enumerate(x)`, `reversed(x)`: the same elements, for free.
    SameSize,
    /// `zip(a, b)`: as long as its arguments together.
    Zip,
    Sorted,
    /// `list(x)`, `set(x)`, `Map(x)`: an empty collection, or a copy of its argument.
    Collection(Kind),
    /// `defaultdict(list)`: always empty.
    EmptyCollection(Kind),
    /// `Array(n)` allocates `n` slots; `Array(xs)` copies.
    Array,
    Heapify,
    /// `sum(xs)`, `any(xs)`: one pass over a single argument.
    Scan,
    /// `max(xs)` scans; `max(a, b)` is constant.
    Extremum,
    /// `map(f, xs)`, `filter(f, xs)`: a list as long as `xs`.
    MapFilter,
    /// Reads input: a size of its own.
    Input,
    ToNumber,
    ToText,
    /// `heappush(h, x)` (grows the heap), `heappop(h)`: log of the heap.
    Heap {
        grows: bool,
    },
    /// `nlargest(k, xs)`: `n log k`.
    TopK,
    Bisect,
    Insort,
    /// Constant cost, a constant-size result.
    Constant,
}

/// A function called on a module or namespace: `math.floor(x)`, `Object.keys(o)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Static {
    /// `Math.floor(x)`: a number as big as its argument.
    Rounding,
    /// `Object.keys(o)`, `Array.from(xs)`: a list copied from the argument.
    Keys,
    /// `Object.entries(o)`: a copied list of pairs.
    Entries,
    /// `JSON.stringify(x)`: touches all of it.
    Serialize,
    /// `collections.deque(x)`, `heapq.heappush(h, x)`: as if called by bare name.
    ByName,
}

/// A method of a built-in type: `xs.append(x)`, `s.split()`, `m.get(k)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// Adds one element; `unshift` also shifts all the others.
    Insert {
        shifts: bool,
    },
    /// `xs.extend(ys)`: adds every element of the argument.
    Extend,
    /// `xs.concat(ys)`: a new list of both.
    Concat,
    /// `pop()` is constant; `pop(i)` shifts the rest of a list.
    Pop,
    Shift,
    /// `m.get(k)`: an element, for free.
    Get,
    /// Constant, answers a number (`has`, `popleft`, `isdigit`).
    Lookup,
    /// `remove(x)`: constant on a set, a scan on a list.
    Remove,
    /// `insert(i, x)`: shifts the list.
    InsertAt,
    /// Scans for an element: a number, in one pass.
    Search,
    /// Touches every element, answers a number (`startswith`).
    Measure,
    /// Touches every element, answers a copy (`lower`, `reverse`).
    Transform,
    Split,
    Join,
    /// `slice(a, b)`: copies the range (`b - a` when it is `a + w`).
    Slice,
    /// `substr(a, w)`: copies `w`.
    Substr,
    /// `d.keys()`: a view of the keys, for free.
    Keys,
    /// `d.items()`, `d.values()`: a view of the entries, for free.
    Entries,
    Sort,
    /// Reads input: a size of its own.
    Read,
    Repeat,
    Constant,
}

/// The names of one language's library.
pub(super) struct Library {
    pub(super) functions: &'static [(&'static str, Builtin)],
    /// Modules and namespaces called as `module.name(...)` (when no local shadows them).
    pub(super) modules: &'static [&'static str],
    /// Their functions with a rule of their own (`"*"`: every name); others are constant.
    pub(super) statics: &'static [(&'static str, &'static str, Static)],
    /// Methods that run a callback given as their first argument on every element.
    pub(super) callback_methods: &'static [&'static str],
    pub(super) methods: &'static [(&'static str, Method)],
}

impl Library {
    pub(super) fn of(python: bool) -> &'static Library {
        if python {
            &python::LIBRARY
        } else {
            &javascript::LIBRARY
        }
    }

    pub(super) fn function(&self, name: &str) -> Option<Builtin> {
        lookup(self.functions, name)
    }

    pub(super) fn is_module(&self, name: &str) -> bool {
        self.modules.contains(&name)
    }

    pub(super) fn static_fn(&self, module: &str, name: &str) -> Option<Static> {
        self.statics
            .iter()
            .find(|(m, n, _)| *m == module && (*n == name || *n == "*"))
            .map(|(_, _, r)| *r)
    }

    pub(super) fn runs_callback(&self, name: &str) -> bool {
        self.callback_methods.contains(&name)
    }

    pub(super) fn method(&self, name: &str) -> Option<Method> {
        lookup(self.methods, name)
    }
}

/// Tables are sorted by name (a unit test checks it): a binary search per call.
fn lookup<R: Copy>(table: &[(&str, R)], name: &str) -> Option<R> {
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .and_then(|i| table.get(i))
        .map(|(_, r)| *r)
}

/// What a library call gives: its value, its cost (`None`: depends on a size not known) and
/// the reason's words (empty: nothing worth a reason).
pub(super) type Charge = (Val, Option<Cost>, &'static str);

/// The arguments of a call, evaluated.
pub(super) struct Args<'a> {
    pub(super) exprs: &'a [Expr],
    pub(super) vals: &'a [Val],
}

impl Args<'_> {
    /// The value of argument `i`; a constant of unknown kind when it is missing.
    pub(super) fn val(&self, i: usize) -> Val {
        self.vals
            .get(i)
            .cloned()
            .unwrap_or_else(|| Val::one(Kind::Unknown))
    }

    pub(super) fn size(&self, i: usize) -> Option<Cost> {
        self.vals.get(i).and_then(|v| v.size.clone())
    }

    pub(super) fn len(&self) -> usize {
        self.exprs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_its_own_names() {
        let py = Library::of(true);
        let js = Library::of(false);
        assert_eq!(py.function("len"), Some(Builtin::Len));
        assert_eq!(js.function("len"), None);
        assert_eq!(js.function("parseInt"), Some(Builtin::ToNumber));
        assert_eq!(py.function("parseInt"), None);
        assert_eq!(py.method("append"), Some(Method::Insert { shifts: false }));
        assert_eq!(js.method("append"), None);
        assert_eq!(js.method("unshift"), Some(Method::Insert { shifts: true }));
        assert_eq!(py.static_fn("heapq", "heappush"), Some(Static::ByName));
        assert_eq!(js.static_fn("Math", "floor"), Some(Static::Rounding));
        assert_eq!(js.static_fn("Math", "max"), None);
        assert!(js.is_module("Math") && !py.is_module("Math"));
    }

    #[test]
    fn names_are_sorted_and_listed_once() {
        for lib in [Library::of(true), Library::of(false)] {
            for names in [
                lib.functions.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                lib.methods.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ] {
                let unsorted: Vec<_> = names.windows(2).filter(|w| w[0] >= w[1]).collect();
                assert!(unsorted.is_empty(), "out of order or twice: {unsorted:?}");
            }
        }
    }

    #[test]
    fn library_costs_in_context() {
        use crate::Language;
        let cost = |src: &str, lang| {
            let r = crate::analyze(src, lang);
            r.functions
                .first()
                .map(|f| f.complexity.clone())
                .unwrap_or_default()
        };
        let py = Language::Python;
        let js = Language::JavaScript;
        assert_eq!(
            cost("def f(xs):\n    return sorted(xs)\n", py),
            "O(n log n)"
        );
        assert_eq!(
            cost("def f(xs, k):\n    return heapq.nlargest(k, xs)\n", py),
            "O(n log k)"
        );
        assert_eq!(cost("def f(xs):\n    xs.insert(0, 1)\n", py), "O(n)");
        assert_eq!(cost("def f(xs):\n    return xs.pop()\n", py), "O(1)");
        assert_eq!(cost("function f(a) { a.unshift(1); }\n", js), "O(n)");
        assert_eq!(cost("function f(a) { a.push(1); }\n", js), "O(1)");
        assert_eq!(
            cost("function f(a) { return Object.keys(a); }\n", js),
            "O(n)"
        );
        // Another language's name is no library call: a helper of unknown cost.
        assert_eq!(cost("function f(a) { return sorted(a); }\n", js), "O(1)");
    }
}
