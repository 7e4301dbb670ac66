//! A crash while money moves (issue 4: "correct under concurrency and crashes"). The real
//! binary serves keyed transfers to 16 clients and is killed with SIGKILL while they are in
//! flight: some were answered, some committed with their answer lost, some never reached the
//! database. A new process on the same data then gets every request again under its key:
//! - an answer received before the crash comes back the same, marked replayed;
//! - a request whose answer was lost moves money at most once (its retry replays it, or runs it);
//! - a refusal (insufficient funds) stays a refusal;
//! - no money appears or disappears, each key is one transfer in the history, and
//!   `protocol-bank ledger verify` passes.

use crate::helpers::{Backend, TestApp, client, json};
use crate::processes::{Serving, command, serve, wait_ready};
use futures::StreamExt;
use pb_testkit::TempDir;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub(crate) const REQUESTS: usize = 240;
pub(crate) const FUNDS: u64 = 100_000;
/// Answers received before the first process is killed.
pub(crate) const KILL_AFTER: usize = 80;

/// Request `i`'s amount in cents: `i + 1`, or (every seventh) more than the account holds.
pub(crate) fn amount(i: usize) -> u64 {
    if i % 7 == 6 { FUNDS * 10 } else { i as u64 + 1 }
}

/// An answer: status, body, and whether it was a replay; `None` when none came.
pub(crate) type Answer = Option<(u16, Value, bool)>;

#[derive(Clone)]
pub(crate) struct Sender {
    pub(crate) client: reqwest::Client,
    pub(crate) token: String,
    pub(crate) from: String,
    pub(crate) to: String,
}

impl Sender {
    /// Request `i` to `base`; no answer if the process died with it in flight, or before it
    /// was sent.
    pub(crate) async fn send(&self, base: &str, i: usize) -> Answer {
        let body = json!({"from_account": self.from, "to": {"account_id": self.to}, "amount": amount(i).to_string()});
        let r = self
            .client
            .post(format!("{base}/v1/transfers"))
            .bearer_auth(&self.token)
            .header("idempotency-key", format!("crash-{i}"))
            .json(&body)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .ok()?;
        let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        let status = r.status().as_u16();
        Some((status, r.json().await.ok()?, replayed))
    }
}

/// 16 clients sending requests `0..REQUESTS` between them, client `c` to `bases[c % n]`, each
/// request once, whatever its answer.
pub(crate) struct Load {
    clients: Vec<tokio::task::JoinHandle<Vec<(usize, Answer)>>>,
    answered: Arc<AtomicUsize>,
}

