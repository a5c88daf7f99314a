//! Static Big-O estimates for Python and JavaScript (SPEC F5).
//!
//! [`analyze`] parses a file with tree-sitter, lowers it to a small language-neutral tree
//! ([`ir`]), and walks it with cost rules ([`analyze`](mod@analyze)): loops, halving loops,
//! two pointers, library costs, calls between the file's functions and recursion. Each
//! function gets a complexity in one canonical notation (see [`complexity`]), its deepest
//! loop nesting, and the reasons tied to line ranges. Code that does not parse still gets a
//! report: rooms are analysed while people type.
//!
//! Size variables are named so the answer reads like a person's: a number parameter with a
//! one-letter name keeps it (`fib(n)` is `O(2^n)`); every other size (a list's length, the
//! rows of a grid, a string read from input) takes the first free letter of `n, m, k, p, q,
//! r, s, t` in the order its parameter appears; a graph explored with a visited set has
//! `V` and `E`.

mod analyze;
mod complexity;
mod ir;
mod lower_js;
mod lower_python;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::analyze::{Analyzer, RawReason, Summary};
use crate::complexity::Var;

/// A language the analyser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    JavaScript,
}

/// What went wrong choosing a language.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("unsupported language `{0}` (expected python or javascript)")]
    UnknownLanguage(String),
    #[error(
        "cannot tell the language of `{0}` from its extension (expected .py, .js, .mjs or .cjs)"
    )]
    UnknownExtension(String),
}

impl Language {
    /// `python`/`py` or `javascript`/`js` (any case).
    pub fn from_name(name: &str) -> Result<Language, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Ok(Language::Python),
            "javascript" | "js" | "node" => Ok(Language::JavaScript),
            _ => Err(Error::UnknownLanguage(name.to_string())),
        }
    }

    /// From a file's extension: `.py`, `.js`, `.mjs`, `.cjs`, `.jsx`.
    pub fn from_path(path: &Path) -> Result<Language, Error> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("py") => Ok(Language::Python),
            Some("js" | "mjs" | "cjs" | "jsx") => Ok(Language::JavaScript),
            _ => Err(Error::UnknownExtension(path.display().to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
        }
    }
}

/// A line range with a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// 1-based, inclusive.
    pub line_start: usize,
    pub line_end: usize,
    pub text: String,
}

/// The estimate for one function (or the top-level code, named `<module>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionReport {
    /// Qualified: `outer.inner`, `Class.method`.
    pub name: String,
    pub line_start: usize,
    pub line_end: usize,
    /// `O(...)` in the canonical notation, or `"unknown"`.
    pub complexity: String,
    /// Why the complexity is unknown (a sentence); `None` when it is known.
    pub unknown_reason: Option<String>,
    pub max_loop_depth: usize,
    /// What drives the cost, in source order.
    pub reasons: Vec<Reason>,
    /// What each size variable in `complexity` stands for (`n` → `len(nums)`).
    pub variables: Vec<Variable>,
}

/// What a size variable means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    pub name: String,
    pub meaning: String,
}

/// The analysis of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub language: Language,
    pub functions: Vec<FunctionReport>,
    pub top_level: FunctionReport,
    /// Where tree-sitter found syntax errors; the rest is still analysed.
    pub parse_errors: Vec<Reason>,
}

impl Report {
    /// The report of the function with this (qualified) name.
    pub fn function(&self, name: &str) -> Option<&FunctionReport> {
        self.functions.iter().find(|f| f.name == name)
    }
}

const UNKNOWN: &str = "unknown";

/// Analyses `source`. Never fails: code that does not parse yields `parse_errors` and an
/// analysis of what could be parsed.
pub fn analyze(source: &str, language: Language) -> Report {
    // The walk recurses through nested code and calls between functions; a thread of its
    // own with a generous stack keeps hostile input from overflowing the caller's (the
    // server's blocking pool has 2 MiB). The stack is reserved, not committed, up front.
    on_analysis_thread(source, language, || analyze_here(source, language))
}

/// What the report says when the analysis thread panicked.
const ANALYSER_FAILED: &str = "the analyser failed on this code";

