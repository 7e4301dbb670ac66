//! The ledger contract every store must pass: balances, holds, idempotency, concurrency.

use pb_domain::ledger::account::{Account, AccountFlags, AccountId, Balances};
use pb_domain::ledger::asset::AssetCode;
use pb_domain::ledger::store::{CloseOutcome, Command, CommandOutcome, Created, Idempotency, LedgerStore};
use pb_domain::ledger::transfer::{TransferError, TransferFlags, TransferId, TransferRequest};
use pb_domain::ledger::verify::verify;
use pb_domain::ledger::{Amount, engine::PendingState};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn customer(owner: &str, asset: &str) -> Account {
    Account {
        id: AccountId::new(),
        asset: AssetCode::parse(asset).unwrap(),
        owner: owner.into(),
        code: "customer".into(),
        name: "Main".into(),
        parent_id: None,
        flags: AccountFlags { debits_must_not_exceed_credits: true, ..AccountFlags::default() },
        balances: Balances::default(),
        created_at: 1,
        last_seq: None,
    }
}

pub fn transfer(from: AccountId, to: AccountId, amount: u128) -> TransferRequest {
    TransferRequest {
        id: TransferId::new(),
        debit_account_id: from,
        credit_account_id: to,
        amount: Some(Amount::new(amount).unwrap()),
        asset: None,
        code: "p2p".into(),
        flags: TransferFlags::default(),
        pending_id: None,
        timeout_ms: None,
        description: None,
        metadata: BTreeMap::new(),
    }
}

pub fn one(request: TransferRequest) -> Command {
    Command { idempotency: None, requests: vec![request] }
}

/// A command under `usr_a`'s key `key`, for a request whose body hashes to `print`.
pub fn keyed(key: &str, print: &[u8], request: TransferRequest) -> Command {
    Command {
        idempotency: Some(Idempotency { owner: "usr_a".into(), key: key.into(), fingerprint: print.to_vec() }),
        requests: vec![request],
    }
}

async fn new_account(store: &dyn LedgerStore, a: Account) -> Account {
    match store.create_account(a, None).await.unwrap() {
        Created::New(a) => a,
        other => panic!("{other:?}"),
    }
}

async fn run(store: &dyn LedgerStore, c: Command) -> Result<pb_domain::ledger::Transfer, TransferError> {
    match store.execute(&[c], 1_000).await.unwrap().remove(0) {
        CommandOutcome::Executed(mut r) | CommandOutcome::Replayed(mut r) => r.remove(0),
        CommandOutcome::KeyReused => panic!("key reused"),
    }
}

async fn balance(store: &dyn LedgerStore, id: AccountId) -> Balances {
    store.account(id).await.unwrap().unwrap().balances
}

pub async fn transfers_move_money_and_verify(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    assert_eq!(store.system_account("sandbox_world", &usd, 2).await.unwrap().id, world.id, "one per code and asset");
    let a = new_account(store, customer("usr_a", "USD")).await;
    let b = new_account(store, customer("usr_b", "USD")).await;
    let e = new_account(store, customer("usr_b", "EUR")).await;

    run(store, one(transfer(world.id, a.id, 1_000))).await.unwrap();
    let t = run(store, one(transfer(a.id, b.id, 300))).await.unwrap();
    assert_eq!(t.debit_balance_after, Some(700));
    assert_eq!(t.credit_balance_after, Some(300));
    assert_eq!(run(store, one(transfer(a.id, b.id, 701))).await, Err(TransferError::InsufficientFunds));
    assert_eq!(run(store, one(transfer(a.id, e.id, 1))).await, Err(TransferError::AccountsMustHaveTheSameAsset));
    assert_eq!(run(store, one(transfer(a.id, AccountId::new(), 1))).await, Err(TransferError::CreditAccountNotFound));
    assert_eq!(balance(store, a.id).await.posted(), 700);
    assert_eq!(balance(store, b.id).await.posted(), 300);
    assert_eq!(balance(store, world.id).await.posted(), -1_000);

    // Linked: all or nothing.
    let mut first = transfer(a.id, b.id, 100);
    first.flags.linked = true;
    let second = transfer(b.id, a.id, 10_000);
    let out = store.execute(&[Command { idempotency: None, requests: vec![first, second] }], 1_000).await.unwrap();
    assert_eq!(
        out[0],
        CommandOutcome::Executed(vec![Err(TransferError::LinkedEventFailed), Err(TransferError::InsufficientFunds)])
    );
    assert_eq!(balance(store, a.id).await.posted(), 700, "nothing of a failed chain is written");

    let history = store.account_transfers(a.id, None, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].id, t.id, "newest first");
    let older = store.account_transfers(a.id, Some(t.id), 10).await.unwrap();
    assert_eq!(older.len(), 1);

    assert_eq!(store.close_account(a.id).await.unwrap(), CloseOutcome::NotEmpty);
    run(store, one(transfer(a.id, b.id, 700))).await.unwrap();
    assert!(matches!(store.close_account(a.id).await.unwrap(), CloseOutcome::Closed(_)));
    assert_eq!(run(store, one(transfer(b.id, a.id, 1))).await, Err(TransferError::CreditAccountClosed));

    let (accounts, journal) = store.verification_data().await.unwrap();
    let report = verify(&accounts, &journal);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.transfers, 3);
}

