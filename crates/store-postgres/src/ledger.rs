//! Ledger storage on PostgreSQL: set-based statements (UNNEST arrays), batches serialized by
//! the journal head's row lock, accounts locked with `SELECT … ORDER BY id FOR UPDATE` under
//! READ COMMITTED, one commit per batch (ledger.md).

use crate::PgStore;
use crate::batch_connection::BatchConnection;
use crate::idempotency::digest;
use crate::ledger_view::{Head, LedgerView, Ticket};
use crate::numeric::Numeric;
use async_trait::async_trait;
use pb_domain::StoreError;
use pb_domain::ledger::account::{Account, AccountFlags, AccountId, Balances};
use pb_domain::ledger::asset::AssetCode;
use pb_domain::ledger::batch::{ClaimedAndLocked, LedgerTx, execute_batch};
use pb_domain::ledger::engine::PendingState;
use pb_domain::ledger::store::*;
use pb_domain::ledger::transfer::{Transfer, TransferFlags, TransferId};
use pb_store_sql::history::{CLOCK_SKEW_MS, PREV, walk};
use pb_store_sql::store_error;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use std::sync::Arc;

const ACCOUNT_COLUMNS: &str = "id, asset, owner_id, code, name, parent_id, flags, debits_pending::text AS dp, \
    debits_posted::text AS dq, credits_pending::text AS cp, credits_posted::text AS cq, created_at, last_seq";
const TRANSFER_COLUMNS: &str = "seq, id, debit_account_id, credit_account_id, amount::text AS amount, asset, code, flags, \
    pending_id, expires_at, description, metadata, debit_balance_after, credit_balance_after, created_at, prev_hash, hash, debit_prev, credit_prev";

fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("unreadable {what}"))
}

fn u128_col(r: &PgRow, col: &str) -> Result<u128, sqlx::Error> {
    let s: String = r.try_get(col)?;
    s.parse().map_err(|_| corrupt(col))
}

fn i128_opt(r: &PgRow, col: &str) -> Result<Option<i128>, sqlx::Error> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map_err(|_| corrupt(col))).transpose()
}

pub(crate) fn account(r: &PgRow) -> Result<Account, sqlx::Error> {
    let asset: String = r.try_get("asset")?;
    Ok(Account {
        id: AccountId(r.try_get("id")?),
        asset: AssetCode::parse(&asset).ok_or_else(|| corrupt("asset"))?,
        owner: r.try_get("owner_id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        parent_id: r.try_get::<Option<uuid::Uuid>, _>("parent_id")?.map(AccountId),
        flags: AccountFlags::from_bits(r.try_get("flags")?),
        balances: Balances {
            debits_pending: u128_col(r, "dp")?,
            debits_posted: u128_col(r, "dq")?,
            credits_pending: u128_col(r, "cp")?,
            credits_posted: u128_col(r, "cq")?,
        },
        created_at: r.try_get("created_at")?,
        last_seq: r.try_get("last_seq")?,
    })
}

pub(crate) fn chained(r: &PgRow) -> Result<ChainedTransfer, sqlx::Error> {
    let metadata: String = r.try_get("metadata")?;
    Ok(ChainedTransfer {
        seq: r.try_get("seq")?,
        transfer: Transfer {
            id: TransferId(r.try_get("id")?),
            debit_account_id: AccountId(r.try_get("debit_account_id")?),
            credit_account_id: AccountId(r.try_get("credit_account_id")?),
            amount: u128_col(r, "amount")?,
            asset: r.try_get("asset")?,
            code: r.try_get("code")?,
            flags: TransferFlags::from_bits(r.try_get("flags")?),
            pending_id: r.try_get::<Option<uuid::Uuid>, _>("pending_id")?.map(TransferId),
            expires_at: r.try_get("expires_at")?,
            description: r.try_get("description")?,
            metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata"))?,
            debit_balance_after: i128_opt(r, "debit_balance_after")?,
            credit_balance_after: i128_opt(r, "credit_balance_after")?,
            created_at: r.try_get("created_at")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        debit_prev: r.try_get("debit_prev")?,
        credit_prev: r.try_get("credit_prev")?,
    })
}

/// A batch's closing statement (`write`): counters compare-and-set, keys, journal rows, the
/// head moved, and `ledger_expect` over what the batch was decided on. `ledger_expect` is
/// called only to refuse (a CASE evaluates its branch only when taken; the function is
/// volatile, so the planner never folds the call): a PL/pgSQL call in every batch, for an
/// `IF` that almost always passes, was PostgreSQL work on the ledger's serial path.
///
/// The arrays are unnested in select lists (`unnest($n) AS …`, side by side: PostgreSQL runs
/// them in step, a ProjectSet, padding a shorter one with NULLs as a many-argument `UNNEST`
/// does), not by `FROM UNNEST($a, $b, …)`: that is a function scan, which first copies each
/// array's elements into a tuplestore of its own and then reads them all back. For 17 rows of
/// 19 arrays, PostgreSQL alone: 0.058–0.062 ms against 0.135–0.158 (bench/RESULTS.md).
const CLOSING: &str = "WITH
             counters AS (
                 UPDATE ledger_accounts AS t SET debits_pending = v.dp, debits_posted = v.dq,
                     credits_pending = v.cp, credits_posted = v.cq, last_seq = v.ls
                 FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::numeric[]) AS dp, unnest($3::numeric[]) AS dq,
                     unnest($4::numeric[]) AS cp, unnest($5::numeric[]) AS cq, unnest($30::bigint[]) AS f0,
                     unnest($31::numeric[]) AS dp0, unnest($32::numeric[]) AS dq0, unnest($33::numeric[]) AS cp0,
                     unnest($34::numeric[]) AS cq0, unnest($40::bigint[]) AS ls) AS v
                 WHERE t.id = v.id AND t.flags = v.f0 AND t.debits_pending = v.dp0
                     AND t.debits_posted = v.dq0 AND t.credits_pending = v.cp0
                     AND t.credits_posted = v.cq0
                 RETURNING 1),
             still AS (
                 SELECT 1 FROM (SELECT unnest($35::uuid[]) AS id, unnest($36::bigint[]) AS f0) AS v
                 JOIN ledger_accounts AS t ON t.id = v.id AND t.flags = v.f0),
             keys AS (
                 INSERT INTO idempotency_keys (digest, owner_id, key, fingerprint, outcome, created_at)
                 SELECT unnest($39::bytea[]), unnest($6::text[]), unnest($7::text[]), unnest($28::bytea[]),
                     unnest($8::text[]), $29),
             journal AS (
                 INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, amount, asset, code, flags,
                     pending_id, expires_at, description, metadata, debit_balance_after, credit_balance_after,
                     created_at, prev_hash, hash, debit_prev, credit_prev)
                 SELECT unnest($9::bigint[]), unnest($10::uuid[]), unnest($11::uuid[]), unnest($12::uuid[]),
                     unnest($13::numeric[]), unnest($14::text[]), unnest($15::text[]), unnest($16::bigint[]),
                     unnest($17::uuid[]), unnest($18::bigint[]), unnest($19::text[]), unnest($20::text[]),
                     unnest($21::text[]), unnest($22::text[]), unnest($23::bigint[]), unnest($24::bytea[]),
                     unnest($25::bytea[]), unnest($41::bigint[]), unnest($42::bigint[])),
             moved AS (UPDATE ledger_head SET seq = $26, hash = $27 WHERE id = 1 AND $26 IS NOT NULL)
             SELECT CASE WHEN (SELECT count(*) FROM counters) = cardinality($1::uuid[])
                 AND (SELECT count(*) FROM still) = cardinality($35::uuid[])
                 AND EXISTS (SELECT 1 FROM ledger_head WHERE id = 1 AND seq = $37 AND hash = $38)
                 THEN true ELSE ledger_expect(false) END";

fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    // Only the constant column lists above are formatted in; values are always bound.
    sqlx::AssertSqlSafe(s)
}

struct PgLedgerTx {
    conn: BatchConnection,
    /// The batch's clock, for the keys `write` inserts.
    now_ms: i64,
    /// Set when a statement failed in a way that running the whole batch again resolves.
    retry: bool,
    /// This instance's view of the ledger: where `claim_and_lock` may take the head and
    /// accounts from instead of PostgreSQL (when `serve`), and what the batch updates once
    /// decided.
    view: Arc<LedgerView>,
    serve: bool,
    /// Where a closing statement with no transaction open goes (pipeline.rs); on `conn` when
    /// unset.
    pipeline: Option<Arc<crate::pipeline::Pipeline>>,
    /// This batch's turn to be decided (`PgStore::decide`), held until `decide` has put its
    /// outcome in the view: the next batch is decided from that while this one commits.
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// `decide` ran: the view holds this batch's outcome before it has committed; tell it
    /// what became of it.
    decided: Option<Ticket>,
    /// What the batch was decided on: the head and the accounts' flags and counters, as read
    /// (or taken from the view), in id order. `write` asserts them.
    start: Option<Head>,
    read: Vec<AsRead>,
    /// The accounts read from PostgreSQL, whole, for the view once the batch is decided. Not
    /// kept when they came from the view, which holds them already.
    read_whole: Vec<Account>,
    /// The accounts were taken from the view (nothing read, nothing locked yet).
    fast: bool,
    /// `write` ran: the head after it and the accounts it changed.
    written: Option<(Head, Vec<Account>)>,
    /// PostgreSQL refused a batch decided from the view (`ledger_expect`).
    refused: bool,
    /// The journal rows `write` wrote, for `PgStore::recent` once the batch has committed.
    wrote: Vec<ChainedTransfer>,
}

impl PgLedgerTx {
    fn new(
        conn: BatchConnection,
        now_ms: i64,
        view: Arc<LedgerView>,
        serve: bool,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
        pipeline: Option<Arc<crate::pipeline::Pipeline>>,
    ) -> Self {
        Self {
            conn,
            now_ms,
            retry: false,
            view,
            serve,
            pipeline,
            turn,
            decided: None,
            start: None,
            read: Vec::new(),
            read_whole: Vec::new(),
            fast: false,
            written: None,
            refused: false,
            wrote: Vec::new(),
        }
    }

    /// The batch is decided (its closing statement is about to go out, or there is none): its
    /// head and accounts as they will stand after its commit go into the view. Returns the
    /// turn: dropping it lets the next batch be decided. Without a turn (an account's
    /// creation), or before anything was read, the view is left alone.
    #[must_use = "the next batch's turn begins when this is dropped"]
    fn decide(&mut self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let turn = self.turn.take()?;
        if let Some(start) = self.start {
            let end = self.written.as_ref().map_or(start, |(end, _)| *end);
            let after = self.accounts_after();
            self.decided = Some(self.view.decided(start, end, after));
        }
        Some(turn)
    }

