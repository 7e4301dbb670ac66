//! Authentication for every route: a session (HttpOnly cookie from the browser, or
//! `Authorization: Bearer pbs_…`) or a business API key (`Authorization: Bearer pb_live_…`).
//! Cookie-authenticated unsafe requests must carry `X-CSRF-Token` (bound to the session by
//! HMAC), so another site cannot make the browser act for the user.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use crate::extract::ClientIp;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use pb_domain::identity::caller::Caller;
use pb_identity::RequestContext;

pub const SESSION_COOKIE: &str = "pb_session";
pub const CSRF_COOKIE: &str = "pb_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in caller. Rejects with 401 `unauthenticated` otherwise.
#[derive(Debug, Clone)]
pub struct Auth {
    pub caller: Caller,
    /// The session token when the caller used one (logout clears its cookie).
    pub via_cookie: bool,
}

/// Where the request came from, for audit events.
#[derive(Debug, Clone)]
pub struct Ctx(pub RequestContext);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let ua = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
        Ok(Self(RequestContext::new(ip, ua)))
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let identity = state.identity();
        let auth = if let Some(token) = bearer(&parts.headers).map(str::to_owned) {
            let token = token.as_str();
            let caller = if token.starts_with("pbs_") {
                identity.authenticate_session(token).await?
            } else {
                let Ctx(ctx) = Ctx::from_request_parts(parts, state).await.unwrap_or_else(|e| match e {});
                identity.authenticate_api_key(token, &ctx).await?
            };
            Auth { caller, via_cookie: false }
        } else if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            if is_unsafe(&parts.method) {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                let expected = identity.csrf_token(&token);
                if !pb_domain::identity::tokens::secrets_equal(sent.as_bytes(), expected.as_bytes()) {
                    return Err(ApiError::of(ErrorCode::CsrfTokenInvalid));
                }
            }
            Auth { caller: identity.authenticate_session(&token).await?, via_cookie: true }
        } else {
            return Err(ApiError::of(ErrorCode::Unauthenticated));
        };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// A signed-in member of staff, of any role: what every `/v1/admin` route takes first, so that a
/// caller who is not staff is refused (403 `forbidden`) before the route reads its path, query or
/// body, and learns nothing of what they hold. Each route's own check of the role, in the
/// service, stays the one that decides.
#[derive(Debug, Clone)]
pub struct StaffAuth(pub Auth);

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if !auth.caller.is_staff() {
            return Err(ApiError::of(ErrorCode::Forbidden));
        }
        Ok(Self(auth))
    }
}

/// `Set-Cookie` values for a new session: the token (HttpOnly: scripts cannot read it) and the
/// CSRF token (readable by the app, which echoes it in `X-CSRF-Token`).
pub fn session_cookies(token: &str, csrf: &str, max_age_secs: i64) -> [HeaderValue; 2] {
    let attrs = format!("Path=/; Secure; SameSite=Strict; Max-Age={max_age_secs}");
    [
        HeaderValue::from_str(&format!("{SESSION_COOKIE}={token}; HttpOnly; {attrs}"))
            .unwrap_or(HeaderValue::from_static("")),
        HeaderValue::from_str(&format!("{CSRF_COOKIE}={csrf}; {attrs}")).unwrap_or(HeaderValue::from_static("")),
    ]
}

pub fn clear_cookies() -> [HeaderValue; 2] {
    [
        HeaderValue::from_static("pb_session=; HttpOnly; Path=/; Secure; SameSite=Strict; Max-Age=0"),
        HeaderValue::from_static("pb_csrf=; Path=/; Secure; SameSite=Strict; Max-Age=0"),
    ]
}