/// 18-decimal assets need more than 64 bits: amounts and balances round-trip exactly, whatever
/// their digits (PostgreSQL receives them as binary NUMERIC: zero groups inside and at the end).
pub async fn amounts_beyond_64_bits_are_exact(store: &dyn LedgerStore) {
    let eth = AssetCode::parse("ETH").unwrap();
    let world = store.system_account("sandbox_world", &eth, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "ETH")).await;
    let b = new_account(store, customer("usr_b", "ETH")).await;
    let amounts: [u128; 4] = [
        10u128.pow(30) + 1,   // zero groups inside
        10u128.pow(28),       // zero groups at the end
        u64::MAX as u128 + 1, // just past 64 bits
        123_456_789_012_345_678_901_234_567_890,
    ];
    let total: u128 = amounts.iter().sum();
    for amount in amounts {
        let t = run(store, one(transfer(world.id, a.id, amount))).await.unwrap();
        assert_eq!(t.amount, amount);
    }
    let t = run(store, one(transfer(a.id, b.id, 9_999))).await.unwrap();
    assert_eq!(t.debit_balance_after, Some(total as i128 - 9_999));
    let after = balance(store, a.id).await;
    assert_eq!((after.credits_posted, after.debits_posted), (total, 9_999));
    assert_eq!(balance(store, world.id).await.debits_posted, total);
    assert_eq!(run(store, one(transfer(a.id, b.id, total))).await, Err(TransferError::InsufficientFunds));
    let history = store.account_transfers(a.id, None, 10).await.unwrap();
    assert_eq!(history.iter().skip(1).rev().map(|t| t.amount).collect::<Vec<_>>(), amounts);
    let (accounts, journal) = store.verification_data().await.unwrap();
    let report = verify(&accounts, &journal);
    assert!(report.ok(), "{:?}", report.problems);
}

/// Text a customer wrote comes back exactly as written: a description and metadata with
/// quotes, backslashes, control characters and characters beyond ASCII, under a key with the
/// same (SQLite sends a batch's rows as one JSON parameter; the hash chain covers the text, so
/// `verify` would see a change too).
pub async fn text_round_trips_exactly(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "USD")).await;
    let text = "rent \"May\" \\ 50% \t\n\u{1} é 日本 🦀 [\"x\"] {\"y\":1} ->> '$'";
    let mut request = transfer(world.id, a.id, 5);
    request.description = Some(text.into());
    request.metadata = BTreeMap::from([(text.to_owned(), text.to_owned()), ("plain".into(), String::new())]);
    let key = "k \"1\" \\ é";
    let sent = run(store, keyed(key, b"print", request.clone())).await.unwrap();
    assert_eq!(sent.description.as_deref(), Some(text));
    let (read, _) = store.transfer(sent.id).await.unwrap().unwrap();
    assert_eq!(read, sent);
    assert_eq!(read.metadata, request.metadata);
    assert_eq!(store.account_transfers(a.id, None, 1).await.unwrap(), vec![sent.clone()]);
    let replayed = store.execute(&[keyed(key, b"print", request)], 2_000).await.unwrap().remove(0);
    assert_eq!(replayed, CommandOutcome::Replayed(vec![Ok(sent)]));
    let (accounts, journal) = store.verification_data().await.unwrap();
    let report = verify(&accounts, &journal);
    assert!(report.ok(), "{:?}", report.problems);
}

