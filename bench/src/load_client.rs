//! The load generator's HTTP/1.1 client: one kept-alive connection per simulated client, as
//! wrk and pgbench do, with bodies written as bytes and answers read only as far as the
//! workload needs (the status; the items for the batch endpoint). It shares the 2 cores with
//! the server and PostgreSQL, so every microsecond it spends is taken from what it measures.
//! The reqwest client with JSON trees both ways, used before, took ≈80 µs of CPU per request;
//! this one ≈20 µs (bench/README.md).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;

/// One connection to the server under test.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Connection {
    /// Opens a connection to `base` (`http://host:port`).
    pub async fn open(base: &str) -> anyhow::Result<Self> {
        let authority = base.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("not an http:// base: {base}"))?;
        let stream = tokio::net::TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { sender, host: HeaderValue::from_str(authority)? })
    }

    /// POSTs a JSON body with a bearer token and an idempotency key; the status and the body.
    pub async fn post(&mut self, path: &str, token: &str, key: &str, body: Bytes) -> anyhow::Result<(u16, Bytes)> {
        let request = hyper::Request::post(path)
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}