/// Runs `run` on a thread of its own with [`ANALYSIS_STACK`]; a panic becomes a report
/// that says the analyser failed.
fn on_analysis_thread(
    source: &str,
    language: Language,
    run: impl Fn() -> Report + Send + Sync,
) -> Report {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("peercode-analyze".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(scope, &run);
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| failed(source, language, ANALYSER_FAILED)),
            // No thread to be had (resource limits): analyse on the caller's stack.
            Err(_) => run(),
        }
    })
}

/// A report that says nothing could be estimated, and why.
fn failed(source: &str, language: Language, why: &str) -> Report {
    let lines = source.lines().count().max(1);
    Report {
        language,
        functions: Vec::new(),
        top_level: FunctionReport {
            name: "<module>".into(),
            line_start: 1,
            line_end: lines,
            complexity: UNKNOWN.into(),
            unknown_reason: Some(why.into()),
            max_loop_depth: 0,
            reasons: Vec::new(),
            variables: Vec::new(),
        },
        parse_errors: Vec::new(),
    }
}

/// Stack of the analysis thread.
const ANALYSIS_STACK: usize = 64 * 1024 * 1024;

fn analyze_here(source: &str, language: Language) -> Report {
    let mut parser = tree_sitter::Parser::new();
    let lang: tree_sitter::Language = match language {
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
    };
    let lines = source.lines().count().max(1);
    // The whole file is the error's range: nothing could be parsed.
    let empty = |why: &str| {
        let mut report = failed(source, language, why);
        report.parse_errors.push(Reason {
            line_start: 1,
            line_end: lines,
            text: why.into(),
        });
        report
    };
    if parser.set_language(&lang).is_err() {
        return empty("the parser for this language could not be loaded");
    }
    let Some(tree) = parser.parse(source, None) else {
        return empty("the parser gave up on this file");
    };
    let root = tree.root_node();
    let mut parse_errors = Vec::new();
    collect_errors(root, &mut parse_errors);
    let prog = match language {
        Language::Python => {
            let mut l = lower_python::Lower::new(source.as_bytes());
            l.module(root);
            l.prog
        }
        Language::JavaScript => {
            let mut l = lower_js::Lower::new(source.as_bytes());
            l.program(root);
            l.prog
        }
    };
    let mut an = Analyzer::new(&prog, source, language == Language::Python);
    let top = an.module();
    let mut functions = Vec::new();
    for (id, f) in prog.funcs.iter().enumerate() {
        if f.anonymous {
            continue;
        }
        let s = an.summary(id);
        functions.push(render(&an, &f.name, f.span.line_start, f.span.line_end, &s));
    }
    let top_level = render(&an, "<module>", 1, lines, &top);
    Report {
        language,
        functions,
        top_level,
        parse_errors,
    }
}

fn collect_errors(root: tree_sitter::Node, out: &mut Vec<Reason>) {
    // Iterative: hostile input can nest far deeper than the stack allows.
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if out.len() >= 50 {
            return;
        }
        if n.is_error() || n.is_missing() {
            let text = if n.is_missing() {
                format!("syntax error: missing `{}`", n.kind())
            } else {
                "syntax error".to_string()
            };
            out.push(Reason {
                line_start: n.start_position().row + 1,
                line_end: n.end_position().row + 1,
                text,
            });
            continue;
        }
        if !n.has_error() {
            continue;
        }
        let mut c = n.walk();
        let children: Vec<_> = n.children(&mut c).collect();
        stack.extend(children.into_iter().rev());
    }
}

