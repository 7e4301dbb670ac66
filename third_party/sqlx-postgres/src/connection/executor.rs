use crate::error::Error;
use crate::executor::{Execute, Executor};
use crate::io::{PortalId, StatementId};
use crate::logger::QueryLogger;
use crate::message::{
    self, BackendMessageFormat, Bind, Close, CommandComplete, DataRow, ParameterDescription, Parse,
    ParseComplete, RowDescription,
};
use crate::connection::PipelinedCommit;
use crate::statement::PgStatementMetadata;
use crate::{
    statement::PgStatement, PgArguments, PgConnection, PgQueryResult, PgRow, PgTypeInfo,
    PgValueFormat, Postgres,
};
use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_core::Stream;
use futures_util::TryStreamExt;
use sqlx_core::arguments::Arguments;
use sqlx_core::sql_str::SqlStr;
use sqlx_core::Either;
use std::{pin::pin, sync::Arc};

async fn prepare(
    conn: &mut PgConnection,
    sql: &str,
    arg_types: &[PgTypeInfo],
    metadata: Option<Arc<PgStatementMetadata>>,
    persistent: bool,
    resolve_column_origin: bool,
) -> Result<(StatementId, Arc<PgStatementMetadata>), Error> {
    let id = if persistent {
        let id = conn.inner.next_statement_id;
        conn.inner.next_statement_id = id.next();
        id
    } else {
        StatementId::UNNAMED
    };

    // build a list of type OIDs to send to the database in the PARSE command
    // we have not yet started the query sequence, so we are *safe* to cleanly make
    // additional queries here to get any missing OIDs
    let param_types = conn.resolve_types(arg_types).await?;

    // flush and wait until we are re-ready
    conn.wait_until_ready().await?;

    // next we send the PARSE command to the server
    conn.inner.stream.write_msg(Parse {
        param_types: &param_types,
        query: sql,
        statement: id,
    })?;

    if metadata.is_none() {
        // get the statement columns and parameters
        conn.inner
            .stream
            .write_msg(message::Describe::Statement(id))?;
    }

    // we ask for the server to immediately send us the result of the PARSE command
    conn.write_sync();
    conn.inner.stream.flush().await?;

    // indicates that the SQL query string is now successfully parsed and has semantic validity
    conn.inner.stream.recv_expect::<ParseComplete>().await?;

    let metadata = if let Some(metadata) = metadata {
        // each SYNC produces one READY FOR QUERY
        conn.recv_ready_for_query().await?;

        // we already have metadata
        metadata
    } else {
        let parameters = recv_desc_params(conn).await?;

        let row_desc = recv_desc_rows(conn).await?;

        // each SYNC produces one READY FOR QUERY
        conn.recv_ready_for_query().await?;

        let metadata = conn
            .resolve_statement_metadata::<true>(Some(parameters), row_desc, resolve_column_origin)
            .await?;

        // ensure that if we did fetch custom data, we wait until we are fully ready before
        // continuing
        conn.wait_until_ready().await?;

        metadata
    };

    Ok((id, metadata))
}

async fn recv_desc_params(conn: &mut PgConnection) -> Result<ParameterDescription, Error> {
    conn.inner.stream.recv_expect().await
}

async fn recv_desc_rows(conn: &mut PgConnection) -> Result<Option<RowDescription>, Error> {
    let rows: Option<RowDescription> = match conn.inner.stream.recv().await? {
        // describes the rows that will be returned when the statement is eventually executed
        message if message.format == BackendMessageFormat::RowDescription => {
            Some(message.decode()?)
        }

        // no data would be returned if this statement was executed
        message if message.format == BackendMessageFormat::NoData => None,

        message => {
            return Err(err_protocol!(
                "expecting RowDescription or NoData but received {:?}",
                message.format
            ));
        }
    };

    Ok(rows)
}

impl PgConnection {
    // wait for CloseComplete to indicate a statement was closed
    pub(super) async fn wait_for_close_complete(&mut self, mut count: usize) -> Result<(), Error> {
        // we need to wait for the [CloseComplete] to be returned from the server
        while count > 0 {
            match self.inner.stream.recv().await? {
                message if message.format == BackendMessageFormat::PortalSuspended => {
                    // there was an open portal
                    // this can happen if the last time a statement was used it was not fully executed
                }

                message if message.format == BackendMessageFormat::CloseComplete => {
                    // successfully closed the statement (and freed up the server resources)
                    count -= 1;
                }

                message => {
                    return Err(err_protocol!(
                        "expecting PortalSuspended or CloseComplete but received {:?}",
                        message.format
                    ));
                }
            }
        }

        Ok(())
    }

