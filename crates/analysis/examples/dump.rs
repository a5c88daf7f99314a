//! Prints the report of each file given, as the server would send it:
//! `cargo run -p peercode-analysis --example dump -- FILE...`.

use std::path::Path;

use peercode_analysis::{Language, analyze};

fn main() {
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        let Ok(lang) = Language::from_path(path) else {
            eprintln!("{arg}: unknown language");
            continue;
        };
        let Ok(src) = std::fs::read_to_string(path) else {
            eprintln!("{arg}: cannot read");
            continue;
        };
        let r = analyze(&src, lang);
        println!("== {arg}");
        for f in r.functions.iter().chain(std::iter::once(&r.top_level)) {
            println!(
                "{} [{}-{}] {} depth={} {}",
                f.name,
                f.line_start,
                f.line_end,
                f.complexity,
                f.max_loop_depth,
                f.unknown_reason.clone().unwrap_or_default()
            );
            for why in &f.reasons {
                println!("    line {}-{}: {}", why.line_start, why.line_end, why.text);
            }
        }
        for e in &r.parse_errors {
            println!("  parse error line {}: {}", e.line_start, e.text);
        }
    }
}
