//! Solana custody end to end against a real node (pb-solana-node): SOL and an SPL token
//! (USDC-style, 6 decimals, its mint created by the test) deposited, seen as pending, credited
//! exactly once across a restart and a full rescan; swept into the hot wallet; withdrawn to an
//! outside wallet with the fee posted; refused up front on bad input; voided when the hot wallet
//! cannot pay; and reserves that add up to the lamport and the token unit (issue 5).

use crate::chain_support::*;
use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::people::Person;
use pb_chains::SolAddress;
use pb_chains::sol_programs::{
    TOKEN_ACCOUNT_LEN, associated_token_address, system_create_account, token_initialize_account, token_program,
    token_transfer_checked,
};
use pb_chains::sol_rpc::SolRpc;
use pb_domain::identity::roles::StaffRole;
use pb_testkit::solana::SolanaNode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// One slot every 100 ms: `SOLANA_CONFIRMATIONS` slots pass on their own.
const SLOT_MS: u64 = 100;

async fn start(
    backend: Backend,
    node: &SolanaNode,
    mint: &SolAddress,
    confirmations: &str,
    data_dir: &str,
    database_url: Option<&str>,
) -> TestApp {
    let tokens = format!("USDC-SOL={mint}");
    let mut vars = vec![
        ("DATA_DIR", data_dir),
        ("SOLANA_RPC_URL", node.url.as_str()),
        ("SOLANA_CONFIRMATIONS", confirmations),
        ("SOLANA_TOKENS", tokens.as_str()),
        ("CUSTODY_POLL_MILLIS", "100"),
        ("CUSTODY_MNEMONIC", BANK_MNEMONIC),
    ];
    if let Some(url) = database_url {
        vars.push(("DATABASE_URL", url));
    }
    TestApp::spawn_with(backend, &vars).await
}

async fn deposits(app: &TestApp, p: &Person) -> Vec<Value> {
    json(app.get_as(&p.token, "/v1/deposits").await).await["data"].as_array().unwrap().clone()
}

