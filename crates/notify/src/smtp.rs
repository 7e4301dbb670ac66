//! SMTP submission (RFC 6409) with lettre. `smtps://` uses implicit TLS (port 465); `smtp://`
//! requires STARTTLS (port 587) except to a loopback relay; credentials come in the URL.

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pb_domain::notify::{EmailMessage, EmailSender, NotifyError};

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender").finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// `url`: `smtp[s]://[user:pass@]host[:port]`. Plain SMTP without TLS is accepted only to a
    /// loopback host (a local relay or a test server); anything else needs TLS.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|_| "SMTP_URL is not a URL".to_owned())?;
        let host = parsed.host_str().ok_or("SMTP_URL has no host")?.to_owned();
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let tls = || TlsParameters::new(host.clone()).map_err(|e| format!("SMTP TLS: {e}"));
        let (port, tls) = match parsed.scheme() {
            "smtps" => (parsed.port().unwrap_or(465), Tls::Wrapper(tls()?)),
            "smtp" if loopback => (parsed.port().unwrap_or(25), Tls::None),
            "smtp" => (parsed.port().unwrap_or(587), Tls::Required(tls()?)),
            _ => return Err("SMTP_URL must start with smtp:// or smtps://".into()),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host).port(port).tls(tls);
        if !parsed.username().is_empty() {
            let user = percent_decode(parsed.username());
            let pass = percent_decode(parsed.password().unwrap_or(""));
            builder = builder.credentials(Credentials::new(user, pass));
        }
        let from = from.parse::<Mailbox>().map_err(|e| format!("EMAIL_FROM: {e}"))?;
        Ok(Self { transport: builder.build(), from })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait]
impl EmailSender for SmtpSender {
    fn name(&self) -> &'static str {
        "smtp"
    }
    fn keeps_bodies(&self) -> bool {
        false
    }
    async fn send(&self, m: &EmailMessage) -> Result<(), NotifyError> {
        let to = m.to.parse::<Mailbox>().map_err(|e| NotifyError::Permanent(format!("recipient: {e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject)
            .message_id(Some(format!("<{}@protocol-bank>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| NotifyError::Permanent(e.to_string()))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(NotifyError::Permanent(e.to_string())),
            Err(e) => Err(NotifyError::Temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_decoding_of_url_credentials() {
        assert_eq!(super::percent_decode("p%40ss%2Fw%3Ad"), "p@ss/w:d");
        assert_eq!(super::percent_decode("100%"), "100%");
        assert_eq!(super::percent_decode("%zz"), "%zz");
    }
}