impl Load {
    pub(crate) fn start(sender: &Sender, bases: &[String]) -> Self {
        let next = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let clients = (0..16)
            .map(|c| {
                let (sender, base) = (sender.clone(), bases[c % bases.len()].clone());
                let (next, answered) = (next.clone(), answered.clone());
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= REQUESTS {
                            return mine;
                        }
                        let answer = sender.send(&base, i).await;
                        if answer.is_some() {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        mine.push((i, answer));
                    }
                })
            })
            .collect();
        Self { clients, answered }
    }

    /// Returns once `n` requests have been answered.
    pub(crate) async fn until_answered(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.answered.load(Ordering::SeqCst) < n {
            assert!(std::time::Instant::now() < deadline, "{n} answers within a minute");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Each request's answer, by request, once every client is done.
    pub(crate) async fn answers(self) -> Vec<Answer> {
        let mut answers: Vec<Answer> = vec![None; REQUESTS];
        for c in self.clients {
            for (i, answer) in c.await.unwrap() {
                answers[i] = answer;
            }
        }
        answers
    }
}

/// Every request sent again under its key, 16 at a time, request `i` to `bases[i % n]`.
pub(crate) async fn again(sender: &Sender, bases: &[String]) -> Vec<(usize, Answer)> {
    futures::stream::iter(0..REQUESTS)
        .map(|i| async move { (i, sender.send(&bases[i % bases.len()], i).await) })
        .buffer_unordered(16)
        .collect()
        .await
}

pub(crate) fn outcome(status: u16, body: &Value) -> String {
    match status {
        201 => format!("201 {}", body["id"].as_str().unwrap_or_default()),
        s => format!("{s} {}", body["error"]["code"].as_str().unwrap_or_default()),
    }
}

async fn posted(client: &reqwest::Client, base: &str, token: &str, account: &str) -> u64 {
    let r = client.get(format!("{base}/v1/accounts/{account}")).bearer_auth(token).send().await.unwrap();
    json(r).await["balance"]["posted"].as_str().unwrap().parse().unwrap()
}

async fn history_len(client: &reqwest::Client, base: &str, token: &str, account: &str) -> usize {
    let (mut n, mut after) = (0, String::new());
    loop {
        let url = format!("{base}/v1/accounts/{account}/transfers?limit=100{after}");
        let page = json(client.get(url).bearer_auth(token).send().await.unwrap()).await;
        let rows = page["data"].as_array().unwrap();
        n += rows.len();
        if page["has_more"] != true {
            return n;
        }
        after = format!("&starting_after={}", rows.last().unwrap()["id"].as_str().unwrap());
    }
}

async fn killed_mid_load_then_every_request_again(backend: Backend) {
    // The world, made through the API of an instance in the test; it stays up, idle, beside
    // the processes below, on the same database.
    let app = TestApp::spawn(backend).await;
    let alice = app.verified_person("alice@crash.example", "individual").await;
    let bob = app.verified_person("bob@crash.example", "individual").await;
    let from = app.open_account(&alice, "USD").await;
    let to = app.open_account(&bob, "USD").await;
    app.deposit(&alice, &from, &FUNDS.to_string()).await;
    let sender = Sender { client: client(), token: alice.token.clone(), from: from.clone(), to: to.clone() };

    let dir = TempDir::new("crash");
    let mut first: Serving = serve(&app.vars, &dir, "first");
    wait_ready(&sender.client, &mut first).await;
    let load = Load::start(&sender, std::slice::from_ref(&first.base));
    load.until_answered(KILL_AFTER).await;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no flush, batches cut off mid-way
    first.child.wait().unwrap();
    let before = load.answers().await;
    let lost = before.iter().filter(|a| a.is_none()).count();
    assert!(lost > 0 && lost < REQUESTS, "the crash came mid-load: {lost} of {REQUESTS} unanswered");

    let mut second = serve(&app.vars, &dir, "second");
    wait_ready(&sender.client, &mut second).await;
    let base = second.base.clone();
    let after = again(&sender, std::slice::from_ref(&base)).await;
    let mut moved = 0;
    let mut transfers = 0;
    let mut committed_unanswered = 0;
    for (i, answer) in after {
        let (status, body, replayed) = answer.unwrap_or_else(|| panic!("request {i} unanswered after the restart"));
        let want = if amount(i) > FUNDS { "402 insufficient_funds" } else { "201" };
        assert!(outcome(status, &body).starts_with(want), "request {i}: {}", outcome(status, &body));
        if let Some((s, b, _)) = &before[i] {
            assert_eq!(outcome(status, &body), outcome(*s, b), "request {i}: the answer given before the crash");
            assert!(replayed, "request {i} was answered before the crash: its retry replays");
        }
        committed_unanswered += usize::from(before[i].is_none() && replayed);
        if status == 201 {
            moved += amount(i);
            transfers += 1;
        }
    }

    // What the crash cut off (printed with --nocapture): how many answers were lost, and how
    // many of those requests had committed all the same.
    eprintln!("{backend:?}: {lost} of {REQUESTS} unanswered at the crash, {committed_unanswered} of them committed");

    settled(&app, &sender, &base, &bob.token, moved, transfers).await;
}

/// After every request got its outcome: `moved` cents in `transfers` transfers went from the
/// sender's account to the payee's (`payee` signs in as its owner), once each, and
/// `protocol-bank ledger verify` passes on the data.
pub(crate) async fn settled(app: &TestApp, sender: &Sender, base: &str, payee: &str, moved: u64, transfers: usize) {
    let c = &sender.client;
    assert_eq!(posted(c, base, &sender.token, &sender.from).await, FUNDS - moved, "the sender's balance");
    assert_eq!(posted(c, base, payee, &sender.to).await, moved, "the payee's balance");
    assert_eq!(history_len(c, base, payee, &sender.to).await, transfers, "one transfer per key");
    let verify = command(&app.vars).args(["ledger", "verify"]).output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert!(verify.status.success(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_mid_load_then_every_request_again() {
    killed_mid_load_then_every_request_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_load_then_every_request_again() {
    killed_mid_load_then_every_request_again(Backend::Postgres).await;
}
