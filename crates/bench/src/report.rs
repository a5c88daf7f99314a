//! The side-by-side results table, printed as Markdown for BENCHMARKS.md.

pub struct Cell(String);

impl Cell {
    pub fn num(v: f64, decimals: usize) -> Cell {
        Cell(format!("{v:.decimals$}"))
    }
    pub fn text(s: String) -> Cell {
        Cell(s)
    }
}

pub struct Report {
    servers: Vec<&'static str>,
    lines: Vec<String>,
}

impl Report {
    pub fn new(servers: Vec<&'static str>) -> Report {
        Report {
            servers,
            lines: Vec::new(),
        }
    }

    pub fn section(&mut self, title: &str) {
        let cols = self.servers.len() + 1;
        self.lines
            .push(format!("| **{title}** |{}", " |".repeat(cols)));
    }

    pub fn row(&mut self, metric: &str, target: &str, cells: Vec<Cell>) {
        let cells: Vec<String> = cells.into_iter().map(|c| c.0.replace('|', "/")).collect();
        self.lines
            .push(format!("| {metric} | {target} | {} |", cells.join(" | ")));
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("| | target | {} |\n", self.servers.join(" | "));
        out.push_str(&format!("|---|---|{}\n", "---|".repeat(self.servers.len())));
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}