/// An account's history, read along both of its sides among other accounts' rows: whole,
/// page by page, and from a cursor naming another account's transfer (the rows before it).
pub async fn history_pages_along_both_sides(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "USD")).await;
    let b = new_account(store, customer("usr_b", "USD")).await;
    let c = new_account(store, customer("usr_c", "USD")).await;
    let mut ours = vec![run(store, one(transfer(world.id, a.id, 1_000))).await.unwrap().id];
    run(store, one(transfer(world.id, b.id, 1_000))).await.unwrap();
    let mut foreign = None;
    for i in 0..7u128 {
        ours.push(run(store, one(transfer(a.id, b.id, 10 + i))).await.unwrap().id);
        let other = run(store, one(transfer(b.id, c.id, 1))).await.unwrap().id;
        if i == 3 {
            foreign = Some((other, ours.len()));
        }
        ours.push(run(store, one(transfer(b.id, a.id, 5))).await.unwrap().id);
    }
    // One command of two transfers naming `a`: two rows of one batch, chained in order.
    let both = Command { idempotency: None, requests: vec![transfer(a.id, c.id, 1), transfer(c.id, a.id, 1)] };
    let CommandOutcome::Executed(rows) = store.execute(&[both], 1_000).await.unwrap().remove(0) else { panic!() };
    ours.extend(rows.into_iter().map(|r| r.unwrap().id));
    let newest_first: Vec<TransferId> = ours.iter().rev().copied().collect();

    let whole: Vec<TransferId> = store.account_transfers(a.id, None, 100).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(whole, newest_first, "the whole history, newest first");
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.account_transfers(a.id, cursor, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        cursor = Some(last.id);
        paged.extend(page.iter().map(|t| t.id));
    }
    assert_eq!(paged, newest_first, "page by page");
    let (other, before) = foreign.unwrap();
    let from_other: Vec<TransferId> =
        store.account_transfers(a.id, Some(other), 100).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(from_other, ours[..before].iter().rev().copied().collect::<Vec<_>>(), "a foreign cursor");
    let page: Vec<TransferId> =
        store.account_transfers(a.id, Some(other), 2).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(page, ours[before - 2..before].iter().rev().copied().collect::<Vec<_>>(), "a foreign cursor, limited");
    assert!(store.account_transfers(a.id, Some(ours[0]), 100).await.unwrap().is_empty(), "nothing before the first");
    assert!(store.account_transfers(a.id, Some(TransferId::new()), 100).await.unwrap().is_empty(), "an unknown cursor");
    let (accounts, journal) = store.verification_data().await.unwrap();
    let report = verify(&accounts, &journal);
    assert!(report.ok(), "{:?}", report.problems);
}

pub async fn holds_post_void_once_and_expire(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "USD")).await;
    let b = new_account(store, customer("usr_b", "USD")).await;
    run(store, one(transfer(world.id, a.id, 1_000))).await.unwrap();

    let mut hold = transfer(a.id, b.id, 600);
    hold.flags.pending = true;
    hold.timeout_ms = Some(10_000);
    let hold = run(store, one(hold)).await.unwrap();
    assert_eq!(balance(store, a.id).await.available(), 400);
    assert_eq!(
        run(store, one(transfer(a.id, b.id, 500))).await,
        Err(TransferError::InsufficientFunds),
        "held funds are not spendable"
    );

    let resolve = |post: bool, amount: Option<u128>| {
        let mut r = transfer(a.id, b.id, 1);
        r.amount = amount.map(|a| Amount::new(a).unwrap());
        r.flags = TransferFlags { post_pending: post, void_pending: !post, ..TransferFlags::default() };
        r.pending_id = Some(hold.id);
        r
    };
    assert_eq!(run(store, one(resolve(true, Some(601)))).await, Err(TransferError::ExceedsPendingTransferAmount));
    let posted = run(store, one(resolve(true, Some(250)))).await.unwrap();
    assert_eq!(posted.amount, 250);
    assert_eq!(run(store, one(resolve(true, None))).await, Err(TransferError::PendingTransferAlreadyPosted));
    assert_eq!(run(store, one(resolve(false, None))).await, Err(TransferError::PendingTransferAlreadyPosted));
    assert_eq!(balance(store, a.id).await.available(), 750, "the unposted part returns");
    assert_eq!(store.transfer(hold.id).await.unwrap().unwrap().1, Some(PendingState::Posted));

    // An expired hold cannot be posted; it is found for voiding, and voids once.
    let mut short = transfer(a.id, b.id, 100);
    short.flags.pending = true;
    short.timeout_ms = Some(1);
    let short = match store.execute(&[one(short)], 5_000).await.unwrap().remove(0) {
        CommandOutcome::Executed(mut r) => r.remove(0).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(store.expired_pending(5_000, 10).await.unwrap(), vec![], "not yet");
    assert_eq!(store.expired_pending(5_001, 10).await.unwrap(), vec![short.id]);
    let mut post = transfer(a.id, b.id, 1);
    post.amount = None;
    post.flags.post_pending = true;
    post.pending_id = Some(short.id);
    let out = store.execute(&[one(post.clone())], 6_000).await.unwrap().remove(0);
    assert_eq!(out, CommandOutcome::Executed(vec![Err(TransferError::PendingTransferExpired)]));
    post.flags = TransferFlags { void_pending: true, ..TransferFlags::default() };
    post.id = TransferId::new();
    assert!(
        matches!(store.execute(&[one(post)], 6_000).await.unwrap().remove(0), CommandOutcome::Executed(r) if r[0].is_ok())
    );
    assert!(store.expired_pending(7_000, 10).await.unwrap().is_empty());
    assert_eq!(balance(store, a.id).await.available(), 750);
    let (accounts, journal) = store.verification_data().await.unwrap();
    assert!(verify(&accounts, &journal).ok());
}

