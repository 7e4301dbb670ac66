use std::collections::BTreeMap;
use std::fmt::{self, Debug, Formatter};
use std::future::Future;
use std::sync::Arc;

use crate::HashMap;

use crate::common::StatementCache;
use crate::error::Error;
use crate::ext::ustr::UStr;
use crate::io::StatementId;
use crate::message::{
    BackendMessageFormat, Close, Query, ReadyForQuery, ReceivedMessage, Terminate,
    TransactionStatus,
};
use crate::statement::PgStatementMetadata;
use crate::transaction::Transaction;
use crate::types::Oid;
use crate::{PgConnectOptions, PgTypeInfo, Postgres};

pub(crate) use sqlx_core::connection::*;
use sqlx_core::sql_str::SqlSafeStr;

pub use self::stream::PgStream;

#[cfg(feature = "offline")]
mod describe;
mod establish;
mod executor;
mod resolve;
mod sasl;
mod stream;
mod tls;

/// A connection to a PostgreSQL database.
///
/// See [`PgConnectOptions`] for connection URL reference.
pub struct PgConnection {
    pub(crate) inner: Box<PgConnectionInner>,
}

pub struct PgConnectionInner {
    // underlying TCP or UDS stream,
    // wrapped in a potentially TLS stream,
    // wrapped in a buffered stream
    pub(crate) stream: PgStream,

    // process id of this backend
    // used to send cancel requests
    #[allow(dead_code)]
    process_id: u32,

    // secret key of this backend
    // used to send cancel requests
    #[allow(dead_code)]
    secret_key: u32,

    // sequence of statement IDs for use in preparing statements
    // in PostgreSQL, the statement is prepared to a user-supplied identifier
    next_statement_id: StatementId,

    // cache statement by query string to the id and columns
    cache_statement: StatementCache<(StatementId, Arc<PgStatementMetadata>)>,

    // cache user-defined types by id <-> info
    cache_type_info: HashMap<Oid, PgTypeInfo>,
    cache_type_oid: HashMap<UStr, Oid>,
    cache_elem_type_to_array: HashMap<Oid, Oid>,
    cache_table_data: HashMap<Oid, TableData>,

    // number of ReadyForQuery messages that we are currently expecting
    pub(crate) pending_ready_for_query_count: usize,

    // current transaction status
    transaction_status: TransactionStatus,
    pub(crate) transaction_depth: usize,

    // Protocol Bank patch (pipelining; third_party/README.md): a BEGIN queued by
    // `Transaction::begin` goes out in the same write as the next query instead of costing a
    // round trip of its own, and a COMMIT asked for with `commit_after_next_query` goes out
    // right behind the next query. `begin_queued` is set when a BEGIN is queued that way:
    // the next query does not wait for its answer first.
    pub(crate) begin_queued: bool,
    pub(crate) pipelined_commit: PipelinedCommit,
    // Protocol Bank patch: statements queued with `queue_in_next_query_sync` (or its prepared
    // variant: the flag), written ahead of the next query's Bind, inside its Sync.
    pub(crate) same_sync: Vec<(String, bool)>,
    // Protocol Bank patch: queries written with `send_pipelined` whose answers are not read
    // yet, oldest first: how many statements queued inside each one's Sync precede it.
    pub(crate) pipelined: std::collections::VecDeque<usize>,

    log_settings: LogSettings,
}

/// Protocol Bank patch: where a COMMIT asked to ride behind the next query stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipelinedCommit {
    None,
    /// Asked for; written behind the next query the connection runs.
    Requested,
    /// Written and sent; `Transaction::commit` reads its answer.
    Sent,
}

pub(crate) struct TableData {
    table_name: Arc<str>,
    /// Attribute number -> name.
    columns: BTreeMap<i16, Arc<str>>,
}

impl PgConnection {
    /// the version number of the server in `libpq` format
    pub fn server_version_num(&self) -> Option<u32> {
        self.inner.stream.server_version_num
    }

