//! Each email adapter against a local server that speaks its protocol: a minimal SMTP server
//! (RFC 5321 submission with AUTH PLAIN) and an HTTP server shaped like SendGrid's v3 API.
#![allow(clippy::unwrap_used)]

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use pb_domain::notify::{EmailMessage, EmailSender, NotifyError};
use pb_notify::{SendGridSender, SmtpSender};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn message() -> EmailMessage {
    EmailMessage {
        id: "ntf_test".into(),
        to: "alice@example.com".into(),
        subject: "Verify your email".into(),
        body: "Open http://bank.example/verify-email?token=abc\n".into(),
    }
}

/// Accepts one SMTP session and records the transcript.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let transcript = Arc::new(Mutex::new(Vec::new()));
    let log = transcript.clone();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().unwrap().push(line.clone());
            let reply: &[u8] = if in_data {
                if line == "." {
                    in_data = false;
                    b"250 2.0.0 queued\r\n"
                } else {
                    continue;
                }
            } else {
                let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                match verb.as_str() {
                    "EHLO" => b"250-test.local\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                    "AUTH" => b"235 2.7.0 authenticated\r\n",
                    "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.1.0 ok\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        write.write_all(b"221 2.0.0 bye\r\n").await.unwrap();
                        break;
                    }
                    _ => b"502 5.5.1 unknown\r\n",
                }
            };
            write.write_all(reply).await.unwrap();
        }
    });
    (port, transcript)
}

#[tokio::test]
async fn smtp_submits_with_auth_envelope_and_headers() {
    let (port, transcript) = smtp_server().await;
    let sender =
        SmtpSender::new(&format!("smtp://mailer:p%40ss@127.0.0.1:{port}"), "Protocol Bank <no-reply@bank.example>")
            .unwrap();
    sender.send(&message()).await.unwrap();
    let lines = transcript.lock().unwrap().clone();
    let auth = lines.iter().find(|l| l.starts_with("AUTH PLAIN")).expect("authenticated");
    let decoded = data_encoding::BASE64.decode(auth.trim_start_matches("AUTH PLAIN ").as_bytes()).unwrap();
    assert_eq!(decoded, b"\0mailer\0p@ss", "credentials from the URL, percent-decoded");
    assert!(lines.iter().any(|l| l == "MAIL FROM:<no-reply@bank.example>"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "RCPT TO:<alice@example.com>"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "Subject: Verify your email"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("verify-email?token=abc")), "{lines:?}");
}

#[tokio::test]
async fn smtp_refuses_plaintext_to_remote_hosts_and_reports_unreachable_servers_as_temporary() {
    // A non-loopback smtp:// URL must use STARTTLS (constructed, not contacted here).
    assert!(SmtpSender::new("smtp://mail.example.com", "a@b.example").is_ok());
    assert!(SmtpSender::new("http://mail.example.com", "a@b.example").is_err());
    let down = SmtpSender::new("smtp://127.0.0.1:1", "a@b.example").unwrap();
    assert!(matches!(down.send(&message()).await, Err(NotifyError::Temporary(_))));
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, serde_json::Value)>>>);

async fn sendgrid_server(status: StatusCode) -> (String, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/v3/mail/send",
            axum::routing::post(move |State(seen): State<Seen>, headers: HeaderMap, Json(body): Json<serde_json::Value>| async move {
                let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                seen.0.lock().unwrap().push((auth, body));
                (status, Json(serde_json::json!({"errors": [{"message": "from address does not match a verified Sender Identity"}]})))
            }),
        )
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn sendgrid_posts_the_documented_v3_payload() {
    let (url, seen) = sendgrid_server(StatusCode::ACCEPTED).await;
    let sender = SendGridSender::new("SG.test-key", &url, "Protocol Bank <no-reply@bank.example>").unwrap();
    sender.send(&message()).await.unwrap();
    let (auth, body) = seen.0.lock().unwrap()[0].clone();
    assert_eq!(auth, "Bearer SG.test-key");
    assert_eq!(body["personalizations"][0]["to"][0]["email"], "alice@example.com");
    assert_eq!(body["from"]["email"], "no-reply@bank.example");
    assert_eq!(body["from"]["name"], "Protocol Bank");
    assert_eq!(body["subject"], "Verify your email");
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["custom_args"]["notification_id"], "ntf_test");
}

#[tokio::test]
async fn sendgrid_errors_are_classified() {
    let (url, _) = sendgrid_server(StatusCode::FORBIDDEN).await;
    let sender = SendGridSender::new("SG.k", &url, "a@b.example").unwrap();
    match sender.send(&message()).await {
        Err(NotifyError::Permanent(detail)) => {
            assert!(detail.contains("verified Sender Identity") && !detail.contains("SG.k"))
        }
        other => panic!("{other:?}"),
    }
    let (url, _) = sendgrid_server(StatusCode::SERVICE_UNAVAILABLE).await;
    let sender = SendGridSender::new("SG.k", &url, "a@b.example").unwrap();
    assert!(matches!(sender.send(&message()).await, Err(NotifyError::Temporary(_))));
}