    /// The accounts as they stand after the batch, for the view: those it changed, and, when
    /// they were read from PostgreSQL, the others it read (from the view, those are in it).
    fn accounts_after(&mut self) -> Vec<Account> {
        let changed = self.written.as_mut().map(|(_, c)| std::mem::take(c)).unwrap_or_default();
        if self.fast {
            return changed;
        }
        let mut after = std::mem::take(&mut self.read_whole);
        for c in changed {
            if let Ok(i) = after.binary_search_by_key(&c.id, |a| a.id) {
                after[i] = c;
            }
        }
        after
    }
}

/// Errors after which the batch, rolled back whole, is run again:
/// - a key `write` inserts was taken meanwhile by an account opening (which does not take the
///   journal head); the next attempt finds it;
/// - a deadlock: that account opening, under a sub-account of an account this batch has
///   locked, waits for the batch's lock while the batch waits for its key (PostgreSQL aborts
///   one of the two after `deadlock_timeout`); or a serialization failure.
fn worth_retrying(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        d.constraint() == Some("idempotency_keys_pkey") || matches!(d.code().as_deref(), Some("40P01" | "40001"))
    })
}

/// What a batch was decided on of an account, and its closing statement asserts: a copy of
/// three small fields, where the whole account would copy its four strings too (the
/// `ledger-batches` thread, on every batch's serial path, spent about a third of its time
/// copying and freeing accounts: bench/RESULTS.md).
#[derive(Debug, Clone, Copy)]
struct AsRead {
    id: AccountId,
    flags: AccountFlags,
    balances: Balances,
}

impl From<&Account> for AsRead {
    fn from(a: &Account) -> Self {
        Self { id: a.id, flags: a.flags, balances: a.balances }
    }
}

/// An account as the batch read it (`read` is in id order).
fn as_read(read: &[AsRead], id: AccountId) -> Option<&AsRead> {
    read.binary_search_by_key(&id, |a| a.id).ok().map(|i| &read[i])
}

/// `ledger_expect` refused the batch's closing statement: what it was decided on had moved.
fn is_refusal(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.code().as_deref() == Some("40001") && d.message().contains("ledger_expect"))
}

/// Owners, keys, fingerprints and digests (idempotency.rs) of claims, as bindable arrays.
type ClaimArrays<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a [u8]>, Vec<Vec<u8>>);

fn claim_arrays<'a>(claims: &[&'a Idempotency]) -> ClaimArrays<'a> {
    (
        claims.iter().map(|c| c.owner.as_str()).collect(),
        claims.iter().map(|c| c.key.as_str()).collect(),
        claims.iter().map(|c| c.fingerprint.as_slice()).collect(),
        claims.iter().map(|c| digest(&c.owner, &c.key)).collect(),
    )
}

impl PgLedgerTx {
    fn failed(&mut self, e: sqlx::Error) -> StoreError {
        // A batch decided from the view took its keys as free, so any uniqueness it breaks
        // (a key; or the journal's transfer id, when a command is sent again while its first
        // sending is in a batch ahead, found by crates/ledger/tests/model) means a request
        // already here: the ordinary way reads the keys under the head and replays.
        let taken = self.fast && pb_store_sql::is_unique_violation(&e);
        self.retry |= taken || worth_retrying(&e);
        self.refused |= self.fast && is_refusal(&e);
        store_error(e)
    }

    /// Claims keys alone (an account's creation).
    async fn claim_keys(
        &mut self,
        claims: &[&Idempotency],
        now_ms: i64,
    ) -> Result<Vec<Option<(Vec<u8>, String)>>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let (owners, keys, prints, digests) = claim_arrays(claims);
        // ON CONFLICT waits for a concurrent transaction inserting the same key to finish.
        let inserted: Vec<(String, String)> = sqlx::query_as(
            "INSERT INTO idempotency_keys (digest, owner_id, key, fingerprint, outcome, created_at)
             SELECT d, o, k, f, '', $4 FROM UNNEST($5::bytea[], $1::text[], $2::text[], $3::bytea[]) AS c(d, o, k, f)
             ON CONFLICT (digest) DO NOTHING RETURNING owner_id, key",
        )
        .bind(&owners)
        .bind(&keys)
        .bind(&prints)
        .bind(now_ms)
        .bind(&digests)
        .fetch_all(self.conn.tx().await.map_err(store_error)?)
        .await
        .map_err(store_error)?;
        self.earlier_claims(claims, &inserted).await
    }

    /// Per claim: `None` if this transaction inserted it, else what the key already holds.
    async fn earlier_claims(
        &mut self,
        claims: &[&Idempotency],
        inserted: &[(String, String)],
    ) -> Result<Vec<Option<(Vec<u8>, String)>>, StoreError> {
        if inserted.len() == claims.len() {
            return Ok(vec![None; claims.len()]);
        }
        // Matched on owner and key below, not on the digest alone.
        let digests: Vec<Vec<u8>> = claims.iter().map(|c| digest(&c.owner, &c.key)).collect();
        let existing: Vec<(String, String, Vec<u8>, String)> = sqlx::query_as(
            "SELECT owner_id, key, fingerprint, outcome FROM idempotency_keys WHERE digest = ANY($1::bytea[])",
        )
        .bind(&digests)
        .fetch_all(self.conn.tx().await.map_err(store_error)?)
        .await
        .map_err(store_error)?;
        Ok(claims
            .iter()
            .map(|c| {
                if inserted.iter().any(|(o, k)| *o == c.owner && *k == c.key) {
                    None
                } else {
                    existing
                        .iter()
                        .find(|(o, k, _, _)| *o == c.owner && *k == c.key)
                        .map(|(_, _, f, out)| (f.clone(), out.clone()))
                }
            })
            .collect())
    }
}

