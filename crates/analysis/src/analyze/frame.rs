//! The state of the walk through one function body: the environment, the loops around the
//! current statement, and what has been found so far.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct RecCall {
    pub(super) args: Vec<Expr>,
    pub(super) span: Span,
    /// Iterable of the innermost loop around the call, when there is one.
    pub(super) in_loop: Option<LoopInfo>,
}

#[derive(Debug, Clone)]
pub(super) struct LoopInfo {
    pub(super) iter: Option<Expr>,
    pub(super) targets: Vec<String>,
    /// How many times it runs.
    pub(super) count: Cost,
    /// It starts from a parameter (`range(start, n)`): the shape of subset enumeration.
    pub(super) from_param: bool,
}

/// A loop whose body calls the function itself.
#[derive(Debug, Clone)]
pub(super) struct RecLoop {
    /// How often it runs.
    pub(super) count: Cost,
    /// What it iterates (`graph[node]`), when it is a `for`.
    pub(super) iter: Option<Expr>,
    /// Names it pushes to (the path of a backtracking search).
    pub(super) pushed: Vec<String>,
}

/// State while walking one function body.
pub(super) struct Frame {
    pub(super) func: Option<FuncId>,
    pub(super) env: HashMap<String, Val>,
    /// Product of the iteration counts of the loops around the current statement.
    pub(super) loop_mult: Cost,
    /// Names plainly assigned inside each enclosing loop body (outermost first).
    pub(super) loop_assigned: Vec<HashMap<String, usize>>,
    /// Plain copies `a = b` in each enclosing loop body (outermost first).
    pub(super) loop_copies: Vec<Vec<(String, String)>>,
    pub(super) loops: Vec<LoopInfo>,
    pub(super) depth: usize,
    pub(super) max_depth: usize,
    pub(super) reasons: Vec<RawReason>,
    pub(super) unknown: Option<String>,
    /// Costs paid once per function call however deep they sit (amortized loops).
    pub(super) amortized: Cost,
    pub(super) rec_calls: Vec<RecCall>,
    /// When false, a loop whose body recurses counts its body once (structural recursion
    /// charges the loop to the children instead).
    pub(super) charge_rec_loops: bool,
    /// Loops whose body recurses.
    pub(super) rec_loop_counts: Vec<RecLoop>,
    /// Locals assigned the middle of a range: `mid = (lo + hi) // 2`.
    pub(super) mids: HashSet<String>,
    /// Inside a graph traversal with a visited set: the adjacency collection, whose
    /// per-node loops add up to the edges instead of multiplying.
    pub(super) graph_loop: Option<String>,
    /// The value the function returns (sizes in its own variables).
    pub(super) ret: Option<Val>,
    /// Collections trimmed to a bound inside a loop (a heap of the k best).
    pub(super) caps: HashMap<String, Cost>,
    /// Locals holding half of something (`mid = len(a) // 2`): cutting there halves.
    pub(super) halves: HashSet<String>,
}

impl Frame {
    pub(super) fn new(func: Option<FuncId>, env: HashMap<String, Val>) -> Frame {
        Frame {
            func,
            env,
            loop_mult: Cost::one(),
            loop_assigned: Vec::new(),
            loop_copies: Vec::new(),
            loops: Vec::new(),
            depth: 0,
            max_depth: 0,
            reasons: Vec::new(),
            unknown: None,
            amortized: Cost::one(),
            rec_calls: Vec::new(),
            charge_rec_loops: true,
            rec_loop_counts: Vec::new(),
            mids: HashSet::new(),
            graph_loop: None,
            halves: HashSet::new(),
            caps: HashMap::new(),
            ret: None,
        }
    }

    pub(super) fn set_unknown(&mut self, why: String) {
        if self.unknown.is_none() {
            self.unknown = Some(why);
        }
    }
}
