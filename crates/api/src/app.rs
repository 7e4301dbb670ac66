//! Assembles the public router: routes (with their OpenAPI description), docs, fallbacks and
//! the middleware stack, outermost first:
//! request id → access log/metrics → JSON errors → panic catcher → security headers → CORS →
//! timeout → body limit → the router → route template (for the access log) → handler.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use crate::middleware::request_series::RequestSeries;
use crate::middleware::{access_log, edge, request_id, security_headers};
use crate::routes::{
    accounts, adjustments, admin, api_keys, auth, businesses, csp_reports, custody, dev, error_codes, health, me,
    statements, transfers, withdrawals,
};
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::any::Any;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Protocol Bank API",
        description = "A digital bank core for fiat and crypto. Amounts are strings of integer minor units; \
            errors are `{\"error\": {type, code, message, param?, request_id}}` with stable codes \
            (see `GET /v1/error-codes`).",
        license(name = "Apache-2.0"),
    ),
    tags(
        (name = "operations", description = "Health and readiness"),
        (name = "meta", description = "About the API itself"),
        (name = "security", description = "Browser security reporting"),
        (name = "auth", description = "Sign-up, sign-in, MFA challenge, password reset"),
        (name = "me", description = "The signed-in user: sessions, password, MFA, history"),
        (name = "api_keys", description = "Business API keys"),
        (name = "businesses", description = "Business members"),
        (name = "admin", description = "Staff routes (role-checked)"),
        (name = "development", description = "Development-only helpers, refused in production"),
        (name = "ledger", description = "Assets, accounts, transfers, holds"),
        (name = "custody", description = "Crypto custody: deposit addresses on Ethereum and Solana"),
    )
)]
struct ApiDoc;

fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(error_codes::list))
        .routes(routes!(error_codes::get))
        .routes(routes!(csp_reports::receive))
        .routes(routes!(auth::register))
        .routes(routes!(auth::verify_email))
        .routes(routes!(auth::resend_verification))
        .routes(routes!(auth::login))
        .routes(routes!(auth::mfa_verify))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::request_reset))
        .routes(routes!(auth::confirm_reset))
        .routes(routes!(auth::step_up))
        .routes(routes!(me::me))
        .routes(routes!(me::sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(me::change_password))
        .routes(routes!(me::totp_begin))
        .routes(routes!(me::totp_confirm))
        .routes(routes!(me::totp_disable))
        .routes(routes!(me::sign_ins))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(businesses::add_member))
        .routes(routes!(admin::audit_events))
        .routes(routes!(admin::user))
        .routes(routes!(admin::close_user))
        .routes(routes!(admin::set_role))
        .routes(routes!(dev::outbox))
        .routes(routes!(accounts::assets))
        .routes(routes!(accounts::open, accounts::list))
        .routes(routes!(accounts::get))
        .routes(routes!(accounts::close))
        .routes(routes!(accounts::history))
        .routes(routes!(statements::statement))
        .routes(routes!(adjustments::propose, adjustments::list))
        .routes(routes!(adjustments::get))
        .routes(routes!(adjustments::approve))
        .routes(routes!(adjustments::reject))
        .routes(routes!(transfers::create))
        .routes(routes!(transfers::batch))
        .routes(routes!(transfers::get))
        .routes(routes!(transfers::capture))
        .routes(routes!(transfers::void))
        .routes(routes!(transfers::sandbox_deposit))
        .routes(routes!(custody::status))
        .routes(routes!(custody::deposit_addresses))
        .routes(routes!(custody::deposits))
        .routes(routes!(custody::reserves))
        .routes(routes!(custody::admin_deposits))
        .routes(routes!(withdrawals::create, withdrawals::list))
        .routes(routes!(withdrawals::get))
}

/// The OpenAPI 3.1 document (also served at `/v1/openapi.json`, printed by `protocol-bank openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    with_operation_ids(documented_routes().into_openapi())
}

/// Handlers in different modules share names (`list`, `get`), and utoipa names operations after
/// handlers; OpenAPI requires unique operation ids, and client generators key on them. Name each
/// by method and path instead: `get /v1/accounts/{id}/transfers` → `get_v1_accounts_id_transfers`.
fn with_operation_ids(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in spec.paths.paths.iter_mut() {
        let slug: String = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_matches(['{', '}']).replace('-', "_"))
            .collect::<Vec<_>>()
            .join("_");
        let ops = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op.as_mut() {
                op.operation_id = Some(format!("{method}_{slug}"));
            }
        }
    }
    spec
}

/// The public router, ready to serve.
///
/// The middleware wraps the routes from outside, as one service, instead of through
/// `Router::layer`: that wraps every route in each layer and boxes it again, and each layer
/// clones the boxed stack below it per request, so each `POST /v1/transfers` cloned boxed
/// services 34 times (bench/RESULTS.md). Only `route_template`, which needs the matched route,
/// stays inside.
pub fn router(state: AppState) -> Router {
    let settings = state.settings().clone();
    let (routes, spec) = documented_routes().split_for_parts();
    let spec = with_operation_ids(spec);

    let routes = routes
        .merge(SwaggerUi::new("/docs").url("/v1/openapi.json", spec))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(access_log::route_template))
        .with_state(state);

    let cors = (!settings.cors_origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(settings.cors_origins.clone()))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-csrf-token"),
                request_id::HEADER.clone(),
            ])
            .expose_headers([
                request_id::HEADER.clone(),
                header::RETRY_AFTER,
                HeaderName::from_static("idempotent-replayed"),
            ])
            .max_age(std::time::Duration::from_secs(600))
    });
    let edge = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(Arc::new(RequestSeries::default()), edge::layer))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(security_headers::layer))
        .option_layer(cors)
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, settings.request_timeout))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .service(routes);
    Router::new().fallback_service(edge)
}

/// Unknown API paths answer JSON; everything else is the web app: a file of its build, or its
/// shell for a client-side route (`/accounts/acct_…`), so deep links and reloads work.
/// The shell is for browsers navigating (`Accept: text/html`); API clients and probes asking
/// for an unknown path get the JSON `route_not_found`.
async fn route_not_found(method: Method, uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    let path = uri.path();
    let reserved = ["/v1", "/docs", "/metrics", "/health", "/ready"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if reserved || (method != Method::GET && method != Method::HEAD) {
        return ApiError::of(ErrorCode::RouteNotFound).into_response();
    }
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let last = path.rsplit('/').next().unwrap_or_default();
    let shell = || if wants_html && !last.contains('.') { pb_web::index() } else { None };
    let asset = pb_web::file(path).or_else(shell);
    match asset {
        Some(a) => {
            ([(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, a.cache_control.to_owned())], a.body)
                .into_response()
        }
        None => ApiError::of(ErrorCode::RouteNotFound).into_response(),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::of(ErrorCode::MethodNotAllowed)
}

/// A panic is a bug: log it (its message may carry detail) and answer a bare internal error.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}