async fn address_of(app: &TestApp, p: &Person) -> String {
    json(app.get_as(&p.token, "/v1/deposit-addresses?chain=solana").await).await["data"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn account_of(app: &TestApp, p: &Person, asset: &str) -> Value {
    let accounts = json(app.get_as(&p.token, "/v1/accounts").await).await;
    let mine: Vec<Value> =
        accounts["data"].as_array().unwrap().iter().filter(|a| a["asset"] == asset).cloned().collect();
    assert_eq!(mine.len(), 1, "one {asset} account: {accounts}");
    mine[0].clone()
}

async fn withdrawal(app: &TestApp, p: &Person, id: &str) -> Value {
    json(app.get_as(&p.token, &format!("/v1/withdrawals/{id}")).await).await
}

async fn until_status(app: &TestApp, p: &Person, ids: &[String], wanted: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut all = Vec::new();
        for id in ids {
            all.push(withdrawal(app, p, id).await);
        }
        if all.iter().all(|w| w["status"] == wanted) {
            return all;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {wanted}: {all:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sol_and_spl_deposits_are_credited_once_across_a_restart() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = SolanaNode::start(SLOT_MS);
        let rpc = SolRpc::new(&node.url);
        let (world, mint) = sol_world(&rpc).await;
        let dir = pb_testkit::TempDir::new("sol-deposits");
        let data_dir = dir.path().display().to_string();
        // 40 slots (~4 s): long enough to see the deposits pending and restart before the credit.
        let first = start(backend, &node, &mint, "40", &data_dir, None).await;
        let database_url = first.database_url.clone();
        let alice = first.verified_person("alice@sol-deposits.example", "individual").await;
        let address = address_of(&first, &alice).await;
        assert!(SolAddress::parse(&address).is_ok(), "base58: {address}");
        tokio::time::sleep(Duration::from_millis(400)).await;

        let sol_tx = sol_pay(&rpc, &world, &address, 2 * SOL).await;
        let token_tx = sol_pay_tokens(&rpc, &world, mint, &address, 5_000_000).await;
        wait_until("both deposits to be seen", || async { deposits(&first, &alice).await.len() == 2 }).await;
        let seen = deposits(&first, &alice).await;
        let sol = seen.iter().find(|d| d["asset"] == "SOL").unwrap();
        let usdc = seen.iter().find(|d| d["asset"] == "USDC-SOL").unwrap();
        assert_eq!((sol["amount"].as_str(), sol["tx_hash"].as_str()), (Some("2000000000"), Some(sol_tx.as_str())));
        assert_eq!((usdc["amount"].as_str(), usdc["tx_hash"].as_str()), (Some("5000000"), Some(token_tx.as_str())));
        assert!(seen.iter().all(|d| d["status"] == "pending" && d["chain"] == "solana"), "{seen:?}");

        // Restart mid-way, and make the new instance read every block again.
        first.stop().await;
        rescan_from_genesis(backend, database_url.as_deref(), &data_dir).await;
        let app = start(backend, &node, &mint, "40", &data_dir, database_url.as_deref()).await;
        wait_until("the credits", || async { deposits(&app, &alice).await.iter().all(|d| d["status"] == "credited") })
            .await;
        assert_eq!(deposits(&app, &alice).await.len(), 2, "seen twice, recorded once each");
        let sol_account = account_of(&app, &alice, "SOL").await;
        assert_eq!(sol_account["balance"]["posted"], "2000000000");
        let usdc_account = account_of(&app, &alice, "USDC-SOL").await;
        assert_eq!(usdc_account["balance"]["posted"], "5000000");
        let id = sol_account["id"].as_str().unwrap();
        let history = json(app.get_as(&alice.token, &format!("/v1/accounts/{id}/transfers")).await).await;
        assert_eq!(history["data"].as_array().unwrap().len(), 1);
        assert_eq!(history["data"][0]["code"], "deposit");
        assert_eq!(history["data"][0]["metadata"]["tx_hash"], sol_tx.as_str());

        // Everything read once more: still one credit each.
        rescan_from_genesis(backend, database_url.as_deref(), &data_dir).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(deposits(&app, &alice).await.len(), 2);
        assert_eq!(account_of(&app, &alice, "SOL").await["balance"]["posted"], "2000000000", "{backend:?}");
        assert_eq!(account_of(&app, &alice, "USDC-SOL").await["balance"]["posted"], "5000000", "{backend:?}");
        let report = app.state.ledger().verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sol_and_spl_withdrawals_reach_the_chain_and_reserves_add_up() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = SolanaNode::start(SLOT_MS);
        let rpc = SolRpc::new(&node.url);
        let (world, mint) = sol_world(&rpc).await;
        let dir = pb_testkit::TempDir::new("sol-withdrawals");
        let app = start(backend, &node, &mint, "3", &dir.path().display().to_string(), None).await;
        let hot = sol_keypair(BANK_MNEMONIC, 0).address();
        let hot_ata = associated_token_address(&hot, &mint);
        assert_eq!(rpc.balance(&hot).await.unwrap(), 0, "the bank starts with nothing on chain");
        let alice = app.verified_person("alice@sol-withdraw.example", "individual").await;
        let address = address_of(&app, &alice).await;
        tokio::time::sleep(Duration::from_millis(400)).await;

        sol_pay(&rpc, &world, &address, 10 * SOL).await;
        sol_pay_tokens(&rpc, &world, mint, &address, 100_000_000).await;
        // Credited, then swept: tokens first, then SOL, the hot wallet paying every fee.
        wait_until("credits and sweeps", || async {
            let credited = deposits(&app, &alice).await.iter().filter(|d| d["status"] == "credited").count() == 2;
            let swept = rpc.token_account_balance(&hot_ata).await.unwrap() == Some(100_000_000)
                && rpc.balance(&SolAddress::parse(&address).unwrap()).await.unwrap() == 0;
            credited && swept
        })
        .await;
        let sol = account_of(&app, &alice, "SOL").await["id"].as_str().unwrap().to_owned();
        let usdc = account_of(&app, &alice, "USDC-SOL").await["id"].as_str().unwrap().to_owned();
        let usd = app.open_account(&alice, "USD").await;
        app.step_up(&alice).await;

        let outside = sol_keypair(WORLD_MNEMONIC, 5).address();
        let to = outside.to_string();
        let body = |account: &str, amount: u64| json!({"account_id": account, "chain": "solana", "to_address": to, "amount": amount.to_string()});
        let withdraw = |key: &'static str, b: Value| {
            let app = &app;
            let token = alice.token.clone();
            async move { app.post_idem(&token, "/v1/withdrawals", key, b).await }
        };

        // Bad input: clear errors, nothing held, nothing broadcast.
        let mut bad = body(&sol, SOL);
        bad["to_address"] = json!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert_error(withdraw("s-bad-1", bad).await, 422, "invalid_address").await;
        let mut bad = body(&usdc, 1_000_000);
        bad["to_address"] = json!(associated_token_address(&SolAddress::parse(&address).unwrap(), &mint).to_string());
        assert_error(withdraw("s-bad-2", bad).await, 422, "invalid_address").await;
        let mut bad = body(&sol, SOL);
        bad["amount"] = json!("1.0000000001");
        assert_error(withdraw("s-bad-3", bad).await, 422, "invalid_amount").await;
        assert_error(withdraw("s-bad-4", body(&sol, 1_000 * SOL)).await, 402, "insufficient_funds").await;
        assert_error(withdraw("s-bad-5", body(&usd, 100)).await, 422, "unsupported_asset").await;
        assert_eq!(app.balance(&alice, &sol).await["pending_outgoing"], "0", "nothing held");
        assert_eq!(app.balance(&alice, &usdc).await["pending_outgoing"], "0", "nothing held");

        // SOL and tokens out, plus four equal SOL withdrawals at once (distinct transactions).
        let r = withdraw("s-1", body(&sol, SOL)).await;
        assert_eq!(r.status(), 202);
        let mut ids = vec![json(r).await["id"].as_str().unwrap().to_owned()];
        let r = withdraw("s-token", body(&usdc, 10_000_000)).await;
        assert_eq!(r.status(), 202);
        ids.push(json(r).await["id"].as_str().unwrap().to_owned());
        let same = futures::future::join_all(
            ["s-many-0", "s-many-1", "s-many-2", "s-many-3"].map(|k| withdraw(k, body(&sol, SOL / 10))),
        )
        .await;
        for r in same {
            assert_eq!(r.status(), 202);
            ids.push(json(r).await["id"].as_str().unwrap().to_owned());
        }
        let done = until_status(&app, &alice, &ids, "confirmed").await;
        let mut signatures: Vec<&str> = done.iter().map(|w| w["tx_hash"].as_str().unwrap()).collect();
        signatures.dedup();
        assert_eq!(signatures.len(), 6, "six transactions");
        assert_eq!(rpc.balance(&outside).await.unwrap(), SOL + 4 * SOL / 10, "exact lamports arrived");
        let outside_ata = associated_token_address(&outside, &mint);
        assert_eq!(rpc.token_account_balance(&outside_ata).await.unwrap(), Some(10_000_000), "exact tokens arrived");
        let b = app.balance(&alice, &sol).await;
        assert_eq!(b["posted"], (10 * SOL - SOL - 4 * SOL / 10 - 5 * SOL_FEE).to_string(), "amounts and fees captured");
        assert_eq!(b["pending_outgoing"], "0");
        let b = app.balance(&alice, &usdc).await;
        assert_eq!(b["posted"], (100_000_000 - 10_000_000 - SPL_FEE).to_string());

        // Reserves: on chain equals the ledger, to the lamport and the token unit (network fees
        // and the token accounts' rent are ledgered as they are read back).
        let custody = app.state.custody();
        let ledger = app.state.ledger();
        let deadline = Instant::now() + Duration::from_secs(15);
        let reserves = loop {
            let r = custody.reserves(ledger).await.unwrap();
            if r.iter().all(|r| r.difference == 0) || Instant::now() > deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(reserves.len(), 2, "SOL and USDC-SOL: {reserves:?}");
        assert!(reserves.iter().all(|r| r.difference == 0), "{backend:?}: {reserves:?}");
        let sol_reserve = reserves.iter().find(|r| r.asset == "SOL").unwrap();
        assert_eq!(sol_reserve.customer_liabilities, i128::from(10 * SOL - SOL - 4 * SOL / 10 - 5 * SOL_FEE));
        let staff = app.staff_member("ops@sol-reserves.example", StaffRole::ComplianceOfficer).await;
        let listed = json(app.get_as(&staff.token, "/v1/admin/reserves").await).await;
        let rows = listed["data"].as_array().unwrap();
        assert!(
            rows.iter().any(|r| r["chain"] == "solana" && r["asset"] == "USDC-SOL" && r["difference"] == "0"),
            "{listed}"
        );
        let report = ledger.verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sol_withdrawal_the_hot_wallet_cannot_pay_voids_its_holds() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = SolanaNode::start(SLOT_MS);
        let rpc = SolRpc::new(&node.url);
        let (_, mint) = sol_world(&rpc).await;
        let dir = pb_testkit::TempDir::new("sol-nogas");
        let app = start(backend, &node, &mint, "3", &dir.path().display().to_string(), None).await;
        let alice = app.verified_person("alice@sol-nogas.example", "individual").await;
        let sol = app.open_account(&alice, "SOL").await;
        // Sandbox money: in the ledger, but the hot wallet holds no lamports at all.
        app.deposit(&alice, &sol, &(5 * SOL).to_string()).await;
        app.step_up(&alice).await;
        let available = app.balance(&alice, &sol).await["available"].clone();
        let to = sol_keypair(WORLD_MNEMONIC, 6).address().to_string();
        let body = json!({"account_id": sol, "chain": "solana", "to_address": to, "amount": SOL.to_string()});
        let r = app.post_idem(&alice.token, "/v1/withdrawals", "nogas", body).await;
        assert_eq!(r.status(), 202);
        let id = json(r).await["id"].as_str().unwrap().to_owned();
        let failed = until_status(&app, &alice, std::slice::from_ref(&id), "failed").await;
        assert_eq!(failed[0]["failure"], "network_refused", "a stable code, not the node's words: {failed:?}");
        assert!(failed[0]["tx_hash"].is_null(), "never on chain, so no signature to show");
        assert_eq!(app.balance(&alice, &sol).await["available"], available, "{backend:?}: funds returned");
        assert_eq!(rpc.balance(&SolAddress::parse(&to).unwrap()).await.unwrap(), 0);
        let report = app.state.ledger().verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawals_beyond_the_daily_limit_are_refused_even_when_concurrent() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = SolanaNode::start(SLOT_MS);
        let rpc = SolRpc::new(&node.url);
        let (_, mint) = sol_world(&rpc).await;
        let hot = sol_keypair(BANK_MNEMONIC, 0).address();
        sol_confirmed(&rpc, &rpc.request_airdrop(&hot, 100 * SOL).await.unwrap()).await;
        let dir = pb_testkit::TempDir::new("sol-limits");
        let tokens = format!("USDC-SOL={mint}");
        let app = TestApp::spawn_with(
            backend,
            &[
                ("DATA_DIR", &dir.path().display().to_string()),
                ("SOLANA_RPC_URL", node.url.as_str()),
                ("SOLANA_CONFIRMATIONS", "3"),
                ("SOLANA_TOKENS", tokens.as_str()),
                ("CUSTODY_POLL_MILLIS", "100"),
                ("CUSTODY_MNEMONIC", BANK_MNEMONIC),
                ("WITHDRAWAL_DAILY_LIMITS", "SOL=3000000000"),
            ],
        )
        .await;
        let alice = app.verified_person("alice@sol-limits.example", "individual").await;
        let sol = app.open_account(&alice, "SOL").await;
        app.deposit(&alice, &sol, &(10 * SOL).to_string()).await;
        app.step_up(&alice).await;
        let status = json(app.get_as(&alice.token, "/v1/custody").await).await;
        let sol_fee =
            status["withdrawal_fees"].as_array().unwrap().iter().find(|f| f["asset"] == "SOL").unwrap().clone();
        assert_eq!(sol_fee["daily_limit"], "3000000000", "the limit is shown: {status}");
        let to = sol_keypair(WORLD_MNEMONIC, 7).address().to_string();
        let body =
            |amount: u64| json!({"account_id": sol, "chain": "solana", "to_address": to, "amount": amount.to_string()});

        // Ten half-SOL withdrawals at once against a 3 SOL limit: exactly six get through.
        let keys: Vec<String> = (0..10).map(|i| format!("limit-{i}")).collect();
        let sent = futures::future::join_all(
            keys.iter().map(|k| app.post_idem(&alice.token, "/v1/withdrawals", k, body(SOL / 2))),
        )
        .await;
        let mut accepted = Vec::new();
        for (k, r) in keys.iter().zip(sent) {
            match r.status().as_u16() {
                202 => accepted.push(k.clone()),
                _ => {
                    assert_error(r, 422, "withdrawal_limit_exceeded").await;
                }
            }
        }
        assert_eq!(accepted.len(), 6, "{backend:?}: 3 SOL of half-SOL withdrawals");
        // A retry of an accepted one replays it rather than counting again.
        let again = app.post_idem(&alice.token, "/v1/withdrawals", &accepted[0], body(SOL / 2)).await;
        assert_eq!(again.status(), 202);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let r = app.post_idem(&alice.token, "/v1/withdrawals", "limit-more", body(1)).await;
        let err = json(r).await;
        assert_eq!(err["error"]["code"], "withdrawal_limit_exceeded");
        assert!(err["error"]["message"].as_str().unwrap().contains("0 remains"), "{err}");
        let b = app.balance(&alice, &sol).await;
        assert_eq!(b["pending_outgoing"], (3 * SOL + 6 * SOL_FEE).to_string(), "only the accepted ones are held");
    }
}

/// A crash after a withdrawal was sent but before it was recorded as sent: the sender sends the
/// stored transaction again, finds it already landed, and settles it once — nothing paid twice,
/// nothing voided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_sent_before_a_crash_is_settled_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = SolanaNode::start(SLOT_MS);
        let rpc = SolRpc::new(&node.url);
        let (_, mint) = sol_world(&rpc).await;
        let hot = sol_keypair(BANK_MNEMONIC, 0).address();
        sol_confirmed(&rpc, &rpc.request_airdrop(&hot, 10 * SOL).await.unwrap()).await;
        let dir = pb_testkit::TempDir::new("sol-crash");
        let data_dir = dir.path().display().to_string();
        let app = start(backend, &node, &mint, "3", &data_dir, None).await;
        let alice = app.verified_person("alice@sol-crash.example", "individual").await;
        let sol = app.open_account(&alice, "SOL").await;
        app.deposit(&alice, &sol, &(5 * SOL).to_string()).await;
        app.step_up(&alice).await;
        let outside = sol_keypair(WORLD_MNEMONIC, 8).address();
        let body =
            json!({"account_id": sol, "chain": "solana", "to_address": outside.to_string(), "amount": SOL.to_string()});
        let r = app.post_idem(&alice.token, "/v1/withdrawals", "crash-1", body).await;
        let id = json(r).await["id"].as_str().unwrap().to_owned();
        let first = until_status(&app, &alice, std::slice::from_ref(&id), "confirmed").await;

        rewind_to_signed(backend, app.database_url.as_deref(), &data_dir, &id).await;
        let again = until_status(&app, &alice, std::slice::from_ref(&id), "confirmed").await;
        assert_eq!(again[0]["tx_hash"], first[0]["tx_hash"], "{backend:?}: the same transaction");
        assert_eq!(rpc.balance(&outside).await.unwrap(), SOL, "paid once");
        let b = app.balance(&alice, &sol).await;
        assert_eq!(b["posted"], (5 * SOL - SOL - SOL_FEE).to_string(), "captured once");
        assert_eq!(b["pending_outgoing"], "0");
        let report = app.state.ledger().verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}

async fn not_creditable(app: &TestApp) -> u64 {
    let text = app.client.get(format!("{}/metrics", app.admin)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("chain_deposits_not_creditable_total{chain=\"solana\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// Tokens sent to a token account the deposit address owns but that is not its associated one:
/// seen, logged and counted for staff, never credited (custody neither sweeps nor counts it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_in_a_non_associated_token_account_are_not_credited() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = SolanaNode::start(SLOT_MS);
        let rpc = SolRpc::new(&node.url);
        let (world, mint) = sol_world(&rpc).await;
        let dir = pb_testkit::TempDir::new("sol-stray");
        let app = start(backend, &node, &mint, "3", &dir.path().display().to_string(), None).await;
        let alice = app.verified_person("alice@sol-stray.example", "individual").await;
        let address = SolAddress::parse(&address_of(&app, &alice).await).unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        // The metrics registry is the test process's: count from here.
        let before = not_creditable(&app).await;

        // A token account of alice's address at a key of the world's choosing, then tokens into it.
        let stray = sol_keypair(WORLD_MNEMONIC, 9);
        let rent = rpc.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN).await.unwrap();
        let ixs = [
            system_create_account(world.address(), stray.address(), rent, TOKEN_ACCOUNT_LEN, token_program()),
            token_initialize_account(stray.address(), mint, address),
            token_transfer_checked(
                associated_token_address(&world.address(), &mint),
                mint,
                stray.address(),
                world.address(),
                7_000_000,
                6,
            ),
        ];
        sol_send(&rpc, &world, &[&stray], &ixs).await;
        // And a proper deposit after it, so the watcher has certainly read past the stray one.
        sol_pay(&rpc, &world, &address.to_string(), SOL).await;
        wait_until("the SOL deposit", || async { deposits(&app, &alice).await.len() == 1 }).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let seen = deposits(&app, &alice).await;
        assert_eq!(seen.len(), 1, "{backend:?}: only the SOL: {seen:?}");
        assert_eq!(seen[0]["asset"], "SOL");
        assert_eq!(not_creditable(&app).await, before + 1, "{backend:?}: counted for staff");
    }
}