    #[inline(always)]
    pub(crate) fn write_sync(&mut self) {
        self.inner
            .stream
            .write_msg(message::Sync)
            .expect("BUG: Sync should not be too big for protocol");

        // all SYNC messages will return a ReadyForQuery
        self.inner.pending_ready_for_query_count += 1;
    }

    async fn get_or_prepare(
        &mut self,
        sql: &str,
        parameters: &[PgTypeInfo],
        persistent: bool,
        // optional metadata that was provided by the user, this means they are reusing
        // a statement object
        metadata: Option<Arc<PgStatementMetadata>>,
        resolve_column_origin: bool,
    ) -> Result<(StatementId, Arc<PgStatementMetadata>), Error> {
        if let Some(statement) = self.inner.cache_statement.get_mut(sql) {
            return Ok((*statement).clone());
        }

        let statement = prepare(
            self,
            sql,
            parameters,
            metadata,
            persistent,
            resolve_column_origin,
        )
        .await?;

        if persistent && self.inner.cache_statement.is_enabled() {
            if let Some((id, _)) = self.inner.cache_statement.insert(sql, statement.clone()) {
                self.inner.stream.write_msg(Close::Statement(id))?;
                self.write_sync();

                self.inner.stream.flush().await?;

                self.wait_for_close_complete(1).await?;
                self.recv_ready_for_query().await?;
            }
        }

        Ok(statement)
    }

    /// Protocol Bank patch: writes the statements queued inside the next query's Sync: Bind and
    /// Execute of the named statement for one queued as prepared and found prepared, else
    /// Parse, Bind and Execute of the unnamed one (which the query's own must not be).
    fn write_same_sync(&mut self, same_sync: &[(String, bool)]) -> Result<(), Error> {
        for (sql, prepared) in same_sync {
            let named = match prepared {
                true => self.inner.cache_statement.get_mut(sql).map(|(id, _)| *id),
                false => None,
            };
            let statement = match named {
                Some(id) => id,
                None => {
                    self.inner.stream.write_msg(Parse {
                        param_types: &[],
                        query: sql,
                        statement: StatementId::UNNAMED,
                    })?;
                    StatementId::UNNAMED
                }
            };
            self.inner.stream.write_msg(Bind {
                portal: PortalId::UNNAMED,
                statement,
                formats: &[],
                num_params: 0,
                params: &[],
                result_formats: &[],
            })?;
            self.inner.stream.write_msg(message::Execute {
                portal: PortalId::UNNAMED,
                limit: 0,
            })?;
        }
        Ok(())
    }

    /// Protocol Bank patch (pipelining; third_party/README.md): writes `sql` with `arguments`
    /// as a prepared query — the statements queued with `queue_in_next_query_sync` ahead of
    /// it, inside its Sync — and flushes it, without reading the answer to it or to anything
    /// sent before it this way: PostgreSQL finds it queued and runs it the moment the query
    /// ahead of it is done. Answers are read in order with `recv_pipelined`. The statement is
    /// prepared now if it is not yet, which needs nothing to be in flight.
    pub async fn send_pipelined(&mut self, sql: &str, mut arguments: PgArguments) -> Result<(), Error> {
        let same_sync = std::mem::take(&mut self.inner.same_sync);
        let num_params = u16::try_from(arguments.len())
            .map_err(|_| err_protocol!("send_pipelined: too many arguments: {}", arguments.len()))?;
        let idle = self.inner.pending_ready_for_query_count == 0;
        // Before the query's own statement is looked up: preparing one may close another, the
        // least recently used, to make room in the cache. Not without a cache: the statement
        // would be prepared again, under a new name, every time.
        if idle && self.inner.cache_statement.is_enabled() {
            for (sql, _) in same_sync.iter().filter(|(_, prepared)| *prepared) {
                self.get_or_prepare(sql, &[], true, None, false).await?;
            }
        }
        let (statement, metadata) = match self.inner.cache_statement.get_mut(sql) {
            Some(cached) => (*cached).clone(),
            None if idle => self.get_or_prepare(sql, &arguments.types, true, None, false).await?,
            None => return Err(err_protocol!("send_pipelined: statement not prepared while answers are owed")),
        };
        if statement == StatementId::UNNAMED {
            return Err(err_protocol!("send_pipelined needs a persistent statement"));
        }
        if !idle && arguments.has_type_holes() {
            return Err(err_protocol!("send_pipelined: argument types to look up while answers are owed"));
        }
        arguments.apply_patches(self, &metadata.parameters).await?;
        self.write_same_sync(&same_sync)?;
        self.inner.stream.write_msg(Bind {
            portal: PortalId::UNNAMED,
            statement,
            formats: &[PgValueFormat::Binary],
            num_params,
            params: &arguments.buffer,
            result_formats: &[PgValueFormat::Binary],
        })?;
        self.inner.stream.write_msg(message::Execute { portal: PortalId::UNNAMED, limit: 0 })?;
        self.inner.stream.write_msg(Close::Portal(PortalId::UNNAMED))?;
        self.write_sync();
        self.inner.pipelined.push_back(same_sync.len());
        self.inner.stream.flush().await?;
        Ok(())
    }