/// Gives the size variables their names and writes the report of one function.
fn render(
    an: &Analyzer,
    name: &str,
    line_start: usize,
    line_end: usize,
    s: &Summary,
) -> FunctionReport {
    let mut used: Vec<Var> = Vec::new();
    if let Ok(c) = &s.cost {
        used.extend(c.vars());
    }
    for r in &s.reasons {
        if let Some(c) = &r.cost {
            used.extend(c.vars());
        }
    }
    used.sort_by_key(|v| an.syms[*v].order);
    used.dedup();
    let names = name_vars(an, &used);
    let name_of = |v: Var| names.get(&v).cloned().unwrap_or_else(|| "n".into());
    let order_of = |v: Var| {
        let n = name_of(v);
        let letter = LETTERS
            .iter()
            .position(|l| *l == n)
            .unwrap_or(LETTERS.len());
        letter * 10_000 + used.iter().position(|u| *u == v).unwrap_or(9_999)
    };
    let (complexity, unknown_reason) = match &s.cost {
        Ok(c) => (c.render(&name_of, &order_of), None),
        Err(why) => (UNKNOWN.to_string(), Some(why.clone())),
    };
    let mut reasons: Vec<Reason> = s
        .reasons
        .iter()
        .map(|r: &RawReason| Reason {
            line_start: r.span.line_start,
            line_end: r.span.line_end,
            text: match &r.cost {
                Some(c) => format!("{}: {}", r.text, c.render(&name_of, &order_of)),
                None => r.text.clone(),
            },
        })
        .collect();
    reasons.sort_by_key(|r| (r.line_start, r.line_end));
    reasons.dedup();
    let mut variables: Vec<Variable> = used
        .iter()
        .map(|v| Variable {
            name: name_of(*v),
            meaning: meaning(
                &an.syms[*v].origin,
                an.syms[*v].is_number,
                an.syms[*v].graph,
            ),
        })
        .collect();
    variables.dedup();
    FunctionReport {
        name: name.to_string(),
        line_start,
        line_end,
        complexity,
        unknown_reason,
        max_loop_depth: s.max_depth,
        reasons,
        variables,
    }
}

fn meaning(origin: &str, is_number: bool, graph: Option<&str>) -> String {
    match (graph, origin.strip_suffix("[*]")) {
        (Some("E"), Some(base)) => {
            return format!("number of edges (all neighbour lists of `{base}`)");
        }
        (Some("V"), _) => return format!("number of nodes in `{origin}`"),
        _ => {}
    }
    if let Some(base) = origin.strip_suffix("[*]") {
        return format!("size of each element of `{base}`");
    }
    if is_number {
        format!("value of `{origin}`")
    } else {
        format!("size of `{origin}`")
    }
}

const LETTERS: [&str; 10] = ["n", "m", "k", "p", "q", "r", "s", "t", "u", "w"];

fn name_vars(an: &Analyzer, used: &[Var]) -> HashMap<Var, String> {
    let mut names: HashMap<Var, String> = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    for v in used {
        let info = &an.syms[*v];
        if let Some(g) = info.graph {
            names.insert(*v, g.to_string());
            taken.insert(g.to_string());
        } else if let Some(p) = info.preferred.clone().filter(|p| !taken.contains(p)) {
            names.insert(*v, p.clone());
            taken.insert(p);
        } else if info.is_number
            && info.origin.chars().count() == 1
            && info.origin.chars().all(|c| c.is_ascii_lowercase())
            && !taken.contains(&info.origin)
        {
            names.insert(*v, info.origin.clone());
            taken.insert(info.origin.clone());
        }
    }
    let mut next = LETTERS.iter();
    for v in used {
        if names.contains_key(v) {
            continue;
        }
        let name = loop {
            match next.next() {
                Some(l) if taken.contains(*l) => continue,
                Some(l) => break l.to_string(),
                None => break format!("n{v}"),
            }
        };
        taken.insert(name.clone());
        names.insert(*v, name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/robustness.rs` looks for this exact sentence to prove no input made the
    /// analyser fail; if it changes, change it there too.
    #[test]
    fn a_panic_becomes_a_report_that_says_the_analyser_failed() {
        let r = on_analysis_thread("x = 1\ny = 2\n", Language::Python, || {
            panic!("a bug in a cost rule")
        });
        assert_eq!(
            r.top_level.unknown_reason.as_deref(),
            Some("the analyser failed on this code")
        );
        assert_eq!(r.top_level.complexity, "unknown");
        assert_eq!((r.top_level.line_start, r.top_level.line_end), (1, 2));
        assert!(r.functions.is_empty());
    }
}
