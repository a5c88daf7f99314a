//! How a `while` loop's condition reaches false. Each recogniser lives in a module of its
//! own and looks at one [`WhileCx`]; they are tried in a fixed order and the first that
//! recognises the loop decides.

use super::*;

mod amortised;
mod graph;
mod halving;
mod sequence;
mod two_pointers;
mod worklist;

/// A recognised loop: how often it runs and why.
#[derive(Debug)]
pub(super) struct Pattern {
    pub(super) count: Cost,
    /// The reason, without the loop keyword (`binary search: ...`).
    pub(super) text: String,
    /// Runs `count` times in total across the enclosing loop, not per iteration.
    pub(super) amortized: bool,
    /// Counters to bind to the loop's range while walking the body.
    pub(super) movers: Vec<String>,
}

impl Pattern {
    /// Runs `count` times each time the loop is reached.
    fn each_time(count: Cost, text: String) -> Pattern {
        Pattern {
            count,
            text,
            amortized: false,
            movers: Vec::new(),
        }
    }
}

/// What one recogniser says of a loop.
#[derive(Debug)]
enum Match {
    /// Not this pattern: try the next recogniser.
    No,
    Found(Pattern),
    /// This pattern, but its bound cannot be told: the loop's count is unknown.
    Unknown,
}

impl Match {
    /// `Found` if the bound is known, else `Unknown`.
    fn bounded(count: Option<Cost>, pattern: impl FnOnce(Cost) -> Pattern) -> Match {
        match count {
            Some(c) => Match::Found(pattern(c)),
            None => Match::Unknown,
        }
    }
}

/// What every recogniser reads of one `while` loop.
pub(super) struct WhileCx<'a> {
    pub(super) cond: &'a Expr,
    pub(super) body: &'a [Stmt],
    /// How the body (and calls in the condition) change each name.
    pub(super) updates: HashMap<String, Vec<Update>>,
    /// Comparisons in the condition, as (smaller side, larger side).
    pub(super) cmps: Vec<(&'a Expr, &'a Expr)>,
    /// Operands tested for truth (`while queue`, `while node`).
    pub(super) truthy: Vec<&'a Expr>,
    /// The loop sits inside another loop of the same function.
    pub(super) in_outer_loop: bool,
    /// Names plainly assigned in the body, with how often.
    inner_assigned: HashMap<String, usize>,
}

impl<'a> WhileCx<'a> {
    pub(super) fn new(f: &Frame, cond: &'a Expr, body: &'a [Stmt]) -> WhileCx<'a> {
        let mut updates: HashMap<String, Vec<Update>> = HashMap::new();
        let mut derivs = Derivations {
            mids: f.mids.clone(),
            ..Default::default()
        };
        collect_updates(body, &mut updates, &mut derivs);
        collect_calls(cond, &mut updates);
        let mut cmps: Vec<(&Expr, &Expr)> = Vec::new();
        let mut truthy: Vec<&Expr> = Vec::new();
        split_cond(cond, &mut cmps, &mut truthy);
        WhileCx {
            cond,
            body,
            updates,
            cmps,
            truthy,
            in_outer_loop: f.depth > 0,
            inner_assigned: assigned_names(body),
        }
    }

    /// `name` is updated, and only in ways `ok` accepts.
    pub(super) fn clean(&self, name: &str, ok: &dyn Fn(&Update) -> bool) -> bool {
        self.updates
            .get(name)
            .is_some_and(|u| !u.is_empty() && u.iter().all(ok))
    }

    /// `name` is updated at least once in a way `want` accepts.
    pub(super) fn any(&self, name: &str, want: &dyn Fn(&Update) -> bool) -> bool {
        self.updates.get(name).is_some_and(|u| u.iter().any(want))
    }

    /// Reset by the enclosing loop: assigned there other than inside this loop.
    pub(super) fn assigned_in_outer(&self, name: &str, f: &Frame) -> bool {
        let inner = self.inner_assigned.get(name).copied().unwrap_or(0);
        f.loop_assigned
            .iter()
            .any(|s| s.get(name).copied().unwrap_or(0) > inner)
    }

    /// The truth-tested operands, then both sides of each comparison.
    pub(super) fn operands(&self) -> impl Iterator<Item = &'a Expr> + '_ {
        self.truthy
            .iter()
            .copied()
            .chain(self.cmps.iter().flat_map(|(l, r)| [*l, *r]))
    }
}

/// One recogniser: looks at the loop, may evaluate expressions in the frame.
type Recogniser = fn(&mut Analyzer<'_>, &mut Frame, &WhileCx<'_>) -> Match;

/// In the order they are tried: a more specific shape before a more general one.
const RECOGNISERS: [Recogniser; 9] = [
    halving::binary_search,
    halving::scaled,
    halving::divided,
    graph::worklist,
    amortised::forward_pointer,
    two_pointers::counters,
    sequence::shrinking,
    sequence::linked,
    worklist::worklist,
];

impl Analyzer<'_> {
    /// Recognises how a `while` loop's condition reaches false; `None` when no recogniser
    /// can tell.
    pub(super) fn while_pattern(
        &mut self,
        f: &mut Frame,
        cond: &Expr,
        body: &[Stmt],
    ) -> Option<Pattern> {
        let cx = WhileCx::new(f, cond, body);
        for recognise in RECOGNISERS {
            match recognise(self, f, &cx) {
                Match::No => continue,
                Match::Found(p) => return Some(p),
                Match::Unknown => return None,
            }
        }
        None
    }
}

/// `log size`, or constant for a constant size.
fn log_or_one(size: &Cost) -> Cost {
    if size.is_one() {
        Cost::one()
    } else {
        size.log()
    }
}

/// Test helper: the report of the one function in `src`.
#[cfg(test)]
fn only_function(src: &str, lang: crate::Language) -> crate::FunctionReport {
    let r = crate::analyze(src, lang);
    match r.functions.as_slice() {
        [f] => f.clone(),
        other => panic!("expected one function, got {other:?}"),
    }
}

/// Test helper: the complexity of the one function in `src` and whether a reason that
/// contains `text` explains it.
#[cfg(test)]
fn explained(src: &str, lang: crate::Language, text: &str) -> (String, bool) {
    let f = only_function(src, lang);
    let found = f.reasons.iter().any(|r| r.text.contains(text));
    (f.complexity, found)
}