    // will return when the connection is ready for another query
    pub(crate) async fn wait_until_ready(&mut self) -> Result<(), Error> {
        if !self.inner.stream.write_buffer_mut().is_empty() {
            self.inner.stream.flush().await?;
        }

        while self.inner.pending_ready_for_query_count > 0 {
            let message = self.inner.stream.recv().await?;

            if let BackendMessageFormat::ReadyForQuery = message.format {
                self.handle_ready_for_query(message)?;
            }
        }
        // Protocol Bank patch: answers owed to `send_pipelined` were read (and dropped) above.
        self.inner.pipelined.clear();

        Ok(())
    }

    /// Protocol Bank patch: reads the answers to the `count` ReadyForQuery-terminated messages
    /// already sent ahead of the current query (a pipelined BEGIN), so that
    /// what follows is the current query's. If one of them failed, the current query cannot
    /// have done its work (its transaction is aborted): its answer is read too, so that the
    /// first error is the one returned and the connection is left ready for the next query.
    pub(crate) async fn drain_ready_for_query(&mut self, mut count: usize) -> Result<(), Error> {
        let mut first_error: Option<Error> = None;
        while count > 0 {
            match self.inner.stream.recv().await {
                Ok(message) => {
                    if let BackendMessageFormat::ReadyForQuery = message.format {
                        self.handle_ready_for_query(message)?;
                        count -= 1;
                    }
                }
                Err(Error::Database(e)) => {
                    first_error.get_or_insert(Error::Database(e));
                }
                Err(e) => return Err(e),
            }
        }
        match first_error {
            Some(error) => self.fail_once_ready(error).await,
            None => Ok(()),
        }
    }

