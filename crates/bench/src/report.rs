//! The side-by-side results table, printed as Markdown for BENCHMARKS.md. When both PeerCode
//! and the floor are in the table, a column gives PeerCode's figure over the floor's for
//! every numeric row (issue 15's targets are such ratios); when the two-instance cluster is
//! in it, columns give its figure over one instance's, on PostgreSQL and on SQLite (issue
//! 14's target is such a ratio).

pub struct Cell {
    text: String,
    /// The figure, for rows where PeerCode / floor means something.
    value: Option<f64>,
}

impl Cell {
    /// A figure with `decimals` decimals; it takes part in the PeerCode / floor ratio.
    pub fn num(v: f64, decimals: usize) -> Cell {
        Cell {
            text: format!("{v:.decimals$}"),
            value: Some(v),
        }
    }
    /// Text only (counts, pairs, verdicts): no ratio.
    pub fn text(s: String) -> Cell {
        Cell {
            text: s,
            value: None,
        }
    }
}

pub struct Report {
    servers: Vec<&'static str>,
    /// Ratio columns: (numerator's column, denominator's column, heading), for each pair
    /// present.
    ratios: Vec<(usize, usize, &'static str)>,
    lines: Vec<String>,
}

/// One instance on SQLite (the default `peercode serve`).
pub const PEERCODE: &str = "PeerCode";
pub const PEERCODE_PG: &str = "PeerCode, PostgreSQL";
pub const PEERCODE_CLUSTER: &str = "PeerCode ×2, PostgreSQL + Redis";
pub const FLOOR: &str = "floor (relay)";

/// The ratio columns, when both of their servers are in the table.
const RATIOS: [(&str, &str, &str); 3] = [
    (PEERCODE, FLOOR, "PeerCode / floor"),
    (PEERCODE_CLUSTER, PEERCODE_PG, "×2 / one, PostgreSQL"),
    (PEERCODE_CLUSTER, PEERCODE, "×2 / one on SQLite"),
];

impl Report {
    pub fn new(servers: Vec<&'static str>) -> Report {
        let at = |name: &str| servers.iter().position(|s| *s == name);
        let ratios = RATIOS
            .iter()
            .filter_map(|&(num, den, head)| Some((at(num)?, at(den)?, head)))
            .collect();
        Report {
            servers,
            ratios,
            lines: Vec::new(),
        }
    }

    fn columns(&self) -> usize {
        self.servers.len() + 1 + self.ratios.len()
    }

    pub fn section(&mut self, title: &str) {
        let cols = self.columns();
        self.lines
            .push(format!("| **{title}** |{}", " |".repeat(cols)));
    }

    pub fn row(&mut self, metric: &str, target: &str, cells: Vec<Cell>) {
        let value = |i: usize| cells.get(i).and_then(|c| c.value);
        let ratios: Vec<String> = self
            .ratios
            .iter()
            .map(|&(p, f, _)| match (value(p), value(f)) {
                (Some(p), Some(f)) if f > 0.0 => format!("{:.2}×", p / f),
                _ => String::new(),
            })
            .collect();
        let mut cells: Vec<String> = cells
            .into_iter()
            .map(|c| c.text.replace('|', "/"))
            .collect();
        cells.extend(ratios);
        self.lines
            .push(format!("| {metric} | {target} | {} |", cells.join(" | ")));
    }

    pub fn markdown(&self) -> String {
        let ratio_head: String = self.ratios.iter().map(|r| format!(" | {}", r.2)).collect();
        let mut out = format!("| | target | {}{ratio_head} |\n", self.servers.join(" | "));
        out.push_str(&format!("|---|---|{}\n", "---|".repeat(self.columns() - 1)));
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_column_divides_peercode_by_the_floor() {
        let mut r = Report::new(vec![PEERCODE, FLOOR, "y-websocket 2 (Node)"]);
        r.section("s");
        r.row(
            "p99",
            "≤ 1.5× floor",
            vec![Cell::num(30.0, 1), Cell::num(20.0, 1), Cell::num(99.0, 1)],
        );
        r.row(
            "count",
            "",
            vec![Cell::text("1".into()), Cell::num(2.0, 0), Cell::num(3.0, 0)],
        );
        let md = r.markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "| | target | PeerCode | floor (relay) | y-websocket 2 (Node) | PeerCode / floor |"
        );
        assert_eq!(lines[1], "|---|---|---|---|---|---|");
        assert_eq!(lines[2], "| **s** | | | | | |");
        assert_eq!(
            lines[3],
            "| p99 | ≤ 1.5× floor | 30.0 | 20.0 | 99.0 | 1.50× |"
        );
        assert_eq!(lines[4], "| count |  | 1 | 2 | 3 |  |");
    }

    #[test]
    fn the_cluster_is_divided_by_one_instance() {
        let mut r = Report::new(vec![PEERCODE, PEERCODE_PG, PEERCODE_CLUSTER]);
        r.row(
            "p99",
            "",
            vec![Cell::num(2.0, 0), Cell::num(4.0, 0), Cell::num(6.0, 0)],
        );
        let md = r.markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "| | target | PeerCode | PeerCode, PostgreSQL | PeerCode ×2, PostgreSQL + Redis \
             | ×2 / one, PostgreSQL | ×2 / one on SQLite |"
        );
        assert_eq!(lines[2], "| p99 |  | 2 | 4 | 6 | 1.50× | 3.00× |");
    }

    #[test]
    fn without_the_floor_there_is_no_ratio_column() {
        let mut r = Report::new(vec![PEERCODE, "y-websocket 2 (Node)"]);
        r.row("p99", "", vec![Cell::num(1.0, 0), Cell::num(2.0, 0)]);
        assert_eq!(r.markdown().lines().nth(2), Some("| p99 |  | 1 | 2 |"));
    }
}
