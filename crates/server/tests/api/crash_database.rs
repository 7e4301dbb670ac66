//! PostgreSQL killed, or frozen, while money moves, and the same instances carrying on (issue 4:
//! "correct under concurrency and crashes"; crash.rs kills the server instead). A PostgreSQL
//! cluster of the test's own (`pb_testkit::postgres_cluster`) holds the ledger, and two
//! instances serve it: one in the test, one the real binary. 16 clients send keyed transfers,
//! half to each; once 80 are answered, the fault strikes with batches in flight:
//! - **crash**: every PostgreSQL process is SIGKILLed at once. While the database is down, each
//!   request, reads too, is refused with 503 `service_unavailable` once no connection comes
//!   within `DATABASE_ACQUIRE_TIMEOUT_SECONDS` (JSON with `Retry-After`, never a 500; on a
//!   loaded machine a request may reach `REQUEST_TIMEOUT_SECONDS` first, 503
//!   `request_timeout`), and the server stays up. PostgreSQL then restarts on the same data (crash
//!   recovery from the WAL), and the same server processes become ready again by themselves.
//! - **stall**: every PostgreSQL process is stopped (SIGSTOP) for five seconds, as in a long
//!   I/O freeze or a VM paused by its host, then continued. Requests waiting on it are abandoned
//!   with 503 `request_timeout` after `REQUEST_TIMEOUT_SECONDS` (or `service_unavailable`, when
//!   no connection is free within `DATABASE_ACQUIRE_TIMEOUT_SECONDS`); their batches commit
//!   when PostgreSQL resumes, with nobody left to answer.
//!
//! Then every request is sent again under its key, and each gets its outcome at the first try:
//! an answer given before the fault comes back the same, marked replayed (a commit acknowledged
//! was durable); a refusal stays a refusal; nothing moves twice; balances, history and
//! `ledger verify` agree; and the leased workers carry on.

use crate::crash::{Answer, FUNDS, KILL_AFTER, Load, REQUESTS, Sender, again, amount, outcome, settled};
use crate::helpers::{Backend, TestApp, assert_error, base_vars, client, json, on_postgres};
use crate::processes::{serve, wait_ready as serving_ready};
use pb_testkit::TempDir;
use pb_testkit::postgres_cluster::Cluster;
use serde_json::json;
use std::time::{Duration, Instant};

/// An outcome of the ledger's: the transfer, or its refusal for want of funds.
fn decided(answer: &Answer) -> bool {
    matches!(answer, Some((201 | 402, _, _)))
}

/// How long until every instance at `bases` says it is ready.
async fn ready_again(client: &reqwest::Client, bases: &[String], within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let mut ready = 0;
        for base in bases {
            ready += usize::from(client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status() == 200));
        }
        if ready == bases.len() {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "ready within {within:?} of PostgreSQL's return");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With PostgreSQL down: reads are refused as writes are, with a 503 to retry after a second;
/// the instance reports itself alive (`/health`: nothing to restart) but not ready (`/ready`:
/// the load balancer sends its traffic elsewhere).
async fn while_down(app: &TestApp, sender: &Sender) {
    let started = Instant::now();
    let r = app.client.get(app.url(&format!("/v1/accounts/{}", sender.from))).bearer_auth(&sender.token).send().await;
    let r = r.unwrap();
    assert_eq!(r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()).as_deref(), Some("1"));
    assert_error(r, 503, "service_unavailable").await;
    assert!(started.elapsed() < Duration::from_secs(10), "refused within the acquire timeout: {:?}", started.elapsed());
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/ready").await.status(), 503);
}