#[async_trait]
impl LedgerTx for PgLedgerTx {
    /// One round trip: the head's lock is queued inside one statement's Sync, ahead of it (both
    /// go with the BEGIN; batch_connection.rs), which then, in a snapshot taken once the head
    /// is held, locks the accounts in id order and reads them, the keys already taken and the
    /// head. A key is only looked up here; `write` inserts it with its outcome. Another batch cannot be writing the same key
    /// meanwhile (it would hold the head); an account opening under the same key can, and then
    /// `write` fails on the key's uniqueness and the batch runs again (`execute`).
    async fn claim_and_lock(
        &mut self,
        claims: &[&Idempotency],
        now_ms: i64,
        ids: &[AccountId],
    ) -> Result<ClaimedAndLocked, StoreError> {
        self.now_ms = now_ms;
        let from_view = self.serve.then(|| self.view.read(ids)).flatten();
        // Behind every batch decided before this one (`PgStore::decide`), some perhaps still in
        // PostgreSQL: this one takes the head after them.
        let after_seq = from_view.as_ref().map_or_else(|| self.view.tip_seq(), |(head, _)| head.0);
        self.conn.take_head_after(after_seq);
        if let Some((head, accounts)) = from_view {
            // From the view (ledger_view.rs): the head's lock goes out with the next statement,
            // the closing one unless a hold's resolution is read first. Keys are taken as free:
            // one that is not fails the closing statement's insert, and the batch runs again
            // the ordinary way, which finds it.
            self.fast = true;
            self.start = Some(head);
            self.read = accounts.iter().map(AsRead::from).collect();
            return Ok(ClaimedAndLocked { prior: vec![None; claims.len()], accounts, head });
        }
        let (owners, keys, _, digests) = claim_arrays(claims);
        let rows = sqlx::query(sql(format!(
            "WITH locked AS MATERIALIZED (
                 SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY($3) ORDER BY id FOR UPDATE)
             SELECT 'a' AS kind, NULL::text AS key_owner, NULL::text AS key_key, NULL::bytea AS key_print,
                 NULL::text AS key_outcome, NULL::bigint AS head_seq, NULL::bytea AS head_hash, locked.* FROM locked
             UNION ALL
             SELECT 'k', t.owner_id, t.key, t.fingerprint, t.outcome, NULL, NULL,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
             FROM UNNEST($1::text[], $2::text[], $4::bytea[]) AS c(o, k, d)
                 JOIN idempotency_keys AS t ON t.digest = c.d AND t.owner_id = c.o AND t.key = c.k
             UNION ALL
             SELECT 'h', NULL, NULL, NULL, NULL, seq, hash,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
             FROM ledger_head WHERE id = 1"
        )))
        .bind(&owners)
        .bind(&keys)
        .bind(ids.iter().map(|i| i.0).collect::<Vec<uuid::Uuid>>())
        .bind(&digests)
        .fetch_all(self.conn.tx().await.map_err(store_error)?)
        .await
        .map_err(|e| self.failed(e))?;
        let mut taken: Vec<(String, String, Vec<u8>, String)> = Vec::new();
        let mut accounts: Vec<Account> = Vec::with_capacity(ids.len());
        let mut head: Option<(i64, Vec<u8>)> = None;
        for r in &rows {
            match r.try_get::<&str, _>("kind").map_err(store_error)? {
                "k" => taken.push((
                    r.try_get("key_owner").map_err(store_error)?,
                    r.try_get("key_key").map_err(store_error)?,
                    r.try_get("key_print").map_err(store_error)?,
                    r.try_get("key_outcome").map_err(store_error)?,
                )),
                "h" => {
                    head = Some((
                        r.try_get("head_seq").map_err(store_error)?,
                        r.try_get("head_hash").map_err(store_error)?,
                    ))
                }
                _ => accounts.push(account(r).map_err(store_error)?),
            }
        }
        accounts.sort_by_key(|a| a.id);
        let (seq, hash) = head.ok_or_else(|| StoreError::Other("the ledger head row is missing".into()))?;
        let hash: [u8; 32] =
            hash.try_into().map_err(|_| StoreError::Other("ledger head hash is not 32 bytes".into()))?;
        self.start = Some((seq, hash));
        self.read = accounts.iter().map(AsRead::from).collect();
        self.read_whole.clone_from(&accounts);
        let prior = claims
            .iter()
            .map(|c| {
                taken
                    .iter()
                    .find(|(o, k, _, _)| *o == c.owner && *k == c.key)
                    .map(|(_, _, f, out)| (f.clone(), out.clone()))
            })
            .collect();
        Ok(ClaimedAndLocked { prior, accounts, head: (seq, hash) })
    }

    async fn transfers_by_id(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>, StoreError> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query(sql(format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ANY($1)")))
            .bind(&ids)
            .fetch_all(self.conn.tx().await.map_err(store_error)?)
            .await
            .map_err(store_error)?;
        rows.iter().map(|r| chained(r).map(|c| c.transfer)).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn resolutions(&mut self, pending_ids: &[TransferId]) -> Result<Vec<(TransferId, bool)>, StoreError> {
        let ids: Vec<uuid::Uuid> = pending_ids.iter().map(|i| i.0).collect();
        let rows: Vec<(uuid::Uuid, i64)> =
            sqlx::query_as("SELECT pending_id, flags FROM ledger_transfers WHERE pending_id = ANY($1)")
                .bind(&ids)
                .fetch_all(self.conn.tx().await.map_err(store_error)?)
                .await
                .map_err(store_error)?;
        Ok(rows.into_iter().map(|(id, flags)| (TransferId(id), TransferFlags::from_bits(flags).post_pending)).collect())
    }

    /// One statement (data-modifying CTEs, each on rows this transaction holds under the
    /// head's lock, or inserts), the batch's last round trip: sent with the COMMIT behind it,
    /// or, decided from the view with nothing read, alone with the head's lock inside its Sync
    /// (batch_connection.rs).
    /// The keys are inserted here, with their outcomes: one row version each, not a claim
    /// followed by an update. `ledger_expect` refuses it unless the head and every account are
    /// still what the batch was decided on: always so for a batch that read them under its
    /// locks, and the whole point for one decided from the view (ledger_view.rs).
    async fn write(
        &mut self,
        accounts: Vec<Account>,
        outcomes: &[(&Idempotency, String)],
        journal: &[ChainedTransfer],
    ) -> Result<(), StoreError> {
        let start = self.start.ok_or_else(|| StoreError::Other("ledger batch written before it read".into()))?;
        let before = accounts
            .iter()
            .map(|a| as_read(&self.read, a.id))
            .collect::<Option<Vec<&AsRead>>>()
            .ok_or_else(|| StoreError::Other("ledger batch changed an account it did not read".into()))?;
        // The changed accounts are compare-and-set, always (under the batch's locks it cannot
        // fail; a variant skipping it there, `NOT $fast OR (…)`, measured slower). Those read but not
        // changed have their flags (which may have decided a refusal) asserted when they came
        // from the view; read under the batch's locks, they cannot have moved.
        let unchanged: Vec<&AsRead> = if self.fast {
            let changed: std::collections::HashSet<AccountId> = accounts.iter().map(|a| a.id).collect();
            self.read.iter().filter(|r| !changed.contains(&r.id)).collect()
        } else {
            Vec::new()
        };
        let after: Vec<Balances> = accounts.iter().map(|a| a.balances).collect();
        let expected: Vec<Balances> = before.iter().map(|a| a.balances).collect();
        let bal = |list: &[Balances], f: fn(&Balances) -> u128| list.iter().map(|b| Numeric(f(b))).collect::<Vec<_>>();
        // Borrowed, not copied: the batch thread is the ledger's serial section, and every copy
        // is an allocation there (bench/RESULTS.md).
        let tr = |f: fn(&ChainedTransfer) -> &str| journal.iter().map(f).collect::<Vec<&str>>();
        let head = journal.last().map(|c| (c.seq, c.hash.clone()));
        let end = match journal.last() {
            Some(c) => {
                (c.seq, c.hash.as_slice().try_into().map_err(|_| StoreError::Other("hash not 32 bytes".into()))?)
            }
            None => start,
        };
        let query = sqlx::query(CLOSING)
            .bind(accounts.iter().map(|x| x.id.0).collect::<Vec<uuid::Uuid>>())
            .bind(bal(&after, |b| b.debits_pending))
            .bind(bal(&after, |b| b.debits_posted))
            .bind(bal(&after, |b| b.credits_pending))
            .bind(bal(&after, |b| b.credits_posted))
            .bind(outcomes.iter().map(|(k, _)| k.owner.as_str()).collect::<Vec<&str>>())
            .bind(outcomes.iter().map(|(k, _)| k.key.as_str()).collect::<Vec<&str>>())
            .bind(outcomes.iter().map(|(_, o)| o.as_str()).collect::<Vec<&str>>())
            .bind(journal.iter().map(|c| c.seq).collect::<Vec<i64>>())
            .bind(journal.iter().map(|c| c.transfer.id.0).collect::<Vec<uuid::Uuid>>())
            .bind(journal.iter().map(|c| c.transfer.debit_account_id.0).collect::<Vec<uuid::Uuid>>())
            .bind(journal.iter().map(|c| c.transfer.credit_account_id.0).collect::<Vec<uuid::Uuid>>())
            .bind(journal.iter().map(|c| Numeric(c.transfer.amount)).collect::<Vec<Numeric>>())
            .bind(tr(|c| c.transfer.asset.as_str()))
            .bind(tr(|c| c.transfer.code.as_str()))
            .bind(journal.iter().map(|c| c.transfer.flags.bits()).collect::<Vec<i64>>())
            .bind(journal.iter().map(|c| c.transfer.pending_id.map(|p| p.0)).collect::<Vec<Option<uuid::Uuid>>>())
            .bind(journal.iter().map(|c| c.transfer.expires_at).collect::<Vec<Option<i64>>>())
            .bind(journal.iter().map(|c| c.transfer.description.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(
                journal
                    .iter()
                    .map(|c| serde_json::to_string(&c.transfer.metadata).unwrap_or_else(|_| "{}".into()))
                    .collect::<Vec<String>>(),
            )
            .bind(journal.iter().map(|c| c.transfer.debit_balance_after.map(|b| b.to_string())).collect::<Vec<_>>())
            .bind(journal.iter().map(|c| c.transfer.credit_balance_after.map(|b| b.to_string())).collect::<Vec<_>>())
            .bind(journal.iter().map(|c| c.transfer.created_at).collect::<Vec<i64>>())
            .bind(journal.iter().map(|c| c.prev_hash.as_slice()).collect::<Vec<&[u8]>>())
            .bind(journal.iter().map(|c| c.hash.as_slice()).collect::<Vec<&[u8]>>())
            .bind(head.as_ref().map(|h| h.0))
            .bind(head.map(|h| h.1))
            .bind(outcomes.iter().map(|(k, _)| k.fingerprint.as_slice()).collect::<Vec<&[u8]>>())
            .bind(self.now_ms)
            .bind(before.iter().map(|x| x.flags.bits()).collect::<Vec<i64>>())
            .bind(bal(&expected, |b| b.debits_pending))
            .bind(bal(&expected, |b| b.debits_posted))
            .bind(bal(&expected, |b| b.credits_pending))
            .bind(bal(&expected, |b| b.credits_posted))
            .bind(unchanged.iter().map(|x| x.id.0).collect::<Vec<uuid::Uuid>>())
            .bind(unchanged.iter().map(|x| x.flags.bits()).collect::<Vec<i64>>())
            .bind(start.0)
            .bind(start.1.as_slice())
            .bind(outcomes.iter().map(|(k, _)| digest(&k.owner, &k.key)).collect::<Vec<Vec<u8>>>())
            .bind(accounts.iter().map(|x| x.last_seq).collect::<Vec<Option<i64>>>())
            .bind(journal.iter().map(|c| c.debit_prev).collect::<Vec<Option<i64>>>())
            .bind(journal.iter().map(|c| c.credit_prev).collect::<Vec<Option<i64>>>());
        self.written = Some((end, accounts));
        // Decided: the next batch may be decided from the view as this one leaves it, and sent
        // while this one is in PostgreSQL, taking the head after this one (`take_head`). Its
        // turn begins once the first poll has written this statement, so that its request
        // for the head usually arrives second and need not wait for this one's.
        let turn = self.decide();
        if let Some((pipeline, ahead)) = self.pipeline.clone().zip(self.conn.pipelinable()) {
            // No transaction open: the statement is the batch (pipeline.rs). Submitted before
            // the turn ends, so batches go out in the order they were decided.
            let mut query = query;
            let arguments = sqlx::Execute::take_arguments(&mut query)
                .map_err(|e| StoreError::Other(format!("ledger batch arguments: {e}")))?
                .ok_or_else(|| StoreError::Other("ledger batch without arguments".into()))?;
            let answer = pipeline.send(CLOSING, arguments, ahead);
            drop(turn);
            answer.await.map_err(|e| self.failed(e))?;
            return Ok(());
        }
        let done = {
            let conn = self.conn.closing().await.map_err(store_error)?;
            let mut sent = std::pin::pin!(query.execute(conn));
            let first = futures::poll!(sent.as_mut());
            drop(turn);
            match first {
                std::task::Poll::Ready(done) => done,
                std::task::Poll::Pending => sent.await,
            }
        };
        done.map_err(|e| self.failed(e))?;
        Ok(())
    }

    fn wrote(&mut self, journal: Vec<ChainedTransfer>) {
        self.wrote = journal;
    }
}

async fn insert_account(tx: &mut Transaction<'static, Postgres>, a: &Account) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, parent_id, flags, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(a.id.0)
    .bind(a.asset.as_str())
    .bind(&a.owner)
    .bind(&a.code)
    .bind(&a.name)
    .bind(a.parent_id.map(|p| p.0))
    .bind(a.flags.bits())
    .bind(a.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl LedgerStore for PgStore {
    async fn create_account(
        &self,
        account: Account,
        idempotency: Option<Idempotency>,
    ) -> Result<Created<Account>, StoreError> {
        let conn = BatchConnection::new(self.pool.clone());
        let mut ltx = PgLedgerTx::new(conn, account.created_at, self.view.clone(), false, None, None);
        if let Some(k) = &idempotency {
            let prior = ltx.claim_keys(&[k], account.created_at).await?;
            if let Some(Some((fingerprint, outcome))) = prior.into_iter().next() {
                if fingerprint != k.fingerprint {
                    return Ok(Created::KeyReused);
                }
                let id: AccountId = serde_json::from_str(&outcome).map_err(|e| StoreError::Other(e.to_string()))?;
                let found =
                    self.account(id).await?.ok_or_else(|| StoreError::Other("replayed account missing".into()))?;
                return Ok(Created::Replayed(found));
            }
        }
        let mut tx = ltx.conn.into_tx().await.map_err(store_error)?;
        insert_account(&mut tx, &account).await.map_err(store_error)?;
        if let Some(k) = &idempotency {
            sqlx::query("UPDATE idempotency_keys SET outcome = $3 WHERE digest = $4 AND owner_id = $1 AND key = $2")
                .bind(&k.owner)
                .bind(&k.key)
                .bind(serde_json::to_string(&account.id).unwrap_or_default())
                .bind(digest(&k.owner, &k.key))
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(Created::New(account))
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(sql(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(account).transpose().map_err(store_error)
    }

    async fn accounts_of(
        &self,
        owners: &[String],
        starting_after: Option<AccountId>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query(sql(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner_id = ANY($1) AND ($2::uuid IS NULL OR id > $2)
             ORDER BY id LIMIT $3"
        )))
        .bind(owners)
        .bind(starting_after.map(|a| a.0))
        .bind(i64::from(limit))
        .fetch_all(self.read_pool())
        .await
        .map_err(store_error)?;
        rows.iter().map(account).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn system_account(&self, code: &str, asset: &AssetCode, now_ms: i64) -> Result<Account, StoreError> {
        let find = || async {
            let row = sqlx::query(sql(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner_id = 'bank' AND code = $1 AND asset = $2"
            )))
            .bind(code)
            .bind(asset.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
            row.as_ref().map(account).transpose().map_err(store_error)
        };
        if let Some(a) = find().await? {
            return Ok(a);
        }
        let new = Account {
            id: AccountId::new(),
            asset: asset.clone(),
            owner: "bank".into(),
            code: code.into(),
            name: format!("Bank {code} {asset}"),
            parent_id: None,
            flags: AccountFlags::default(),
            balances: Balances::default(),
            created_at: now_ms,
            last_seq: None,
        };
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // Two instances racing here: the partial unique index lets one win; both then read it.
        let _ = sqlx::query(
            "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, flags, created_at)
             VALUES ($1, $2, 'bank', $3, $4, 0, $5) ON CONFLICT DO NOTHING",
        )
        .bind(new.id.0)
        .bind(asset.as_str())
        .bind(code)
        .bind(&new.name)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        find().await?.ok_or_else(|| StoreError::Other("system account missing after insert".into()))
    }

    async fn close_account(&self, id: AccountId) -> Result<CloseOutcome, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = sqlx::query(sql(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1 FOR UPDATE")))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        let Some(mut a) = row.as_ref().map(account).transpose().map_err(store_error)? else {
            return Ok(CloseOutcome::NotFound);
        };
        if a.flags.closed {
            return Ok(CloseOutcome::AlreadyClosed);
        }
        let b = a.balances;
        if b.debits_posted != b.credits_posted || b.debits_pending != 0 || b.credits_pending != 0 {
            return Ok(CloseOutcome::NotEmpty);
        }
        a.flags.closed = true;
        self.view.forget(id);
        sqlx::query("UPDATE ledger_accounts SET flags = $2 WHERE id = $1")
            .bind(id.0)
            .bind(a.flags.bits())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(CloseOutcome::Closed(Box::new(a)))
    }

    async fn execute(&self, commands: &[Command], now_ms: i64) -> Result<Vec<CommandOutcome>, StoreError> {
        // See `worth_retrying`: the transaction rolled back whole, and the next attempt finds
        // the key (and answers as a replay or `idempotency_key_reused`), or the accounts and
        // head that moved under a batch decided from the view.
        // A batch that resolves holds is not decided from the view: the engine would meet the
        // hold, read as committed, beside its accounts' counters as this instance last saw
        // them, and another instance may have placed the hold since (the counters then lack
        // it, which the engine asserts against). Found by crates/ledger/tests/model with two
        // instances.
        let resolves = commands.iter().flat_map(|c| &c.requests).any(|r| r.pending_id.is_some());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (lane, _taken) = self.lane().await;
            let conn = BatchConnection::new(lane.clone());
            let turn = self.decide.clone().lock_owned().await;
            // The view serves first attempts only: a second reads what moved.
            let mut ltx = PgLedgerTx::new(
                conn,
                now_ms,
                self.view.clone(),
                attempts == 1 && !resolves,
                Some(turn),
                Some(self.pipeline.clone()),
            );
            let result = match execute_batch(&mut ltx, commands, now_ms).await {
                // Nothing to write, yet refusals were decided from the view: assert it all the same.
                Ok(outcomes) if ltx.fast && ltx.written.is_none() => {
                    ltx.write(Vec::new(), &[], &[]).await.map(|()| outcomes)
                }
                other => other,
            };
            match result {
                Ok(outcomes) => {
                    // Nothing written: what it read goes into the view all the same.
                    drop(ltx.decide());
                    let fast = ltx.fast;
                    let committed = ltx.conn.commit().await;
                    if let Some(ticket) = ltx.decided {
                        match &committed {
                            Ok(()) => self.view.committed(ticket, fast),
                            Err(_) => self.view.failed(ticket),
                        }
                    }
                    committed.map_err(store_error)?;
                    self.recent.committed(std::mem::take(&mut ltx.wrote));
                    metrics::counter!("ledger_batch_reads_total", "from" => if fast { "view" } else { "database" })
                        .increment(1);
                    return Ok(outcomes);
                }
                Err(e) => {
                    match ltx.decided {
                        Some(ticket) if ltx.refused => {
                            self.view.refused(ticket);
                            metrics::counter!("ledger_batch_reads_total", "from" => "view_refused").increment(1);
                        }
                        Some(ticket) => self.view.failed(ticket),
                        None => {}
                    }
                    if !(ltx.retry && attempts < 5) {
                        return Err(e);
                    }
                    if ltx.refused {
                        tracing::debug!("ledger batch decided from a stale view; running it again");
                    } else {
                        tracing::info!(error = %e, attempts, "ledger batch rolled back; running it again");
                    }
                }
            }
        }
    }

    /// Batches decided from the view go on the pipeline (pipeline.rs), one behind the other;
    /// with the view off, every batch reads first and runs on a lane of its own.
    fn pipelines_batches(&self) -> bool {
        self.view.capacity() > 0
    }

    async fn transfer(&self, id: TransferId) -> Result<Option<(Transfer, Option<PendingState>)>, StoreError> {
        let row = sqlx::query(sql(format!(
            "SELECT {TRANSFER_COLUMNS}, (SELECT r.flags FROM ledger_transfers r WHERE r.pending_id = t.id) AS resolution
             FROM ledger_transfers t WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let t = chained(&row).map_err(store_error)?.transfer;
        let resolution: Option<i64> = row.try_get("resolution").map_err(store_error)?;
        let state = t.flags.pending.then(|| match resolution.map(TransferFlags::from_bits) {
            Some(f) if f.post_pending => PendingState::Posted,
            Some(_) => PendingState::Voided,
            None => PendingState::Pending,
        });
        Ok(Some((t, state)))
    }

    async fn account_transfers(
        &self,
        id: AccountId,
        starting_after: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<Transfer>, StoreError> {
        // Along the account's chain (history_walk), from its last row, or from the row before
        // the cursor when the cursor names this account; a cursor naming another account's
        // transfer pages by its seq, walking past the rows at or after it.
        let rows = sqlx::query(sql(format!(
            "WITH RECURSIVE cursor AS (SELECT seq AS cseq, {PREV} AS cprev, $1 IN (debit_account_id, credit_account_id) AS ours
                 FROM ledger_transfers t WHERE id = $2),
             walk (wseq, wprev, shown) AS (
                 SELECT t.seq, {PREV}, (t.seq < coalesce((SELECT cseq FROM cursor), t.seq + 1))::int
                 FROM ledger_transfers t
                 WHERE t.seq = CASE WHEN $2::uuid IS NULL THEN (SELECT last_seq FROM ledger_accounts WHERE id = $1)
                     ELSE (SELECT CASE WHEN ours THEN cprev
                               ELSE (SELECT last_seq FROM ledger_accounts WHERE id = $1) END FROM cursor) END
                 UNION ALL
                 SELECT t.seq, {PREV}, walk.shown + (t.seq < coalesce((SELECT cseq FROM cursor), t.seq + 1))::int
                 FROM walk JOIN ledger_transfers t ON t.seq = walk.wprev
                 WHERE walk.shown < $3)
             SELECT {TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers ON seq = wseq
             WHERE $2::uuid IS NULL OR seq < (SELECT cseq FROM cursor)
             ORDER BY seq DESC LIMIT $3"
        )))
        .bind(id.0)
        .bind(starting_after.map(|t| t.0))
        .bind(i64::from(limit))
        .fetch_all(self.read_pool())
        .await
        .map_err(store_error)?;
        rows.iter().map(|r| chained(r).map(|c| c.transfer)).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn posted_between(
        &self,
        id: AccountId,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<Transfer>, StoreError> {
        // Back along the chain until a row older than `from_ms` by more than instances' clocks
        // may disagree (a row's time is its batch's clock; seq order is commit order).
        let rows = sqlx::query(sql(format!(
            "WITH RECURSIVE {}
             SELECT {TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers ON seq = wseq
             WHERE posted AND wat >= $2 AND wat < $3
             ORDER BY seq LIMIT $4",
            walk(&format!("walk.wat >= $2 - {CLOCK_SKEW_MS}"))
        )))
        .bind(id.0)
        .bind(from_ms)
        .bind(to_ms)
        .bind(i64::from(limit))
        .fetch_all(self.read_pool())
        .await
        .map_err(store_error)?;
        rows.iter().map(|r| chained(r).map(|c| c.transfer)).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn last_posted_before(&self, id: AccountId, before_ms: i64) -> Result<Option<Transfer>, StoreError> {
        // The first row back along the chain that is posted and older than `before_ms`.
        let row = sqlx::query(sql(format!(
            "WITH RECURSIVE {}
             SELECT {TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers ON seq = wseq
             WHERE posted AND wat < $2",
            walk("NOT (walk.posted AND walk.wat < $2)")
        )))
        .bind(id.0)
        .bind(before_ms)
        .fetch_optional(self.read_pool())
        .await
        .map_err(store_error)?;
        row.as_ref().map(|r| chained(r).map(|c| c.transfer)).transpose().map_err(store_error)
    }

    async fn expired_pending(&self, now_ms: i64, limit: u32) -> Result<Vec<TransferId>, StoreError> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT t.id FROM ledger_transfers t WHERE t.expires_at IS NOT NULL AND t.expires_at <= $1
               AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
             ORDER BY t.expires_at LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(ids.into_iter().map(TransferId).collect())
    }

    async fn forget_idempotency_keys(&self, created_before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        // The old keys are found through a BRIN index on created_at (migration 0013), which
        // costs the hot path's inserts next to nothing, and deleted by their row addresses (a
        // TID scan). Deleting by digest instead planned as a hash join over a sequential scan
        // of the whole table: 117 ms per 5,000 keys out of a million, against 3 ms.
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2))",
        )
        .bind(created_before_ms)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn verification_data(&self) -> Result<(Vec<Account>, Vec<ChainedTransfer>), StoreError> {
        // One repeatable-read snapshot, so accounts and journal agree with each other.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let accounts = sqlx::query(sql(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY id")))
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
        let transfers = sqlx::query(sql(format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers ORDER BY seq")))
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok((
            accounts.iter().map(account).collect::<Result<_, _>>().map_err(store_error)?,
            transfers.iter().map(chained).collect::<Result<_, _>>().map_err(store_error)?,
        ))
    }
}

pb_store_sql::impl_ledger_records!(PgStore, sqlx::postgres::PgRow, TRANSFER_COLUMNS, chained, writes = pool);