pub async fn idempotency_keys_replay_refuse_and_remember_failures(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "USD")).await;
    let b = new_account(store, customer("usr_b", "USD")).await;

    // A failure is remembered under its key, even after funds arrive.
    let failed = store.execute(&[keyed("k1", b"body-1", transfer(a.id, b.id, 50))], 1).await.unwrap().remove(0);
    assert_eq!(failed, CommandOutcome::Executed(vec![Err(TransferError::InsufficientFunds)]));
    run(store, one(transfer(world.id, a.id, 100))).await.unwrap();
    let again = store.execute(&[keyed("k1", b"body-1", transfer(a.id, b.id, 50))], 2).await.unwrap().remove(0);
    assert_eq!(again, CommandOutcome::Replayed(vec![Err(TransferError::InsufficientFunds)]));

    // A success replays the same transfer; a different body under the key is refused.
    let first = store.execute(&[keyed("k2", b"body-2", transfer(a.id, b.id, 30))], 3).await.unwrap().remove(0);
    let CommandOutcome::Executed(r) = first else { panic!() };
    let replay = store.execute(&[keyed("k2", b"body-2", transfer(a.id, b.id, 30))], 4).await.unwrap().remove(0);
    assert_eq!(replay, CommandOutcome::Replayed(r));
    let other = store.execute(&[keyed("k2", b"body-x", transfer(a.id, b.id, 30))], 5).await.unwrap().remove(0);
    assert_eq!(other, CommandOutcome::KeyReused);
    // Within one batch too.
    let both = store
        .execute(
            &[
                keyed("k3", b"b3", transfer(a.id, b.id, 1)),
                keyed("k3", b"b3", transfer(a.id, b.id, 1)),
                keyed("k3", b"zz", transfer(a.id, b.id, 1)),
            ],
            6,
        )
        .await
        .unwrap();
    assert!(matches!(&both[0], CommandOutcome::Executed(r) if r[0].is_ok()));
    assert!(matches!(&both[1], CommandOutcome::Replayed(r) if r[0].is_ok()));
    assert_eq!(both[2], CommandOutcome::KeyReused);
    assert_eq!(balance(store, a.id).await.posted(), 69);
    // A taken key, used in one batch first with another body, then with its own: the first is
    // refused, the second still replays (found by crates/ledger/tests/model; it was refused).
    let mixed = store
        .execute(
            &[keyed("k2", b"body-x", transfer(a.id, b.id, 30)), keyed("k2", b"body-2", transfer(a.id, b.id, 30))],
            7,
        )
        .await
        .unwrap();
    assert_eq!(mixed[0], CommandOutcome::KeyReused);
    assert!(matches!(&mixed[1], CommandOutcome::Replayed(r) if r[0].as_ref().is_ok_and(|t| t.amount == 30)));
    assert_eq!(balance(store, a.id).await.posted(), 69, "nothing moved");
    // One command, its transfer ids included, sent three times at once (a caller retrying it
    // while the first is still in flight): one executes, the others replay it. PostgreSQL
    // decides the later ones from its view, which takes keys as free (found by the model test).
    let same = [keyed("k4", b"b4", transfer(a.id, b.id, 1))];
    let sent = futures::future::join_all((0..3).map(|_| store.execute(&same, 8))).await;
    let sent: Vec<CommandOutcome> = sent.into_iter().map(|o| o.unwrap().remove(0)).collect();
    assert_eq!(sent.iter().filter(|o| matches!(o, CommandOutcome::Executed(_))).count(), 1, "{sent:?}");
    assert!(
        sent.iter().all(|o| matches!(o, CommandOutcome::Executed(r) | CommandOutcome::Replayed(r) if r[0].is_ok()))
    );
    assert_eq!(balance(store, a.id).await.posted(), 68);

    // Account creation is idempotent too.
    let claim = Idempotency { owner: "usr_a".into(), key: "acct-1".into(), fingerprint: b"x".to_vec() };
    let made = store.create_account(customer("usr_a", "USD"), Some(claim.clone())).await.unwrap();
    let Created::New(made) = made else { panic!() };
    assert_eq!(
        store.create_account(customer("usr_a", "USD"), Some(claim.clone())).await.unwrap(),
        Created::Replayed(made)
    );
    let other = Idempotency { fingerprint: b"y".to_vec(), ..claim };
    assert_eq!(store.create_account(customer("usr_a", "USD"), Some(other)).await.unwrap(), Created::KeyReused);
}