    /// Protocol Bank patch: the oldest answer owed to `send_pipelined`, read through its
    /// ReadyForQuery: the rows the query affected, or the first error PostgreSQL reported for
    /// it or for a statement queued in its Sync (which then skipped the rest up to the Sync and
    /// rolled back the implicit transaction). Rows it returned are read and dropped. An `Err`
    /// other than `Error::Database` leaves the connection unusable.
    pub async fn recv_pipelined(&mut self) -> Result<u64, Error> {
        let ahead = self
            .inner
            .pipelined
            .front()
            .copied()
            .ok_or_else(|| err_protocol!("recv_pipelined: no answer owed"))?;
        let mut completed = 0usize;
        let mut rows_affected = 0u64;
        let mut first_error: Option<Error> = None;
        loop {
            match self.inner.stream.recv().await {
                Ok(message) => match message.format {
                    BackendMessageFormat::CommandComplete => {
                        let cc: CommandComplete = message.decode()?;
                        if completed == ahead {
                            rows_affected = cc.rows_affected();
                        }
                        completed += 1;
                    }
                    BackendMessageFormat::ReadyForQuery => {
                        self.handle_ready_for_query(message)?;
                        self.inner.pipelined.pop_front();
                        break;
                    }
                    _ => {}
                },
                Err(Error::Database(e)) => {
                    first_error.get_or_insert(Error::Database(e));
                }
                Err(e) => return Err(e),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(rows_affected),
        }
    }

    /// Protocol Bank patch: waits until part of an answer has arrived. Cancel-safe (nothing is
    /// consumed; bytes read stay buffered), so a caller can wait for an answer and for work to
    /// send at once.
    pub async fn wait_readable(&mut self) -> Result<(), Error> {
        self.inner
            .stream
            .try_read(|buf| {
                Ok(if buf.is_empty() {
                    std::ops::ControlFlow::Continue(1)
                } else {
                    std::ops::ControlFlow::Break(())
                })
            })
            .await
    }

    /// Protocol Bank patch: answers owed to `send_pipelined`.
    pub fn pipelined_in_flight(&self) -> usize {
        self.inner.pipelined.len()
    }

    pub(crate) async fn run<'e, 'c: 'e, 'q: 'e>(
        &'c mut self,
        query: SqlStr,
        arguments: Option<PgArguments>,
        persistent: bool,
        metadata_opt: Option<Arc<PgStatementMetadata>>,
    ) -> Result<impl Stream<Item = Result<Either<PgQueryResult, PgRow>, Error>> + 'e, Error> {
        let mut logger = QueryLogger::new(query, self.inner.log_settings.clone());
        let sql = logger.sql().as_str();

        // Protocol Bank patch: a queued BEGIN is sent with this query (below), not waited for
        // first; anything else still in flight is waited for as before.
        let pipelined = std::mem::take(&mut self.inner.begin_queued);
        // Taken now, before anything below can run a query of its own (type lookups): the
        // COMMIT goes behind this query and no other.
        let commit_behind = self.inner.pipelined_commit == PipelinedCommit::Requested;
        if commit_behind {
            self.inner.pipelined_commit = PipelinedCommit::None;
        }

        // Protocol Bank patch: statements to run inside this query's Sync
        // (`queue_in_next_query_sync`), taken before anything below can run a query of its own.
        let same_sync = std::mem::take(&mut self.inner.same_sync);
        if !same_sync.is_empty() && arguments.is_none() {
            return Err(err_protocol!(
                "statements queued inside the next query's Sync need a prepared query behind them"
            ));
        }

        // before we continue, wait until we are "ready" to accept more queries
        if !pipelined {
            self.wait_until_ready().await?;
        }

