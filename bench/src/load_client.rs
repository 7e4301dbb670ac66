//! The load generator's HTTP/1.1 client: one kept-alive connection per simulated client, as
//! wrk and pgbench do, driven from the simulated client's own task. A request is written as
//! bytes in one write; the answer is read into a buffer the connection keeps and parsed only as
//! far as the workload needs (status line, `Content-Length` or chunked framing).
//!
//! Why not a general client: it shares the 2 cores with the server and PostgreSQL, so every
//! microsecond it spends is taken from what it measures. The reqwest client with JSON trees
//! took ≈80 µs of CPU per request; hyper's client connection (a task of its own per
//! connection, so each request crossed two tasks and their wake-ups each way) 15–19 µs; this
//! one less (bench/README.md).

use bytes::Bytes;
use std::io::Write as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer head accepted; the server's are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// One connection to the server under test.
pub struct Connection {
    stream: TcpStream,
    host: String,
    /// The request being written, reused.
    out: Vec<u8>,
    /// Bytes read and not yet consumed.
    inb: Vec<u8>,
}

impl Connection {
    /// Opens a connection to `base` (`http://host:port`).
    pub async fn open(base: &str) -> anyhow::Result<Self> {
        let authority = base.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("not an http:// base: {base}"))?;
        let stream = TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, host: authority.to_owned(), out: Vec::with_capacity(1024), inb: Vec::with_capacity(4096) })
    }

    /// POSTs a JSON body with a bearer token and an idempotency key; the status and the body.
    pub async fn post(&mut self, path: &str, token: &str, key: &str, body: Bytes) -> anyhow::Result<(u16, Bytes)> {
        self.out.clear();
        write!(
            self.out,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Idempotency-Key: {key}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )?;
        self.out.extend_from_slice(&body);
        self.stream.write_all(&self.out).await?;
        self.read_answer().await
    }

    /// Reads more bytes into `inb`; an error at end of stream.
    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.inb.capacity() - self.inb.len() < 1024 {
            self.inb.reserve(4096);
        }
        if self.stream.read_buf(&mut self.inb).await? == 0 {
            anyhow::bail!("the server closed the connection");
        }
        Ok(())
    }

    async fn read_answer(&mut self) -> anyhow::Result<(u16, Bytes)> {
        let (status, head_len, framing) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.inb)? {
                httparse::Status::Complete(head_len) => {
                    let status = response.code.ok_or_else(|| anyhow::anyhow!("no status code"))?;
                    break (status, head_len, Framing::of(response.headers)?);
                }
                httparse::Status::Partial if self.inb.len() > MAX_HEAD => anyhow::bail!("answer head too large"),
                httparse::Status::Partial => self.fill().await?,
            }
        };
        self.inb.drain(..head_len);
        let (body, used) = match framing {
            Framing::Length(len) => {
                while self.inb.len() < len {
                    self.fill().await?;
                }
                (Bytes::copy_from_slice(&self.inb[..len]), len)
            }
            Framing::Chunked => self.read_chunked().await?,
        };
        self.inb.drain(..used);
        Ok((status, body))
    }

    /// A chunked body (RFC 9112 §7.1), trailers ignored, and the bytes of `inb` it took.
    async fn read_chunked(&mut self) -> anyhow::Result<(Bytes, usize)> {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let (size, line_len) = loop {
                match httparse::parse_chunk_size(&self.inb[at..]) {
                    Ok(httparse::Status::Complete((line_len, size))) => break (size, line_len),
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => anyhow::bail!("bad chunk size line"),
                }
            };
            let size = usize::try_from(size)?;
            at += line_len;
            if size == 0 {
                // Trailer section: lines up to an empty one.
                loop {
                    if let Some(end) = self.inb[at..].windows(2).position(|w| w == b"\r\n") {
                        at += end + 2;
                        if end == 0 {
                            return Ok((Bytes::from(body), at));
                        }
                    } else {
                        self.fill().await?;
                    }
                }
            }
            while self.inb.len() < at + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.inb[at..at + size]);
            at += size + 2;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
}

impl Framing {
    fn of(headers: &[httparse::Header<'_>]) -> anyhow::Result<Self> {
        for h in headers {
            if h.name.eq_ignore_ascii_case("content-length") {
                return Ok(Self::Length(std::str::from_utf8(h.value)?.trim().parse()?));
            }
            if h.name.eq_ignore_ascii_case("transfer-encoding") && h.value.eq_ignore_ascii_case(b"chunked") {
                return Ok(Self::Chunked);
            }
        }
        // Neither: an answer without a body (this client sends no HEAD and expects no 1xx).
        Ok(Self::Length(0))
    }
}

#[cfg(test)]
mod tests {
    use super::Connection;
    use bytes::Bytes;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers each request on one connection with the next canned answer,
    /// written in pieces, so every framing path meets partial reads.
    async fn serve(answers: Vec<&'static [u8]>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            for answer in answers {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                // The request: head, then the body its Content-Length announces.
                loop {
                    let n = s.read(&mut buf).await.expect("read");
                    seen.extend_from_slice(&buf[..n]);
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.parse().ok())
                            .expect("content-length");
                        if seen.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                for piece in answer.chunks(7) {
                    s.write_all(piece).await.expect("write");
                    s.flush().await.expect("flush");
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn reads_length_and_chunked_answers_on_one_connection() {
        let base = serve(vec![
            b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
            b"HTTP/1.1 409 Conflict\r\ncontent-length: 0\r\n\r\n",
        ])
        .await;
        let mut c = Connection::open(&base).await.expect("open");
        let body = Bytes::from_static(br#"{"a":1}"#);
        assert_eq!(
            c.post("/x", "t", "k1", body.clone()).await.expect("1"),
            (201, Bytes::from_static(b"{\"ok\":true}"))
        );
        assert_eq!(c.post("/x", "t", "k2", body.clone()).await.expect("2"), (200, Bytes::from_static(b"abcdefg")));
        assert_eq!(c.post("/x", "t", "k3", body.clone()).await.expect("3"), (409, Bytes::new()));
        assert!(c.post("/x", "t", "k4", body).await.is_err(), "closed connection is an error");
    }
}
