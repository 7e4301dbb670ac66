//! The one table the benchmark prints.

use crate::probe::Diagnosis;
use crate::workload::Measured;

#[derive(Debug)]
pub struct Row {
    pub name: String,
    connections: String,
    pub per_second: f64,
    p50: Option<f64>,
    pub p99: Option<f64>,
    rss: Option<f64>,
    pub ratio: Option<f64>,
    pub diagnosis: Option<Diagnosis>,
}

impl Row {
    pub fn baseline(tps: f64) -> Self {
        Self {
            name: "pgbench TPC-B-like (same PostgreSQL)".into(),
            connections: "16".into(),
            per_second: tps,
            p50: None,
            p99: None,
            rss: None,
            ratio: Some(1.0),
            diagnosis: None,
        }
    }

    pub fn measured(name: &str, connections: usize, m: &Measured, tps: f64) -> Self {
        Self {
            name: name.into(),
            connections: connections.to_string(),
            per_second: m.transfers_per_second(),
            p50: Some(m.percentile_ms(0.50)),
            p99: Some(m.percentile_ms(0.99)),
            rss: Some(m.peak_rss_mb),
            ratio: Some(m.transfers_per_second() / tps.max(1e-9)),
            diagnosis: None,
        }
    }

    pub fn with(self, d: Diagnosis) -> Self {
        Self { diagnosis: Some(d), ..self }
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

pub fn print(rows: &[Row], seconds: u64) {
    println!("\n{seconds} s per workload; p50/p99 are per request (a batch request carries 100 transfers)\n");
    println!("| workload | connections | transfers/s | p50 ms | p99 ms | peak server RSS MiB | × pgbench TPS |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} |",
            r.name,
            r.connections,
            r.per_second,
            opt(r.p50, 1),
            opt(r.p99, 1),
            opt(r.rss, 0),
            opt(r.ratio, 2)
        );
    }
    println!("\nWhere it went: mean micro-batch (commands gathered, time to commit it) and cores busy");
    println!("(2.0 = the whole machine; PostgreSQL misses backends that exited mid-run)\n");
    println!(
        "| workload | batch commands | batch ms | from view | server cores | PostgreSQL cores | load generator cores | machine cores |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        if let Some(d) = r.diagnosis {
            println!(
                "| {} | {:.1} | {:.1} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                r.name,
                d.mean_batch_commands,
                d.mean_batch_ms,
                d.from_view.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0)),
                d.cores[0],
                d.cores[1],
                d.cores[2],
                d.machine_cores
            );
        }
    }
    // Which process a change made cheaper. It moves with the machine's speed as transfers/s do
    // (a slower machine spends more CPU on each transfer), so compare runs made back to back.
    println!("\nCPU per transfer, µs (cores busy ÷ transfers/s; the machine's figure includes the kernel)\n");
    println!("| workload | server | of it, batch thread | PostgreSQL | load generator | machine |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        if let Some(d) = r.diagnosis {
            let us = |cores: f64| cores * 1e6 / r.per_second.max(1e-9);
            println!(
                "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                r.name,
                us(d.cores[0]),
                us(d.batch_thread_cores),
                us(d.cores[1]),
                us(d.cores[2]),
                us(d.machine_cores)
            );
        }
    }
}