        let mut metadata: Arc<PgStatementMetadata>;
        let ahead: usize;

        let format = if let Some(mut arguments) = arguments {
            // Check this before we write anything to the stream.
            //
            // Note: Postgres actually interprets this value as unsigned,
            // making the max number of parameters 65535, not 32767
            // https://github.com/launchbadge/sqlx/issues/3464
            // https://www.postgresql.org/docs/current/limits.html
            let num_params = u16::try_from(arguments.len()).map_err(|_| {
                err_protocol!(
                    "PgConnection::run(): too many arguments for query: {}",
                    arguments.len()
                )
            })?;

            // prepare the statement if this our first time executing it
            // always return the statement ID here
            let (statement, metadata_) = self
                .get_or_prepare(sql, &arguments.types, persistent, metadata_opt, false)
                .await?;

            metadata = metadata_;

            // patch holes created during encoding
            arguments.apply_patches(self, &metadata.parameters).await?;

            // consume messages till `ReadyForQuery` before bind and execute
            if !pipelined {
                self.wait_until_ready().await?;
            }
            ahead = self.inner.pending_ready_for_query_count;

            // Protocol Bank patch: the statements queued inside this query's Sync, through the
            // unnamed statement and portal (which this query's must not be).
            if !same_sync.is_empty() && statement == StatementId::UNNAMED {
                return Err(err_protocol!(
                    "statements queued inside the next query's Sync need a persistent statement behind them"
                ));
            }
            self.write_same_sync(&same_sync)?;

            // bind to attach the arguments to the statement and create a portal
            self.inner.stream.write_msg(Bind {
                portal: PortalId::UNNAMED,
                statement,
                formats: &[PgValueFormat::Binary],
                num_params,
                params: &arguments.buffer,
                result_formats: &[PgValueFormat::Binary],
            })?;

            // executes the portal up to the passed limit
            // the protocol-level limit acts nearly identically to the `LIMIT` in SQL
            self.inner.stream.write_msg(message::Execute {
                portal: PortalId::UNNAMED,
                // Non-zero limits cause query plan pessimization by disabling parallel workers:
                // https://github.com/launchbadge/sqlx/issues/3673
                limit: 0,
            })?;
            // From https://www.postgresql.org/docs/current/protocol-flow.html:
            //
            // "An unnamed portal is destroyed at the end of the transaction, or as
            // soon as the next Bind statement specifying the unnamed portal as
            // destination is issued. (Note that a simple Query message also
            // destroys the unnamed portal."

            // we ask the database server to close the unnamed portal and free the associated resources
            // earlier - after the execution of the current query.
            self.inner
                .stream
                .write_msg(Close::Portal(PortalId::UNNAMED))?;

            // finally, [Sync] asks postgres to process the messages that we sent and respond with
            // a [ReadyForQuery] message when it's completely done. Theoretically, we could send
            // dozens of queries before a [Sync] and postgres can handle that. Execution on the server
            // is still serial but it would reduce round-trips. Some kind of builder pattern that is
            // termed batching might suit this.
            self.write_sync();

            // prepared statements are binary
            PgValueFormat::Binary
        } else {
            ahead = self.inner.pending_ready_for_query_count;

            // Query will trigger a ReadyForQuery
            self.queue_simple_query(sql)?;

            // metadata starts out as "nothing"
            metadata = Arc::new(PgStatementMetadata::default());

            // and unprepared statements are text
            PgValueFormat::Text
        };

        // Protocol Bank patch: a COMMIT asked to ride behind this query.
        if commit_behind {
            self.queue_simple_query("COMMIT")?;
            self.inner.pipelined_commit = PipelinedCommit::Sent;
        }

        self.inner.stream.flush().await?;

        // Protocol Bank patch: the answers to what went ahead of this query (a pipelined BEGIN,
        // or anything still in flight when the BEGIN was queued) come first.
        self.drain_ready_for_query(ahead).await?;
        self.drain_same_sync(same_sync.len()).await?;