/// `REQUEST_TIMEOUT_SECONDS` in the stall case, which lasts two seconds longer.
const STALL_TIMEOUT_SECONDS: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Crash,
    Stall,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_load_then_the_same_instances_answer_every_request_again() {
    fault_mid_load(Fault::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_frozen_mid_load_then_the_same_instances_answer_every_request_again() {
    fault_mid_load(Fault::Stall).await;
}

async fn fault_mid_load(fault: Fault) {
    let mut cluster = Cluster::start().await;
    let dir = TempDir::new("app");
    let mut vars = base_vars(Backend::Sqlite, &dir).await;
    on_postgres(&mut vars, cluster.create_database("bank").await);
    // How long a request waits for a connection before its 503 (5 s by default), and, for the
    // stall, how long it may run (30 s by default): below the stall, so some are abandoned.
    vars.insert("DATABASE_ACQUIRE_TIMEOUT_SECONDS".into(), "2".into());
    if fault == Fault::Stall {
        vars.insert("REQUEST_TIMEOUT_SECONDS".into(), STALL_TIMEOUT_SECONDS.to_string());
    }
    let app = TestApp::spawn_vars(Backend::Postgres, dir, vars).await;
    let alice = app.verified_person("alice@dbcrash.example", "individual").await;
    let bob = app.verified_person("bob@dbcrash.example", "individual").await;
    let from = app.open_account(&alice, "USD").await;
    let to = app.open_account(&bob, "USD").await;
    app.deposit(&alice, &from, &FUNDS.to_string()).await;
    let sender = Sender { client: client(), token: alice.token.clone(), from, to };
    // A second instance, the real binary, on the same database: each has its own view of the
    // accounts and its own batches in flight when the fault strikes.
    let second_dir = TempDir::new("second");
    let mut second = serve(&app.vars, &second_dir, "second");
    serving_ready(&sender.client, &mut second).await;
    let bases = [app.base.clone(), second.base.clone()];

    let load = Load::start(&sender, &bases);
    load.until_answered(KILL_AFTER).await;
    match fault {
        Fault::Crash => tokio::task::block_in_place(|| cluster.crash()),
        Fault::Stall => {
            cluster.signal("STOP");
            tokio::time::sleep(Duration::from_secs(STALL_TIMEOUT_SECONDS + 2)).await;
            cluster.signal("CONT");
        }
    }
    let before = load.answers().await;
    // Every request was answered, the ones the fault cut off and the ones sent while the
    // database was away too: with an outcome, or with a 503 to retry.
    let mut retry = 0;
    for (i, answer) in before.iter().enumerate() {
        let (status, body, _) = answer.as_ref().unwrap_or_else(|| panic!("request {i}: no answer"));
        if !decided(answer) {
            // No connection within the acquire timeout (PostgreSQL down, or every connection
            // stuck on it), or abandoned while waiting on it.
            let refusal = outcome(*status, body);
            assert!(
                ["503 service_unavailable", "503 request_timeout"].contains(&refusal.as_str()),
                "request {i}: {refusal}"
            );
            retry += 1;
        }
    }
    assert!(retry > 0, "the fault came mid-load");
    if fault == Fault::Crash {
        while_down(&app, &sender).await;
        cluster.restart().await;
    }
    let recovered = ready_again(&sender.client, &bases, Duration::from_secs(30)).await;
    let after = again(&sender, &bases).await;
    let (mut moved, mut transfers, mut committed_unanswered) = (0, 0, 0);
    for (i, answer) in after {
        let Some((status, body, replayed)) = answer.clone().filter(|_| decided(&answer)) else {
            panic!("request {i}, PostgreSQL back: {answer:?}");
        };
        let want = if amount(i) > FUNDS { "402 insufficient_funds" } else { "201" };
        assert!(outcome(status, &body).starts_with(want), "request {i}: {}", outcome(status, &body));
        if let Some((s, b, _)) = before[i].as_ref().filter(|_| decided(&before[i])) {
            assert_eq!(outcome(status, &body), outcome(*s, b), "request {i}: the answer given before the crash");
            assert!(replayed, "request {i} was answered before the crash: its retry replays");
        } else {
            committed_unanswered += usize::from(replayed);
        }
        if status == 201 {
            moved += amount(i);
            transfers += 1;
        }
    }
    // What the fault cut off (printed with --nocapture).
    eprintln!(
        "{fault:?}: {retry} of {REQUESTS} answered 503, {committed_unanswered} of them committed all the same; \
         ready {recovered:?} after PostgreSQL was back"
    );
    settled(&app, &sender, &app.base, &bob.token, moved, transfers).await;
    workers_carry_on(&app, &sender).await;
}

/// The leased workers outlived the outage: a hold placed now expires and is voided by the
/// expiry worker, which must have taken its lease again.
async fn workers_carry_on(app: &TestApp, sender: &Sender) {
    let hold = json!({"from_account": sender.from, "to": {"account_id": sender.to}, "amount": "1",
        "hold": {"timeout_seconds": 1}});
    let hold = json(app.post_idem(&sender.token, "/v1/transfers", "after-the-crash", hold).await).await;
    let path = format!("/v1/transfers/{}", hold["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(15);
    while json(app.get_as(&sender.token, &path).await).await["status"] != "voided" {
        assert!(Instant::now() < deadline, "the hold placed after the crash was not voided on expiry");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