    /// Protocol Bank patch: after `error`, reads everything still due up to the last
    /// ReadyForQuery (later errors are its consequences), so the connection is left ready for
    /// the next query, and returns `error`.
    async fn fail_once_ready(&mut self, error: Error) -> Result<(), Error> {
        while self.inner.pending_ready_for_query_count > 0 {
            match self.inner.stream.recv().await {
                Ok(message) => {
                    if let BackendMessageFormat::ReadyForQuery = message.format {
                        self.handle_ready_for_query(message)?;
                    }
                }
                Err(Error::Database(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(error)
    }

    /// Protocol Bank patch: queue `sql` (no parameters; rows it returns are read and dropped)
    /// to run ahead of the next query inside that query's Sync: it is written as Parse, Bind
    /// and Execute of the unnamed statement right before the query's own Bind, with no Sync
    /// between them. Outside a transaction block PostgreSQL then runs both in one implicit
    /// transaction, committed at the Sync, or rolled back whole if either fails ("Pipelining"
    /// in the protocol's documentation, protocol-flow.html), and answers once: a transaction
    /// of two statements in one round trip and one flush, with no BEGIN or COMMIT. Inside a
    /// transaction, both simply run in it. In READ COMMITTED the query's snapshot is taken
    /// after `sql` ran: a lock `sql` takes (`SELECT … FOR UPDATE`) is held, and everything
    /// committed before it was granted is visible, when the query reads. The next query must
    /// be a prepared one (a query with arguments, as `sqlx::query(…).bind(…)` makes, on a
    /// persistent statement); otherwise it fails without being sent. If `sql` fails, the query
    /// does not run and its answer is that error.
    pub fn queue_in_next_query_sync(&mut self, sql: &str) {
        self.inner.same_sync.push((sql.to_owned(), false));
    }

    /// Protocol Bank patch: as `queue_in_next_query_sync`, through a named statement prepared
    /// once per connection instead of the unnamed one, so that PostgreSQL does not parse,
    /// analyze and plan `sql` again every time. For a constant `sql` queued over and over
    /// (the ledger's journal head lock, once per batch): each distinct text takes a place in
    /// the statement cache. `send_pipelined` prepares it when nothing is owed on the
    /// connection (one round trip, the first time); otherwise, in an ordinary query, and on a
    /// connection without a statement cache, it goes through the unnamed statement unless
    /// already prepared.
    pub fn queue_prepared_in_next_query_sync(&mut self, sql: &str) {
        self.inner.same_sync.push((sql.to_owned(), true));
    }

    /// Protocol Bank patch: reads the answers to the statements queued inside the current
    /// query's Sync (`queue_in_next_query_sync`), so that what follows is the query's own. If
    /// one failed, PostgreSQL skipped the rest up to the Sync (the query included), and rolled
    /// back the implicit transaction (or left the open one aborted): the ReadyForQuery is read
    /// and the error returned.
    pub(crate) async fn drain_same_sync(&mut self, mut count: usize) -> Result<(), Error> {
        while count > 0 {
            match self.inner.stream.recv().await {
                Ok(message) => match message.format {
                    BackendMessageFormat::CommandComplete
                    | BackendMessageFormat::EmptyQueryResponse => count -= 1,
                    BackendMessageFormat::ReadyForQuery => {
                        self.handle_ready_for_query(message)?;
                        return Err(err_protocol!(
                            "ReadyForQuery before the statements queued in its Sync completed"
                        ));
                    }
                    // ParseComplete, BindComplete, the rows.
                    _ => {}
                },
                Err(Error::Database(e)) => return self.fail_once_ready(Error::Database(e)).await,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Protocol Bank patch: send `COMMIT` in the same write as the next query this connection
    /// runs, right behind it, so a transaction's last statement and its commit share a round
    /// trip; `Transaction::commit` then only reads the answer, and fails unless it is a
    /// `COMMIT` (an aborted transaction answers `ROLLBACK`). Only for the outermost
    /// transaction; ignored otherwise. If the next query fails, the transaction is over
    /// (rolled back) either way.
    pub fn commit_after_next_query(&mut self) {
        if self.inner.transaction_depth == 1 {
            self.inner.pipelined_commit = PipelinedCommit::Requested;
        }
    }

    /// Protocol Bank patch: reads the answer to a COMMIT sent behind the last query.
    pub(crate) async fn finish_pipelined_commit(&mut self) -> Result<(), Error> {
        if !self.inner.stream.write_buffer_mut().is_empty() {
            self.inner.stream.flush().await?;
        }
        let mut committed = false;
        while self.inner.pending_ready_for_query_count > 0 {
            let message = self.inner.stream.recv().await?;
            match message.format {
                BackendMessageFormat::CommandComplete => {
                    let done: crate::message::CommandComplete = message.decode()?;
                    // The tag is a C string; its NUL is still on it here.
                    committed = done.tag().strip_suffix(b"\0").unwrap_or(done.tag()) == b"COMMIT";
                }
                BackendMessageFormat::ReadyForQuery => self.handle_ready_for_query(message)?,
                _ => {}
            }
        }
        if committed {
            Ok(())
        } else {
            Err(err_protocol!("the pipelined COMMIT did not commit (the transaction was rolled back)"))
        }
    }

    async fn recv_ready_for_query(&mut self) -> Result<(), Error> {
        let r: ReadyForQuery = self.inner.stream.recv_expect().await?;

        self.inner.pending_ready_for_query_count -= 1;
        self.inner.transaction_status = r.transaction_status;

        Ok(())
    }

    #[inline(always)]
    fn handle_ready_for_query(&mut self, message: ReceivedMessage) -> Result<(), Error> {
        self.inner.pending_ready_for_query_count = self
            .inner
            .pending_ready_for_query_count
            .checked_sub(1)
            .ok_or_else(|| err_protocol!("received more ReadyForQuery messages than expected"))?;

        self.inner.transaction_status = message.decode::<ReadyForQuery>()?.transaction_status;

        Ok(())
    }

    /// Queue a simple query (not prepared) to execute the next time this connection is used.
    ///
    /// Used for rolling back transactions and releasing advisory locks.
    #[inline(always)]
    pub(crate) fn queue_simple_query(&mut self, query: &str) -> Result<(), Error> {
        self.inner.stream.write_msg(Query(query))?;
        self.inner.pending_ready_for_query_count += 1;

        Ok(())
    }

    pub(crate) fn in_transaction(&self) -> bool {
        match self.inner.transaction_status {
            TransactionStatus::Transaction => true,
            TransactionStatus::Error | TransactionStatus::Idle => false,
        }
    }
}

impl Debug for PgConnection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConnection").finish()
    }
}

impl Connection for PgConnection {
    type Database = Postgres;

    type Options = PgConnectOptions;

    async fn close(mut self) -> Result<(), Error> {
        // The normal, graceful termination procedure is that the frontend sends a Terminate
        // message and immediately closes the connection.

        // On receipt of this message, the backend closes the
        // connection and terminates.
        self.inner.stream.send(Terminate).await?;
        self.inner.stream.shutdown().await?;

        Ok(())
    }

    async fn close_hard(mut self) -> Result<(), Error> {
        self.inner.stream.shutdown().await?;

        Ok(())
    }

    async fn ping(&mut self) -> Result<(), Error> {
        // Users were complaining about this showing up in query statistics on the server.
        // By sending a comment we avoid an error if the connection was in the middle of a rowset
        // self.execute("/* SQLx ping */").map_ok(|_| ()).boxed()

        // Protocol Bank patch (third_party/README.md): a statement queued to ride inside the
        // next query's Sync belongs to whoever queued it. The pool pings a connection on its way
        // back (when anything is owed) and before handing out one that sat idle: either way the
        // next query is someone else's, so the queue is dropped, never run ahead of it.
        self.inner.same_sync.clear();

        // The simplest call-and-response that's possible.
        self.write_sync();
        self.wait_until_ready().await
    }

    fn begin(
        &mut self,
    ) -> impl Future<Output = Result<Transaction<'_, Self::Database>, Error>> + Send + '_ {
        Transaction::begin(self, None)
    }

    fn begin_with(
        &mut self,
        statement: impl SqlSafeStr,
    ) -> impl Future<Output = Result<Transaction<'_, Self::Database>, Error>> + Send + '_
    where
        Self: Sized,
    {
        Transaction::begin(self, Some(statement.into_sql_str()))
    }

    fn cached_statements_size(&self) -> usize {
        self.inner.cache_statement.len()
    }

    async fn clear_cached_statements(&mut self) -> Result<(), Error> {
        self.inner.cache_type_oid.clear();

        let mut cleared = 0_usize;

        self.wait_until_ready().await?;

        while let Some((id, _)) = self.inner.cache_statement.remove_lru() {
            self.inner.stream.write_msg(Close::Statement(id))?;
            cleared += 1;
        }

        if cleared > 0 {
            self.write_sync();
            self.inner.stream.flush().await?;

            self.wait_for_close_complete(cleared).await?;
            self.recv_ready_for_query().await?;
        }

        Ok(())
    }

    fn shrink_buffers(&mut self) {
        self.inner.stream.shrink_buffers();
    }

    #[doc(hidden)]
    fn flush(&mut self) -> impl Future<Output = Result<(), Error>> + Send + '_ {
        self.wait_until_ready()
    }

    #[doc(hidden)]
    fn should_flush(&self) -> bool {
        !self.inner.stream.write_buffer().is_empty()
    }

    // Protocol Bank patch (third_party/README.md): every ReadyForQuery read, none owed, the
    // server idle outside a transaction, nothing written but unsent and nothing queued to go
    // with the next query. A dropped transaction queues its ROLLBACK (written, answer owed) and
    // a query future dropped mid-flight leaves its Sync's answer owed: both still get pinged.
    #[doc(hidden)]
    fn is_idle_and_flushed(&self) -> bool {
        self.inner.pending_ready_for_query_count == 0
            && self.inner.transaction_depth == 0
            && matches!(self.inner.transaction_status, TransactionStatus::Idle)
            && self.inner.stream.write_buffer().is_empty()
            && !self.inner.begin_queued
            && self.inner.pipelined_commit == PipelinedCommit::None
            && self.inner.same_sync.is_empty()
            && self.inner.pipelined.is_empty()
    }
}

// Implement `AsMut<Self>` so that `PgConnection` can be wrapped in
// a `PgAdvisoryLockGuard`.
//
// See: https://github.com/launchbadge/sqlx/issues/2520
impl AsMut<PgConnection> for PgConnection {
    fn as_mut(&mut self) -> &mut PgConnection {
        self
    }
}