/// 200 concurrent transfers from an account funded for 100 of them: exactly 100 succeed.
pub async fn concurrent_debits_never_overdraw(store: Arc<dyn LedgerStore>) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store.as_ref(), customer("usr_a", "USD")).await;
    let b = new_account(store.as_ref(), customer("usr_b", "USD")).await;
    run(store.as_ref(), one(transfer(world.id, a.id, 1_000))).await.unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            // Half go a→b, and b sends back nothing: a can fund exactly 100.
            tokio::spawn(
                async move { run(store.as_ref(), keyed(&format!("c{i}"), b"p", transfer(a.id, b.id, 10))).await },
            )
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e, TransferError::InsufficientFunds),
        }
    }
    assert_eq!(ok, 100);
    assert_eq!(balance(store.as_ref(), a.id).await.posted(), 0);
    assert_eq!(balance(store.as_ref(), b.id).await.posted(), 1_000);
    let (accounts, journal) = store.verification_data().await.unwrap();
    let report = verify(&accounts, &journal);
    assert!(report.ok(), "{:?}", report.problems);
}

/// Keys past their retention are forgotten, a bounded number per call: a request under a
/// forgotten key runs anew; a key still within retention replays; the journal keeps everything.
pub async fn idempotency_keys_past_retention_are_forgotten(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "USD")).await;
    let at = |key: &str, now_ms: i64| {
        let command = keyed(key, b"body", transfer(world.id, a.id, 5));
        async move { store.execute(&[command], now_ms).await.unwrap().remove(0) }
    };
    let old_1 = at("old-1", 1_000).await;
    at("old-2", 1_500).await;
    at("old-3", 1_900).await;
    let CommandOutcome::Executed(recent) = at("recent", 5_000).await else { panic!("executed") };

    assert_eq!(store.forget_idempotency_keys(2_000, 2).await.unwrap(), 2, "at most the limit");
    assert_eq!(store.forget_idempotency_keys(2_000, 2).await.unwrap(), 1);
    assert_eq!(store.forget_idempotency_keys(2_000, 2).await.unwrap(), 0);

    let again = at("old-1", 6_000).await;
    assert!(matches!(&again, CommandOutcome::Executed(r) if r[0].is_ok()), "{again:?}");
    assert_ne!(again, old_1, "a new transfer, not the first answer");
    assert_eq!(at("recent", 6_000).await, CommandOutcome::Replayed(recent));
    assert_eq!(balance(store, a.id).await.posted(), 25);
    let (accounts, journal) = store.verification_data().await.unwrap();
    assert_eq!(journal.len(), 5);
    assert!(verify(&accounts, &journal).ok());
}

/// A key a ledger command took is known to custody's check (which decides whether a withdrawal
/// is new and counts against the daily limit), under its owner only.
pub async fn keys_taken_are_known_to_custody(store: &dyn LedgerStore, custody: &dyn pb_domain::custody::CustodyStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = new_account(store, customer("usr_a", "USD")).await;
    assert!(!custody.idempotency_key_used("usr_a", "k-used").await.unwrap());
    let done = store.execute(&[keyed("k-used", b"body", transfer(world.id, a.id, 5))], 1).await.unwrap().remove(0);
    assert!(matches!(done, CommandOutcome::Executed(r) if r[0].is_ok()));
    assert!(custody.idempotency_key_used("usr_a", "k-used").await.unwrap());
    assert!(!custody.idempotency_key_used("usr_b", "k-used").await.unwrap());
    assert!(!custody.idempotency_key_used("usr_a", "k-other").await.unwrap());
}
