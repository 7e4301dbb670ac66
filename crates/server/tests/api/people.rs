//! Helpers that act as people: sign up, verify, sign in, enrol MFA.

use crate::helpers::{TestApp, json};
use serde_json::{Value, json};

pub const PASSWORD: &str = "violet-tractor-91-lamp";

pub struct Person {
    pub email: String,
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(&body).send().await.unwrap()
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn delete_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// The newest email to `to` in the development outbox.
    pub async fn last_email(&self, to: &str) -> Value {
        let list = json(self.get("/v1/dev/outbox?limit=100").await).await;
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == to)
            .cloned()
            .unwrap_or_else(|| panic!("no email to {to}"))
    }

    /// The `token=` of the newest link emailed to `to`.
    pub async fn emailed_token(&self, to: &str) -> String {
        let body = self.last_email(to).await["body"].as_str().unwrap().to_owned();
        let start = body.find("token=").unwrap() + "token=".len();
        body[start..].split_whitespace().next().unwrap().to_owned()
    }

    pub async fn register(&self, email: &str, kind: &str) -> String {
        let r = self
            .post_json(
                "/v1/auth/register",
                json!({"email": email, "password": PASSWORD, "name": "Test Person", "kind": kind}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        json(r).await["user"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/v1/auth/login", json!({"email": email, "password": password})).await
    }

    /// Registers, verifies the email from the outbox, signs in.
    pub async fn verified_person(&self, email: &str, kind: &str) -> Person {
        let id = self.register(email, kind).await;
        let token = self.emailed_token(email).await;
        assert_eq!(self.post_json("/v1/auth/verify-email", json!({"token": token})).await.status(), 200);
        let session = json(self.login(email, PASSWORD).await).await;
        Person { email: email.to_owned(), id, token: session["session"]["token"].as_str().unwrap().to_owned() }
    }
}

/// A staff member with TOTP enrolled and a fresh step-up, signed in.
pub struct Staff {
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub async fn staff_member(&self, email: &str, role: pb_domain::identity::roles::StaffRole) -> Staff {
        let address = pb_domain::identity::email::EmailAddress::parse(email).unwrap();
        let created = self.state.identity().create_staff(&address, "Staff Member", role).await.unwrap();
        let session = json(self.login(email, &created.one_time_password).await).await;
        let token = session["session"]["token"].as_str().unwrap().to_owned();
        let secret =
            json(self.post_as(&token, "/v1/me/mfa/totp", json!({})).await).await["secret"].as_str().unwrap().to_owned();
        let r = self.post_as(&token, "/v1/me/mfa/totp/confirm", json!({"code": totp(&secret, now())})).await;
        assert_eq!(r.status(), 200);
        // The next time step: a code is never accepted twice.
        let r = self.post_as(&token, "/v1/auth/step-up", json!({"code": totp(&secret, now() + 30)})).await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        Staff { id: created.user.id, token }
    }
}

/// The TOTP code for `secret` at `unix` seconds.
pub fn totp(secret: &str, unix: i64) -> String {
    pb_domain::identity::totp::code_at(secret, unix).unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

impl TestApp {
    /// Enrols TOTP for a customer and performs a fresh step-up (for withdrawals and the like).
    pub async fn step_up(&self, p: &Person) {
        let secret = json(self.post_as(&p.token, "/v1/me/mfa/totp", json!({})).await).await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = self.post_as(&p.token, "/v1/me/mfa/totp/confirm", json!({"code": totp(&secret, now())})).await;
        assert_eq!(r.status(), 200);
        let r = self.post_as(&p.token, "/v1/auth/step-up", json!({"code": totp(&secret, now() + 30)})).await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
}
