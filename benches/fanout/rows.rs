//! Rows of samples and the table they print as.

use crate::cores;
use crate::cpu::Sample;

/// min / median / max.
pub fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

pub struct Row {
    pub name: String,
    pub samples: Vec<Sample>,
}

impl Row {
    pub fn wall(&self) -> (f64, f64, f64) {
        stats(&self.samples.iter().map(|s| s.wall).collect::<Vec<_>>())
    }
    pub fn med(&self, f: impl Fn(&Sample) -> f64) -> f64 {
        stats(&self.samples.iter().map(f).collect::<Vec<_>>()).1
    }
}

pub fn print_rows(n: usize, rows: &[Row]) {
    let c = cores() as f64;
    println!();
    println!(
        "| N={n:<4} {:<44} | wall min / median / max (s) | client CPU (s) | sshd farm CPU (s) | CPU floor (s) | wall/floor | peak RSS (MiB) |",
        ""
    );
    println!("|{}|---|---|---|---|---|---|", "-".repeat(52));
    for row in rows {
        let (lo, med, hi) = row.wall();
        let client = row.med(|s| s.client_cpu);
        let farm = row.med(|s| s.farm_cpu);
        let floor = (client + farm) / c;
        let rss = row.samples.iter().map(|s| s.rss_kb).max().unwrap_or(0);
        let (farm, floor, ratio) = if farm.is_nan() {
            ("–".to_owned(), "–".to_owned(), "–".to_owned())
        } else {
            (
                format!("{farm:.3}"),
                format!("{floor:.3}"),
                format!("{:.2}", med / floor.max(1e-9)),
            )
        };
        println!(
            "| {:<50} | {lo:.3} / {med:.3} / {hi:.3} | {client:.3} | {farm} | {floor} | {ratio} | {} |",
            row.name,
            if rss == 0 {
                "–".to_owned()
            } else {
                format!("{:.1}", rss as f64 / 1024.0)
            }
        );
    }
}
