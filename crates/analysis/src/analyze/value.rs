//! What the walk knows of a value: its kind, its symbolic size, its elements.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Unknown,
    Num,
    Str,
    List,
    Set,
    Dict,
    Deque,
}

/// What the analysis knows of a value.
#[derive(Debug, Clone)]
pub(super) struct Val {
    pub(super) kind: Kind,
    /// Length of a collection or magnitude of a number; `None` when it cannot be told.
    pub(super) size: Option<Cost>,
    /// The value of its elements, when known.
    pub(super) elem: Option<Box<Val>>,
    /// A function value (lambda or named function).
    pub(super) func: Option<FuncId>,
    /// A number computed as the middle of two others (`(lo + hi) // 2`).
    pub(super) mid: bool,
    /// A collection built by filtering another (`[x for x in a if x < p]`): a part of it.
    pub(super) part_of: Option<String>,
}

impl Val {
    pub(super) fn of(kind: Kind, size: Cost) -> Val {
        Val {
            kind,
            size: Some(size),
            elem: None,
            func: None,
            mid: false,
            part_of: None,
        }
    }
    pub(super) fn one(kind: Kind) -> Val {
        Val::of(kind, Cost::one())
    }
    pub(super) fn unknown() -> Val {
        Val {
            kind: Kind::Unknown,
            size: None,
            elem: None,
            func: None,
            mid: false,
            part_of: None,
        }
    }
}

/// The size after growing inside loops running `mult` times in all.
pub(super) fn grow(cur: &Option<Cost>, mult: &Cost) -> Option<Cost> {
    cur.as_ref().map(|c| c.add(mult))
}

/// The larger of several sizes (their sum, in Big-O); `None` if any is unknown.
pub(super) fn join_sizes(sizes: &[Option<Cost>]) -> Option<Cost> {
    let mut out = Cost::one();
    for s in sizes {
        out = out.add(s.as_ref()?);
    }
    Some(out)
}