        Ok(try_stream! {
            loop {
                let message = self.inner.stream.recv().await?;

                match message.format {
                    BackendMessageFormat::BindComplete
                    | BackendMessageFormat::ParseComplete
                    | BackendMessageFormat::ParameterDescription
                    | BackendMessageFormat::NoData
                    // unnamed portal has been closed
                    | BackendMessageFormat::CloseComplete
                    => {
                        // harmless messages to ignore
                    }

                    // "Execute phase is always terminated by the appearance of
                    // exactly one of these messages: CommandComplete,
                    // EmptyQueryResponse (if the portal was created from an
                    // empty query string), ErrorResponse, or PortalSuspended"
                    BackendMessageFormat::CommandComplete => {
                        // a SQL command completed normally
                        let cc: CommandComplete = message.decode()?;

                        let rows_affected = cc.rows_affected();
                        logger.increase_rows_affected(rows_affected);
                        r#yield!(Either::Left(PgQueryResult {
                            rows_affected,
                        }));
                    }

                    BackendMessageFormat::EmptyQueryResponse => {
                        // empty query string passed to an unprepared execute
                    }

                    // Message::ErrorResponse is handled in self.stream.recv()

                    // incomplete query execution has finished
                    BackendMessageFormat::PortalSuspended => {}

                    // indicates that a *new* set of rows are about to be returned
                    BackendMessageFormat::RowDescription => {
                        let new_metadata = self.resolve_statement_metadata::<false>(
                            None,
                            Some(message.decode()?),
                            false,
                        ).await?;

                        metadata = new_metadata;
                    }

                    BackendMessageFormat::DataRow => {
                        logger.increment_rows_returned();

                        // one of the set of rows returned by a SELECT, FETCH, etc query
                        let data: DataRow = message.decode()?;
                        let row = PgRow {
                            data,
                            format,
                            metadata: Arc::clone(&metadata),
                        };

                        r#yield!(Either::Right(row));
                    }

                    BackendMessageFormat::ReadyForQuery => {
                        // processing of the query string is complete
                        self.handle_ready_for_query(message)?;
                        break;
                    }

                    _ => {
                        return Err(err_protocol!(
                            "execute: unexpected message: {:?}",
                            message.format
                        ));
                    }
                }
            }

            Ok(())
        })
    }
}

impl<'c> Executor<'c> for &'c mut PgConnection {
    type Database = Postgres;

    fn fetch_many<'e, 'q, E>(
        self,
        mut query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, Error>>
    where
        'c: 'e,
        E: Execute<'q, Self::Database>,
        'q: 'e,
        E: 'q,
    {
        // False positive: https://github.com/rust-lang/rust-clippy/issues/12560
        #[allow(clippy::map_clone)]
        let metadata = query.statement().map(|s| Arc::clone(&s.metadata));
        let arguments = query.take_arguments().map_err(Error::Encode);
        let persistent = query.persistent();
        let sql = query.sql();

        Box::pin(try_stream! {
            let arguments = arguments?;
            let mut s = pin!(self.run(sql, arguments, persistent, metadata).await?);

            while let Some(v) = s.try_next().await? {
                r#yield!(v);
            }

            Ok(())
        })
    }

    fn fetch_optional<'e, 'q, E>(self, mut query: E) -> BoxFuture<'e, Result<Option<PgRow>, Error>>
    where
        'c: 'e,
        E: Execute<'q, Self::Database>,
        'q: 'e,
        E: 'q,
    {
        // False positive: https://github.com/rust-lang/rust-clippy/issues/12560
        #[allow(clippy::map_clone)]
        let metadata = query.statement().map(|s| Arc::clone(&s.metadata));
        let arguments = query.take_arguments().map_err(Error::Encode);
        let persistent = query.persistent();

        Box::pin(async move {
            let sql = query.sql();
            let arguments = arguments?;
            let mut s = pin!(self.run(sql, arguments, persistent, metadata).await?);

            // With deferred constraints we need to check all responses as we
            // could get a OK response (with uncommitted data), only to get an
            // error response after (when the deferred constraint is actually
            // checked).
            let mut ret = None;
            while let Some(result) = s.try_next().await? {
                match result {
                    Either::Right(r) if ret.is_none() => ret = Some(r),
                    _ => {}
                }
            }
            Ok(ret)
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, Error>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            self.wait_until_ready().await?;

            let (_, metadata) = self
                .get_or_prepare(sql.as_str(), parameters, true, None, true)
                .await?;

            Ok(PgStatement { sql, metadata })
        })
    }

    #[cfg(feature = "offline")]
    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, Result<crate::describe::Describe<Self::Database>, Error>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            self.wait_until_ready().await?;

            let (stmt_id, metadata) = self
                .get_or_prepare(sql.as_str(), &[], true, None, true)
                .await?;

            let nullable = self.get_nullable_for_columns(stmt_id, &metadata).await?;

            Ok(crate::describe::Describe {
                columns: metadata.columns.clone(),
                nullable,
                parameters: Some(Either::Left(metadata.parameters.clone())),
            })
        })
    }
}
