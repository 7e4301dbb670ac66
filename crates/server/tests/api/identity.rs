//! Identity and access stories (issue 3), on SQLite and on PostgreSQL + Redis.

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::people::{PASSWORD, now, totp};
use crate::stories;
use serde_json::json;

stories!(
    register_verify_login_me_logout,
    cookie_sessions_need_the_csrf_token,
    totp_enrolment_login_replay_and_recovery_codes,
    twenty_wrong_passwords_lock_the_account,
    customers_reach_only_their_own_objects,
    business_roles_govern_api_keys,
    staff_need_mfa_and_roles,
    password_change_and_reset_revoke_sessions,
    sessions_are_listed_and_revocable,
);

async fn register_verify_login_me_logout(app: TestApp) {
    let id = app.register("Alice@Example.com", "individual").await;
    // Email uniqueness ignores case.
    let dup = app
        .post_json(
            "/v1/auth/register",
            json!({"email": "alice@example.COM", "password": PASSWORD, "name": "A", "kind": "individual"}),
        )
        .await;
    assert_error(dup, 409, "email_taken").await;

    // Unverified users may sign in.
    let early = json(app.login("alice@example.com", PASSWORD).await).await;
    assert_eq!(early["user"]["email_verified"], false);

    let token = app.emailed_token("Alice@Example.com").await;
    assert_eq!(app.post_json("/v1/auth/verify-email", json!({"token": token})).await.status(), 200);
    let again = app.post_json("/v1/auth/verify-email", json!({"token": token})).await;
    assert_error(again, 400, "invalid_token").await;

    let signed_in = json(app.login("alice@example.com", PASSWORD).await).await;
    let session = signed_in["session"]["token"].as_str().unwrap().to_owned();
    assert!(session.starts_with("pbs_"));
    let me = json(app.get_as(&session, "/v1/me").await).await;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["email_verified"], true);

    assert_eq!(app.post_as(&session, "/v1/auth/logout", json!({})).await.status(), 204);
    assert_error(app.get_as(&session, "/v1/me").await, 401, "unauthenticated").await;
    assert_error(app.get("/v1/me").await, 401, "unauthenticated").await;

    // Unknown email and wrong password answer identically.
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let wrong = app.login("alice@example.com", "not-the-password-at-all").await;
    let (a, b) = (
        assert_error(unknown, 401, "invalid_credentials").await,
        assert_error(wrong, 401, "invalid_credentials").await,
    );
    assert_eq!(a["error"]["message"], b["error"]["message"]);

    // Weak passwords and bad emails are refused with the field named.
    let weak = app
        .post_json(
            "/v1/auth/register",
            json!({"email": "w@example.com", "password": "password1234", "name": "W", "kind": "individual"}),
        )
        .await;
    assert_eq!(assert_error(weak, 422, "weak_password").await["error"]["param"], "password");
    let bad = app
        .post_json(
            "/v1/auth/register",
            json!({"email": "nope", "password": PASSWORD, "name": "W", "kind": "individual"}),
        )
        .await;
    assert_eq!(assert_error(bad, 422, "validation_failed").await["error"]["param"], "email");
    let staff = app
        .post_json(
            "/v1/auth/register",
            json!({"email": "s@example.com", "password": PASSWORD, "name": "S", "kind": "staff"}),
        )
        .await;
    assert_error(staff, 422, "validation_failed").await;
}

