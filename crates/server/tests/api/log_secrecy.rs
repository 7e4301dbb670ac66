//! Secrets never reach the logs: every log line of this test binary (all tests, every level
//! down to debug, JSON as in production) is captured, then searched for the secrets one
//! identity journey handled.

use crate::helpers::{Backend, TestApp, json};
use crate::people::{PASSWORD, now, totp};
use serde_json::json;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the first subscriber in this test binary");
        captured
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_tokens_totp_secrets_and_recovery_codes_never_reach_the_logs() {
    let logs = capture();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn(backend).await;
        let email = "secretive@example.com";
        app.register(email, "business").await;
        let verify_token = app.emailed_token(email).await;
        assert_eq!(app.post_json("/v1/auth/verify-email", json!({"token": verify_token})).await.status(), 200);
        let session = json(app.login(email, PASSWORD).await).await["session"]["token"].as_str().unwrap().to_owned();
        let secret = json(app.post_as(&session, "/v1/me/mfa/totp", json!({})).await).await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let t0 = now();
        let codes =
            json(app.post_as(&session, "/v1/me/mfa/totp/confirm", json!({"code": totp(&secret, t0)})).await).await;
        let recovery = codes["recovery_codes"][0].as_str().unwrap().to_owned();
        let challenge = json(app.login(email, PASSWORD).await).await["challenge_id"].as_str().unwrap().to_owned();
        let second =
            json(app.post_json("/v1/auth/mfa/verify", json!({"challenge_id": challenge, "code": recovery})).await)
                .await;
        let second_token = second["session"]["token"].as_str().unwrap().to_owned();
        let csrf = second["csrf_token"].as_str().unwrap().to_owned();
        let api_key = json(app.post_as(&second_token, "/v1/api-keys", json!({"name": "k", "scopes": ["read"]})).await)
            .await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(app.get_as(&api_key, "/v1/api-keys").await.status(), 200);
        let wrong_password = "Wrong-Horse-Battery-77";
        assert_eq!(app.login(email, wrong_password).await.status(), 401);
        let new_password = "northern-lights-42-canoe";
        let changed = app
            .post_as(
                &second_token,
                "/v1/me/password",
                json!({"current_password": PASSWORD, "new_password": new_password}),
            )
            .await;
        assert_eq!(changed.status(), 204);
        assert_eq!(app.post_json("/v1/auth/password-reset", json!({"email": email})).await.status(), 202);
        let reset_token = app.emailed_token(email).await;

        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        assert!(text.contains("/v1/auth/login"), "logs were captured");
        for (what, secret) in [
            ("password", PASSWORD),
            ("wrong password", wrong_password),
            ("new password", new_password),
            ("session token", session.as_str()),
            ("second session token", second_token.as_str()),
            ("csrf token", csrf.as_str()),
            ("totp secret", secret.as_str()),
            ("recovery code", recovery.as_str()),
            ("api key", api_key.as_str()),
            ("verification token", verify_token.as_str()),
            ("reset token", reset_token.as_str()),
        ] {
            assert!(!text.contains(secret), "the {what} appeared in the logs ({backend:?})");
        }
    }
}
