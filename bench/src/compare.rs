//! `--runs` and `--variant`: the same measurement repeated, the server as given and each
//! variant taking turns, then one summary. Why: on these 2-core machines pgbench's TPS and the
//! server's speed drift by a third within minutes (RESULTS.md), so one run of each of two
//! servers cannot tell a change worth 10% from the drift; runs alternated, compared by their
//! medians, can, and this saves writing the loop by hand each time.

use crate::report::Row;
use std::path::PathBuf;

/// A server to measure: the binary and its extra settings.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Variant {
    /// `NAME:KEY=VALUE[,KEY=VALUE…]`, where `binary=PATH` names another server binary and any
    /// other key is a server setting added to (or replacing one of) `base`'s. A value cannot
    /// hold a comma: such a setting goes in `--server-env`, for every server.
    pub fn parse(spec: &str, base: &Variant) -> Result<Self, String> {
        let (name, settings) = spec.split_once(':').ok_or("expected NAME:KEY=VALUE[,KEY=VALUE…]")?;
        if name.is_empty() {
            return Err("a variant needs a name before the ':'".into());
        }
        let mut v = Variant { name: name.to_owned(), ..base.clone() };
        for kv in settings.split(',').filter(|s| !s.is_empty()) {
            let (k, val) = kv.split_once('=').ok_or_else(|| format!("{kv:?}: expected KEY=VALUE"))?;
            if k == "binary" {
                v.binary = val.into();
            } else {
                v.env.retain(|(existing, _)| existing != k);
                v.env.push((k.to_owned(), val.to_owned()));
            }
        }
        Ok(v)
    }
}

/// One variant's measurements over the runs: each run's rows (pgbench first) and whether
/// `ledger verify` passed after it.
#[derive(Debug)]
pub struct Series {
    pub variant: Variant,
    pub runs: Vec<(Vec<Row>, bool)>,
}

/// The median and the range, `m (lo–hi)`; the mean of the middle two for an even count.
fn spread(mut xs: Vec<f64>, digits: usize) -> String {
    if xs.is_empty() {
        return "—".into();
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 };
    if n == 1 {
        return format!("{median:.digits$}");
    }
    format!("{median:.digits$} ({:.digits$}–{:.digits$})", xs[0], xs[n - 1])
}

impl Series {
    fn of(&self, workload: &str, f: impl Fn(&Row) -> Option<f64>) -> Vec<f64> {
        self.runs.iter().filter_map(|(rows, _)| rows.iter().find(|r| r.name == workload).and_then(&f)).collect()
    }

    /// Of the runs that measured `workload`, how many reached `target` times pgbench's TPS.
    fn met(&self, workload: &str, target: f64) -> (usize, usize) {
        let ratios = self.of(workload, |r| r.ratio);
        (ratios.iter().filter(|x| **x >= target).count(), ratios.len())
    }
}

/// Medians and ranges over the runs, one line per variant; then how many runs met each
/// workload's target (`(name, ratio to pgbench)`).
pub fn print(series: &[Series], workloads: &[(&str, f64)]) {
    println!("\nSummary: median (lowest–highest) over the runs of each, taken in turns\n");
    let mut head = String::from("| server | runs | verify ok | pgbench TPS |");
    let mut rule = String::from("| --- | ---: | ---: | ---: |");
    for (w, _) in workloads {
        head.push_str(&format!(" {w} transfers/s | {w} × | {w} p99 ms | {w} machine µs per transfer |"));
        rule.push_str(" ---: | ---: | ---: | ---: |");
    }
    println!("{head}\n{rule}");
    for s in series {
        let ok = s.runs.iter().filter(|(_, verified)| *verified).count();
        let mut line = format!(
            "| {} | {} | {ok} | {} |",
            s.variant.name,
            s.runs.len(),
            spread(s.runs.iter().filter_map(|(rows, _)| rows.first().map(|r| r.per_second)).collect(), 0)
        );
        for (w, _) in workloads {
            line.push_str(&format!(
                " {} | {} | {} | {} |",
                spread(s.of(w, |r| Some(r.per_second)), 0),
                spread(s.of(w, |r| r.ratio), 2),
                spread(s.of(w, |r| r.p99), 1),
                spread(s.of(w, |r| r.diagnosis.map(|d| d.machine_cores * 1e6 / r.per_second.max(1e-9))), 1),
            ));
        }
        println!("{line}");
    }
    println!("\nRuns that met issue 4's target for each workload (× pgbench TPS from the same run)\n");
    let head: String = workloads.iter().map(|(w, target)| format!(" {w} ≥ {target}× |")).collect();
    println!("| server |{head}\n| --- |{}", " ---: |".repeat(workloads.len()));
    for s in series {
        let met: String = workloads
            .iter()
            .map(|(w, target)| {
                let (met, runs) = s.met(w, *target);
                format!(" {met} of {runs} |")
            })
            .collect();
        println!("| {} |{met}", s.variant.name);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{Series, Variant, spread};
    use crate::report::Row;

    #[test]
    fn a_variant_overrides_settings_and_may_name_another_binary() {
        let base = Variant {
            name: "as given".into(),
            binary: "target/release/protocol-bank".into(),
            env: vec![("LEDGER_BATCH_WORKERS".into(), "2".into()), ("LOG_LEVEL".into(), "warn".into())],
        };
        let v = Variant::parse("one:LEDGER_BATCH_WORKERS=1,binary=/tmp/pb-old", &base).unwrap();
        assert_eq!(v.name, "one");
        assert_eq!(v.binary.to_str(), Some("/tmp/pb-old"));
        assert_eq!(
            v.env,
            [("LOG_LEVEL".to_owned(), "warn".to_owned()), ("LEDGER_BATCH_WORKERS".to_owned(), "1".to_owned())]
        );
        assert!(Variant::parse("no-colon", &base).is_err());
        assert!(Variant::parse(":A=1", &base).is_err());
        assert!(Variant::parse("x:A", &base).is_err());
    }

    #[test]
    fn targets_are_counted_over_the_runs_that_measured_the_workload() {
        let run = |uniform: Option<f64>| {
            let mut rows = vec![Row::baseline(1000.0)];
            if let Some(ratio) = uniform {
                let mut r = Row::baseline(ratio * 1000.0);
                r.name = "uniform".into();
                r.ratio = Some(ratio);
                rows.push(r);
            }
            (rows, true)
        };
        let base = Variant { name: "as given".into(), binary: "pb".into(), env: Vec::new() };
        let series = Series { variant: base, runs: vec![run(Some(4.0)), run(Some(3.99)), run(Some(5.1)), run(None)] };
        assert_eq!(series.met("uniform", 4.0), (2, 3));
        assert_eq!(series.met("hot account (10%)", 2.0), (0, 0));
    }

    #[test]
    fn spread_is_the_median_and_the_range() {
        assert_eq!(spread(vec![], 1), "—");
        assert_eq!(spread(vec![4.0], 2), "4.00");
        assert_eq!(spread(vec![5.0, 3.0, 4.0], 1), "4.0 (3.0–5.0)");
        assert_eq!(spread(vec![4.0, 1.0, 3.0, 2.0], 1), "2.5 (1.0–4.0)");
    }
}