async fn cookie_sessions_need_the_csrf_token(app: TestApp) {
    app.verified_person("carol@example.com", "individual").await;
    let r = app.login("carol@example.com", PASSWORD).await;
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let session_cookie = cookies.iter().find(|c| c.starts_with("pb_session=")).unwrap();
    assert!(
        session_cookie.contains("HttpOnly")
            && session_cookie.contains("Secure")
            && session_cookie.contains("SameSite=Strict")
    );
    let body = json(r).await;
    let token = body["session"]["token"].as_str().unwrap();
    let csrf = body["csrf_token"].as_str().unwrap();
    let cookie = format!("pb_session={token}");

    let read = app.client.get(app.url("/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(read.status(), 200, "safe methods need no CSRF token");
    let forged = app.client.post(app.url("/v1/auth/logout")).header("cookie", &cookie).send().await.unwrap();
    assert_error(forged, 403, "csrf_token_invalid").await;
    let wrong = app
        .client
        .post(app.url("/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 403, "csrf_token_invalid").await;
    let ok = app
        .client
        .post(app.url("/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    assert!(ok.headers().get_all("set-cookie").iter().any(|v| v.to_str().unwrap().starts_with("pb_session=;")));
}

async fn totp_enrolment_login_replay_and_recovery_codes(app: TestApp) {
    let p = app.verified_person("dave@example.com", "individual").await;
    let setup = json(app.post_as(&p.token, "/v1/me/mfa/totp", json!({})).await).await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));

    let t0 = now();
    assert_error(
        app.post_as(&p.token, "/v1/me/mfa/totp/confirm", json!({"code": "000000"})).await,
        401,
        "invalid_mfa_code",
    )
    .await;
    let confirmed =
        json(app.post_as(&p.token, "/v1/me/mfa/totp/confirm", json!({"code": totp(&secret, t0)})).await).await;
    let codes: Vec<String> =
        confirmed["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(json(app.get_as(&p.token, "/v1/me").await).await["mfa_enabled"], true);

    // Sign-in now stops at a challenge.
    let challenge = || async {
        let r = json(app.login(&p.email, PASSWORD).await).await;
        assert_eq!(r["mfa_required"], true, "{r}");
        assert!(r.get("session").is_none());
        r["challenge_id"].as_str().unwrap().to_owned()
    };
    let verify =
        |id: String, code: String| app.post_json("/v1/auth/mfa/verify", json!({"challenge_id": id, "code": code}));

    let c1 = challenge().await;
    // The step used to confirm enrolment cannot be replayed.
    assert_error(verify(c1.clone(), totp(&secret, t0)).await, 401, "invalid_mfa_code").await;
    let valid: Vec<String> = (-1..=2).map(|k| totp(&secret, t0 + 30 * k)).collect();
    let wrong = (0..1_000_000).map(|n| format!("{n:06}")).find(|c| !valid.contains(c)).unwrap();
    assert_error(verify(c1.clone(), wrong).await, 401, "invalid_mfa_code").await;
    let ok = json(verify(c1.clone(), totp(&secret, t0 + 30)).await).await;
    assert!(ok["session"]["token"].as_str().unwrap().starts_with("pbs_"));
    // A used challenge cannot be used again.
    assert_error(verify(c1, totp(&secret, t0 + 60)).await, 401, "invalid_challenge").await;

    // The same code in a new sign-in is a replay.
    let c2 = challenge().await;
    assert_error(verify(c2.clone(), totp(&secret, t0 + 30)).await, 401, "invalid_mfa_code").await;
    // A recovery code works once.
    assert_eq!(verify(c2, codes[0].to_uppercase()).await.status(), 200);
    let c3 = challenge().await;
    assert_error(verify(c3.clone(), codes[0].clone()).await, 401, "invalid_mfa_code").await;
    assert_eq!(verify(c3, codes[1].clone()).await.status(), 200);

    // Step-up marks the session as recently verified; disabling needs a fresh code.
    let session = ok["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.post_as(&session, "/v1/auth/step-up", json!({"code": codes[2]})).await.status(), 204);
    assert_error(
        app.post_as(&session, "/v1/me/mfa/totp/disable", json!({"code": codes[2]})).await,
        401,
        "invalid_mfa_code",
    )
    .await;
    assert_eq!(app.post_as(&session, "/v1/me/mfa/totp/disable", json!({"code": codes[3]})).await.status(), 204);
    assert_eq!(json(app.login(&p.email, PASSWORD).await).await["user"]["mfa_enabled"], false);
}

async fn twenty_wrong_passwords_lock_the_account(app: TestApp) {
    let p = app.verified_person("erin@example.com", "individual").await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..20 {
        let r = app.login(&p.email, "wrong-password-guess-1").await;
        if r.status() == 429 {
            retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            assert_error(r, 429, "rate_limited").await;
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429; 10], "{statuses:?}");
    assert!(retry_after.is_some_and(|s| (1..=3600).contains(&s)), "{retry_after:?}");
    // While locked even the right password is refused, the same way.
    assert_error(app.login(&p.email, PASSWORD).await, 429, "rate_limited").await;
    // The owner sees it in their sign-in history.
    let history = json(app.get_as(&p.token, "/v1/me/sign-ins?limit=100").await).await;
    let kinds: Vec<&str> = history["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"login.locked") && kinds.contains(&"login.failed") && kinds.contains(&"login.succeeded"),
        "{kinds:?}"
    );
}

async fn customers_reach_only_their_own_objects(app: TestApp) {
    let a = app.verified_person("frank@example.com", "individual").await;
    let b = app.verified_person("grace@example.com", "individual").await;
    let a_sessions = json(app.get_as(&a.token, "/v1/me/sessions").await).await;
    let a_session = a_sessions["data"][0]["id"].as_str().unwrap().to_owned();
    // B cannot revoke A's session: it does not exist for B.
    assert_error(app.delete_as(&b.token, &format!("/v1/me/sessions/{a_session}")).await, 404, "not_found").await;
    assert_eq!(app.get_as(&a.token, "/v1/me").await.status(), 200);
    // Customers cannot call staff routes.
    assert_error(app.get_as(&a.token, "/v1/admin/audit-events").await, 403, "forbidden").await;
    assert_error(app.get_as(&a.token, &format!("/v1/admin/users/{}", b.id)).await, 403, "forbidden").await;
    assert_error(
        app.post_as(&a.token, &format!("/v1/admin/users/{}/close", b.id), json!({"reason": "x"})).await,
        403,
        "forbidden",
    )
    .await;
    // An individual has no business to make keys for.
    assert_error(
        app.post_as(&a.token, "/v1/api-keys", json!({"name": "k", "scopes": ["read"]})).await,
        403,
        "forbidden",
    )
    .await;
    // A bad id in the path is a clear error.
    assert_error(app.delete_as(&a.token, "/v1/me/sessions/not-an-id").await, 400, "invalid_path_parameter").await;
}

async fn business_roles_govern_api_keys(app: TestApp) {
    let owner = app.verified_person("owner@acme.example", "business").await;
    let me = json(app.get_as(&owner.token, "/v1/me").await).await;
    let business = me["businesses"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(me["businesses"][0]["role"], "admin");
    let viewer = app.verified_person("viewer@acme.example", "individual").await;
    let finance = app.verified_person("finance@acme.example", "individual").await;
    for (who, role) in [(&viewer, "view_only"), (&finance, "finance_manager")] {
        let r = app
            .post_as(
                &owner.token,
                &format!("/v1/businesses/{business}/members"),
                json!({"email": who.email, "role": role}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    // Members cannot add members; outsiders cannot see the business.
    let r = app
        .post_as(
            &viewer.token,
            &format!("/v1/businesses/{business}/members"),
            json!({"email": finance.email, "role": "admin"}),
        )
        .await;
    assert_error(r, 403, "forbidden").await;

    let create = json!({"name": "ci", "scopes": ["read", "payments"]});
    assert_error(app.post_as(&viewer.token, "/v1/api-keys", create.clone()).await, 403, "forbidden").await;
    assert_error(app.post_as(&finance.token, "/v1/api-keys", create.clone()).await, 403, "forbidden").await;
    let created = app.post_as(&owner.token, "/v1/api-keys", json!({"name": "reporting", "scopes": ["read"]})).await;
    assert_eq!(created.status(), 201);
    let key = json(created).await;
    let secret = key["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pb_test_"));

    // The key authenticates as the business; listing never shows keys again.
    let listed = json(app.get_as(&secret, "/v1/api-keys").await).await;
    assert_eq!(listed["data"][0]["id"], key["id"]);
    assert!(listed["data"][0].get("key").is_none());
    assert!(listed["data"][0]["last_used"].is_string(), "use is recorded");
    // The viewer can read the keys but not revoke them; the owner can.
    assert_eq!(app.get_as(&viewer.token, "/v1/api-keys").await.status(), 200);
    let path = format!("/v1/api-keys/{}", key["id"].as_str().unwrap());
    assert_error(app.delete_as(&viewer.token, &path).await, 403, "forbidden").await;
    let outsider = app.verified_person("outsider@example.com", "individual").await;
    assert_error(app.delete_as(&outsider.token, &path).await, 404, "not_found").await;
    assert_eq!(app.delete_as(&owner.token, &path).await.status(), 204);
    assert_error(app.get_as(&secret, "/v1/api-keys").await, 401, "unauthenticated").await;
}

async fn staff_need_mfa_and_roles(app: TestApp) {
    let identity = app.state.identity();
    let email = |s: &str| pb_domain::identity::email::EmailAddress::parse(s).unwrap();
    use pb_domain::identity::roles::StaffRole;
    let admin = identity.create_staff(&email("admin@bank.example"), "Ada", StaffRole::Admin).await.unwrap();
    let support = identity.create_staff(&email("support@bank.example"), "Sam", StaffRole::Support).await.unwrap();
    let customer = app.verified_person("henry@example.com", "individual").await;

    let admin_session = json(app.login("admin@bank.example", &admin.one_time_password).await).await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Staff routes refuse until MFA is enrolled.
    assert_error(app.get_as(&admin_session, "/v1/admin/audit-events").await, 403, "mfa_enrollment_required").await;
    let secret = json(app.post_as(&admin_session, "/v1/me/mfa/totp", json!({})).await).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post_as(&admin_session, "/v1/me/mfa/totp/confirm", json!({"code": totp(&secret, now())})).await.status(),
        200
    );
    let events = json(app.get_as(&admin_session, "/v1/admin/audit-events?limit=100").await).await;
    let kinds: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    for k in ["staff.created", "user.registered", "email.verified", "login.succeeded", "mfa.enabled"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(events["data"][0]["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1"));
    // Staff cannot switch MFA off.
    assert_error(
        app.post_as(&admin_session, "/v1/me/mfa/totp/disable", json!({"code": totp(&secret, now() + 30)})).await,
        403,
        "forbidden",
    )
    .await;

    // Support may read but not close users.
    let support_session =
        json(app.login("support@bank.example", &support.one_time_password).await).await["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
    let s_secret = json(app.post_as(&support_session, "/v1/me/mfa/totp", json!({})).await).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post_as(&support_session, "/v1/me/mfa/totp/confirm", json!({"code": totp(&s_secret, now())}))
            .await
            .status(),
        200
    );
    assert_eq!(app.get_as(&support_session, &format!("/v1/admin/users/{}", customer.id)).await.status(), 200);
    let close = json!({"reason": "customer request"});
    assert_error(
        app.post_as(&support_session, &format!("/v1/admin/users/{}/close", customer.id), close.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        app.post_as(&support_session, &format!("/v1/admin/staff/{}/role", support.user.id), json!({"role": "admin"}))
            .await,
        403,
        "forbidden",
    )
    .await;

    // Admin changes the support role, and closes the customer: their session ends at once.
    assert_eq!(
        app.post_as(
            &admin_session,
            &format!("/v1/admin/staff/{}/role", support.user.id),
            json!({"role": "compliance_officer"})
        )
        .await
        .status(),
        204
    );
    assert_error(
        app.post_as(&admin_session, &format!("/v1/admin/staff/{}/role", admin.user.id), json!({"role": "support"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.post_as(&admin_session, &format!("/v1/admin/users/{}/close", customer.id), close).await.status(),
        204
    );
    assert_error(app.get_as(&customer.token, "/v1/me").await, 401, "unauthenticated").await;
    assert_error(app.login(&customer.email, PASSWORD).await, 401, "invalid_credentials").await;
    let closed = json(app.get_as(&admin_session, &format!("/v1/admin/users/{}", customer.id)).await).await;
    assert_eq!(closed["status"], "closed");
}

async fn password_change_and_reset_revoke_sessions(app: TestApp) {
    let p = app.verified_person("ivy@example.com", "individual").await;
    let other = json(app.login(&p.email, PASSWORD).await).await["session"]["token"].as_str().unwrap().to_owned();
    let new_password = "quiet-harbour-73-kite";
    let wrong = app
        .post_as(
            &p.token,
            "/v1/me/password",
            json!({"current_password": "not-it-at-all-123", "new_password": new_password}),
        )
        .await;
    assert_error(wrong, 401, "wrong_current_password").await;
    let weak =
        app.post_as(&p.token, "/v1/me/password", json!({"current_password": PASSWORD, "new_password": "short"})).await;
    assert_error(weak, 422, "weak_password").await;
    let ok = app
        .post_as(&p.token, "/v1/me/password", json!({"current_password": PASSWORD, "new_password": new_password}))
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(app.get_as(&p.token, "/v1/me").await.status(), 200, "the session that changed it stays");
    assert_error(app.get_as(&other, "/v1/me").await, 401, "unauthenticated").await;
    assert_error(app.login(&p.email, PASSWORD).await, 401, "invalid_credentials").await;

    // Reset by emailed link: every session ends; the link works once.
    assert_eq!(app.post_json("/v1/auth/password-reset", json!({"email": p.email})).await.status(), 202);
    assert_eq!(app.post_json("/v1/auth/password-reset", json!({"email": "nobody@example.com"})).await.status(), 202);
    let token = app.emailed_token(&p.email).await;
    let reset = app
        .post_json("/v1/auth/password-reset/confirm", json!({"token": token, "password": "fresh-meadow-58-violin"}))
        .await;
    assert_eq!(reset.status(), 204);
    assert_error(app.get_as(&p.token, "/v1/me").await, 401, "unauthenticated").await;
    let again = app
        .post_json("/v1/auth/password-reset/confirm", json!({"token": token, "password": "other-meadow-58-violin"}))
        .await;
    assert_error(again, 400, "invalid_token").await;
    assert_eq!(app.login(&p.email, "fresh-meadow-58-violin").await.status(), 200);
}

async fn sessions_are_listed_and_revocable(app: TestApp) {
    let p = app.verified_person("jack@example.com", "individual").await;
    let second = json(app.login(&p.email, PASSWORD).await).await;
    let second_token = second["session"]["token"].as_str().unwrap().to_owned();
    let second_id = second["session"]["id"].as_str().unwrap().to_owned();
    let list = json(app.get_as(&p.token, "/v1/me/sessions").await).await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(app.delete_as(&p.token, &format!("/v1/me/sessions/{second_id}")).await.status(), 204);
    assert_error(app.get_as(&second_token, "/v1/me").await, 401, "unauthenticated").await;
    assert_error(app.delete_as(&p.token, &format!("/v1/me/sessions/{second_id}")).await, 404, "not_found").await;
    assert_eq!(json(app.get_as(&p.token, "/v1/me/sessions").await).await["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_on_one_instance_is_rejected_by_the_other() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let db = a.database_url.clone().unwrap();
    let b = TestApp::spawn_with(Backend::Postgres, &[("DATABASE_URL", &db)]).await;
    let p = a.verified_person("kim@example.com", "individual").await;
    let on_b = json(b.login(&p.email, PASSWORD).await).await["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(b.get_as(&p.token, "/v1/me").await.status(), 200, "a session from A works on B");
    assert_eq!(a.post_as(&on_b, "/v1/auth/logout", json!({})).await.status(), 204, "B's session ended through A");
    assert_error(b.get_as(&on_b, "/v1/me").await, 401, "unauthenticated").await;
    assert_error(a.get_as(&on_b, "/v1/me").await, 401, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_is_refused_in_production_and_delivered_in_development() {
    let prod = TestApp::spawn_with(Backend::Postgres, crate::helpers::PRODUCTION).await;
    assert_error(prod.get("/v1/dev/outbox").await, 403, "not_available_in_production").await;

    let dev = TestApp::spawn(Backend::Sqlite).await;
    dev.register("lena@example.com", "individual").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if dev.last_email("lena@example.com").await["sent"].is_string() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the dispatcher did not deliver");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Instances cache sessions (SESSION_CACHE_SECONDS), yet a sign-out, a step-up or a closure on
/// one instance takes effect on another at once: the change is published and every instance
/// drops its copy. The TTL here is ten minutes, so nothing below waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_changes_on_one_instance_apply_on_another_at_once() {
    let prefix = pb_testkit::redis::unique_prefix();
    let shared = [("REDIS_KEY_PREFIX", prefix.as_str()), ("SESSION_CACHE_SECONDS", "600")];
    let one = TestApp::spawn_with(Backend::Postgres, &shared).await;
    let db = one.database_url.clone().unwrap();
    let mut vars = shared.to_vec();
    vars.push(("DATABASE_URL", &db));
    let two = TestApp::spawn_with(Backend::Postgres, &vars).await;
    // Signed in before verifying the email: moving money is refused, and two caches that.
    one.register("alice@instances.example", "individual").await;
    let session = json(one.login("alice@instances.example", PASSWORD).await).await;
    let token = session["session"]["token"].as_str().unwrap().to_owned();
    let open = |key: &'static str| {
        let two = &two;
        let token = token.clone();
        async move { two.post_idem(&token, "/v1/accounts", key, json!({"asset": "USD", "name": "Main"})).await }
    };
    assert_error(open("acct-1").await, 403, "email_not_verified").await;

    // Verifying on one applies on two without waiting for the cache.
    let link = one.emailed_token("alice@instances.example").await;
    assert_eq!(one.post_json("/v1/auth/verify-email", json!({"token": link})).await.status(), 200);
    let mut n = 0;
    let opened = || {
        n += 1;
        let key: &'static str = Box::leak(format!("acct-{}", n + 1).into_boxed_str());
        let open = &open;
        async move { open(key).await.status() == 201 }
    };
    wait_briefly("the verified email on the other instance", opened).await;
    let alice = crate::people::Person { email: "alice@instances.example".into(), id: String::new(), token };

    // Sign out on one: the token stops working on two.
    assert_eq!(one.post_as(&alice.token, "/v1/auth/logout", json!({})).await.status(), 204);
    let ended = || async { two.get_as(&alice.token, "/v1/me").await.status() == 401 };
    wait_briefly("the sign-out on the other instance", ended).await;
}

/// Polls for at most 3 s: pub/sub delivery, far below the cache's TTL.
async fn wait_briefly<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what} did not apply within 3 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
