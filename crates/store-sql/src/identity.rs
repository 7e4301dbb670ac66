//! `impl IdentityStore` for a store type with a `pool` field and a `begin` expression.

/// Expands `impl pb_domain::identity::store::IdentityStore for $store`.
/// `$begin` turns `&self.pool` into a write transaction (SQLite: `BEGIN IMMEDIATE`, so a
/// transaction that reads then writes never fails to upgrade its lock).
#[macro_export]
macro_rules! impl_identity_store {
    ($store:ty, $row:ty, begin = |$pool:ident| $begin:expr) => {
        const _: () = {
            use pb_domain::StoreError;
            use pb_domain::identity::records::*;
            use pb_domain::identity::roles::{BusinessRole, StaffRole, UserKind};
            use pb_domain::identity::store::{CreateUserError, IdentityStore};
            use $crate::sqlx::{self, Row};
            use $crate::{is_unique_violation, store_error};

            const USER_COLUMNS: &str = "id, kind, email, name, phone, password_hash, email_verified_at, status, \
                closed_reason, staff_role, totp_secret_enc, totp_enabled_at, totp_last_step, created_at";
            const SESSION_COLUMNS: &str =
                "id, user_id, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent, mfa_verified_at";
            const KEY_COLUMNS: &str =
                "id, business_id, created_by, name, prefix, scopes, created_at, last_used_at, revoked_at";
            const AUDIT_COLUMNS: &str = "id, at, kind, actor_user_id, subject_user_id, ip, user_agent, details";
            const NOTIFICATION_COLUMNS: &str =
                "id, channel, recipient, subject, body, created_at, sent_at, attempts, last_error";

            fn corrupt(what: &str) -> sqlx::Error {
                sqlx::Error::Protocol(format!("unexpected value in {what}"))
            }

            fn user(r: &$row) -> Result<UserRecord, sqlx::Error> {
                let kind: String = r.try_get("kind")?;
                let status: String = r.try_get("status")?;
                let staff: Option<String> = r.try_get("staff_role")?;
                Ok(UserRecord {
                    id: r.try_get("id")?,
                    kind: UserKind::parse(&kind).ok_or_else(|| corrupt("users.kind"))?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                    phone: r.try_get("phone")?,
                    password_hash: r.try_get("password_hash")?,
                    email_verified_at: r.try_get("email_verified_at")?,
                    status: if status == "closed" { UserStatus::Closed } else { UserStatus::Active },
                    closed_reason: r.try_get("closed_reason")?,
                    staff_role: match staff {
                        Some(s) => Some(StaffRole::parse(&s).ok_or_else(|| corrupt("users.staff_role"))?),
                        None => None,
                    },
                    totp_secret_enc: r.try_get("totp_secret_enc")?,
                    totp_enabled_at: r.try_get("totp_enabled_at")?,
                    totp_last_step: r.try_get("totp_last_step")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn session(r: &$row) -> Result<SessionRecord, sqlx::Error> {
                Ok(SessionRecord {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    created_at: r.try_get("created_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    mfa_verified_at: r.try_get("mfa_verified_at")?,
                })
            }

            fn api_key(r: &$row) -> Result<ApiKeyRecord, sqlx::Error> {
                let scopes: String = r.try_get("scopes")?;
                Ok(ApiKeyRecord {
                    id: r.try_get("id")?,
                    business_id: r.try_get("business_id")?,
                    created_by: r.try_get("created_by")?,
                    name: r.try_get("name")?,
                    prefix: r.try_get("prefix")?,
                    scopes: scopes.split(',').filter_map(ApiScope::parse).collect(),
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            }

            fn audit(r: &$row) -> Result<AuditEvent, sqlx::Error> {
                let details: String = r.try_get("details")?;
                Ok(AuditEvent {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    actor_user_id: r.try_get("actor_user_id")?,
                    subject_user_id: r.try_get("subject_user_id")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    details: $crate::serde_json::from_str(&details).unwrap_or($crate::serde_json::Value::Null),
                })
            }

            fn notification(r: &$row) -> Result<Notification, sqlx::Error> {
                Ok(Notification {
                    id: r.try_get("id")?,
                    channel: r.try_get("channel")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                    sent_at: r.try_get("sent_at")?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                })
            }

            fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
                // Only constant column lists are ever formatted in; values are always bound.
                sqlx::AssertSqlSafe(s)
            }

            macro_rules! insert_audit {
                ($exec:expr, $e:expr) => {{
                    let e = $e;
                    sqlx::query(
                        "INSERT INTO audit_events (id, at, kind, actor_user_id, subject_user_id, ip, user_agent, details)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(e.id)
                    .bind(e.at)
                    .bind(e.kind)
                    .bind(e.actor_user_id)
                    .bind(e.subject_user_id)
                    .bind(e.ip)
                    .bind(e.user_agent)
                    .bind(e.details.to_string())
                    .execute($exec)
                    .await
                }};
            }

            macro_rules! insert_notification {
                ($exec:expr, $n:expr) => {{
                    let n = $n;
                    sqlx::query(
                        "INSERT INTO notifications (id, channel, recipient, subject, body, created_at, attempts)
                         VALUES ($1, $2, $3, $4, $5, $6, 0)",
                    )
                    .bind(n.id)
                    .bind(n.channel)
                    .bind(n.recipient)
                    .bind(n.subject)
                    .bind(n.body)
                    .bind(n.created_at)
                    .execute($exec)
                    .await
                }};
            }

            #[$crate::async_trait]
            impl IdentityStore for $store {
                async fn create_user(&self, new: NewUser) -> Result<(), CreateUserError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let u = new.user;
                    let inserted = sqlx::query(
                        "INSERT INTO users (id, kind, email, email_normalized, name, phone, password_hash, email_verified_at,
                             status, staff_role, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10)
                         ON CONFLICT (email_normalized) DO NOTHING",
                    )
                    .bind(&u.id)
                    .bind(u.kind.as_str())
                    .bind(&u.email)
                    .bind(&new.email_normalized)
                    .bind(&u.name)
                    .bind(&u.phone)
                    .bind(&u.password_hash)
                    .bind(u.email_verified_at)
                    .bind(u.staff_role.map(StaffRole::as_str))
                    .bind(u.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    if inserted.rows_affected() == 0 {
                        return Err(CreateUserError::EmailTaken);
                    }
                    if let Some((business_id, business_name)) = new.business {
                        sqlx::query("INSERT INTO businesses (id, name, created_at) VALUES ($1, $2, $3)")
                            .bind(&business_id)
                            .bind(&business_name)
                            .bind(u.created_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error)?;
                        sqlx::query(
                            "INSERT INTO business_members (business_id, user_id, role, created_at) VALUES ($1, $2, 'admin', $3)",
                        )
                        .bind(&business_id)
                        .bind(&u.id)
                        .bind(u.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    }
                    if let Some(t) = new.verification {
                        sqlx::query(
                            "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(t.token_hash)
                        .bind(t.user_id)
                        .bind(t.purpose.as_str())
                        .bind(t.created_at)
                        .bind(t.expires_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    }
                    if let Some(n) = new.notification {
                        insert_notification!(&mut *tx, n).map_err(store_error)?;
                    }
                    insert_audit!(&mut *tx, new.audit).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(())
                }

                async fn user_by_email(&self, email_normalized: &str) -> Result<Option<UserRecord>, StoreError> {
                    let row = sqlx::query(sql(format!("SELECT {USER_COLUMNS} FROM users WHERE email_normalized = $1")))
                        .bind(email_normalized)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)?;
                    row.as_ref().map(user).transpose().map_err(store_error)
                }

                async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
                    let row = sqlx::query(sql(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)?;
                    row.as_ref().map(user).transpose().map_err(store_error)
                }

                async fn memberships(&self, user_id: &str) -> Result<Vec<Membership>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT m.business_id, b.name, m.role FROM business_members m
                         JOIN businesses b ON b.id = m.business_id WHERE m.user_id = $1 ORDER BY m.business_id",
                    )
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter()
                        .map(|r| {
                            let role: String = r.try_get("role")?;
                            Ok(Membership {
                                business_id: r.try_get("business_id")?,
                                business_name: r.try_get("name")?,
                                role: BusinessRole::parse(&role).ok_or_else(|| corrupt("business_members.role"))?,
                            })
                        })
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err(store_error)
                }

                async fn add_member(&self, business_id: &str, user_id: &str, role: &str, audit_event: AuditEvent)
                -> Result<bool, StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let done = sqlx::query(
                        "INSERT INTO business_members (business_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (business_id, user_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(business_id)
                    .bind(user_id)
                    .bind(role)
                    .bind(audit_event.at)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn close_user(&self, user_id: &str, reason: &str, now: i64, audit_event: AuditEvent)
                -> Result<bool, StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let done = sqlx::query(
                        "UPDATE users SET status = 'closed', closed_reason = $2, closed_at = $3 WHERE id = $1 AND status = 'active'",
                    )
                    .bind(user_id)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn set_staff_role(&self, user_id: &str, role: &str, audit_event: AuditEvent) -> Result<bool, StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let done = sqlx::query("UPDATE users SET staff_role = $2 WHERE id = $1 AND kind = 'staff'")
                        .bind(user_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn create_email_token(&self, t: NewEmailToken, n: Notification, audit_event: Option<AuditEvent>)
                -> Result<(), StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    sqlx::query(
                        "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(t.token_hash)
                    .bind(t.user_id)
                    .bind(t.purpose.as_str())
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    insert_notification!(&mut *tx, n).map_err(store_error)?;
                    if let Some(e) = audit_event {
                        insert_audit!(&mut *tx, e).map_err(store_error)?;
                    }
                    tx.commit().await.map_err(store_error)
                }

                async fn consume_email_token(&self, hash: &[u8], purpose: TokenPurpose, now: i64)
                -> Result<Option<String>, StoreError> {
                    sqlx::query_scalar(
                        "UPDATE email_tokens SET used_at = $3
                         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
                         RETURNING user_id",
                    )
                    .bind(hash)
                    .bind(purpose.as_str())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)
                }

                async fn mark_email_verified(&self, user_id: &str, now: i64, audit_event: AuditEvent) -> Result<(), StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    sqlx::query("UPDATE users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)
                }

                async fn notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError> {
                    let rows = sqlx::query(sql(format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications ORDER BY id DESC LIMIT $1"
                    )))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(notification).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn unsent_notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError> {
                    let rows = sqlx::query(sql(format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE sent_at IS NULL AND attempts < 10
                         ORDER BY created_at LIMIT $1"
                    )))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(notification).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn mark_notification(&self, id: &str, sent_at: Option<i64>, error: Option<&str>, clear_body: bool)
                -> Result<(), StoreError> {
                    sqlx::query(
                        "UPDATE notifications SET sent_at = $2, last_error = $3, attempts = attempts + 1,
                             body = CASE WHEN $4 THEN '' ELSE body END
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(sent_at)
                    .bind(error)
                    .bind(clear_body)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }

                async fn set_password(&self, user_id: &str, hash: &str, keep: Option<&str>, now: i64, audit_event: AuditEvent)
                -> Result<Vec<String>, StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let revoked: Vec<String> = sqlx::query_scalar(
                        "UPDATE sessions SET revoked_at = $2
                         WHERE user_id = $1 AND revoked_at IS NULL AND id <> COALESCE($3, '') RETURNING id",
                    )
                    .bind(user_id)
                    .bind(now)
                    .bind(keep)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    // Outstanding reset links die with the old password.
                    sqlx::query("UPDATE email_tokens SET used_at = $2 WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(revoked)
                }

                async fn create_session(&self, s: SessionRecord, token_hash: &[u8], audit_event: AuditEvent)
                -> Result<(), StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    sqlx::query(
                        "INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent, mfa_verified_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(s.id)
                    .bind(s.user_id)
                    .bind(token_hash)
                    .bind(s.created_at)
                    .bind(s.last_seen_at)
                    .bind(s.expires_at)
                    .bind(s.ip)
                    .bind(s.user_agent)
                    .bind(s.mfa_verified_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)
                }

                async fn session_with_user(
                    &self,
                    token_hash: &[u8],
                ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
                    // One round trip per authenticated request instead of two.
                    let row = sqlx::query(
                        "SELECT u.id, u.kind, u.email, u.name, u.phone, u.password_hash, u.email_verified_at, u.status,
                             u.closed_reason, u.staff_role, u.totp_secret_enc, u.totp_enabled_at, u.totp_last_step,
                             u.created_at, s.id AS s_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at,
                             s.revoked_at, s.ip, s.user_agent, s.mfa_verified_at
                         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                    let Some(r) = row else { return Ok(None) };
                    let u = user(&r).map_err(store_error)?;
                    let s = (|| -> Result<SessionRecord, sqlx::Error> {
                        Ok(SessionRecord {
                            id: r.try_get("s_id")?,
                            user_id: u.id.clone(),
                            created_at: r.try_get("s_created_at")?,
                            last_seen_at: r.try_get("last_seen_at")?,
                            expires_at: r.try_get("expires_at")?,
                            revoked_at: r.try_get("revoked_at")?,
                            ip: r.try_get("ip")?,
                            user_agent: r.try_get("user_agent")?,
                            mfa_verified_at: r.try_get("mfa_verified_at")?,
                        })
                    })()
                    .map_err(store_error)?;
                    Ok(Some((s, u)))
                }

                async fn session_by_token(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
                    let row = sqlx::query(sql(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1")))
                        .bind(token_hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)?;
                    row.as_ref().map(session).transpose().map_err(store_error)
                }

                async fn touch_session(&self, session_id: &str, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2")
                        .bind(session_id)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(())
                }

                async fn sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
                    let rows = sqlx::query(sql(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT 100"
                    )))
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(session).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn revoke_session(&self, user_id: &str, session_id: &str, now: i64, audit_event: AuditEvent)
                -> Result<bool, StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let done = sqlx::query(
                        "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(session_id)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    if done.rows_affected() == 1 {
                        insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    }
                    tx.commit().await.map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn mark_session_mfa(&self, session_id: &str, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE sessions SET mfa_verified_at = $2 WHERE id = $1")
                        .bind(session_id)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(())
                }

                async fn set_totp_secret(&self, user_id: &str, secret_enc: &str) -> Result<(), StoreError> {
                    // Only while not yet enabled: re-enrolment needs MFA disabled first.
                    sqlx::query("UPDATE users SET totp_secret_enc = $2 WHERE id = $1 AND totp_enabled_at IS NULL")
                        .bind(user_id)
                        .bind(secret_enc)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(())
                }

                async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
                    // The compare-and-set is one statement: two instances cannot both accept a step.
                    let done = sqlx::query(
                        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                    )
                    .bind(user_id)
                    .bind(step)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn enable_totp(&self, user_id: &str, now: i64, recovery_hashes: Vec<Vec<u8>>, audit_event: AuditEvent)
                -> Result<(), StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    sqlx::query("UPDATE users SET totp_enabled_at = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    for hash in recovery_hashes {
                        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                            .bind(user_id)
                            .bind(hash)
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error)?;
                    }
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)
                }

                async fn disable_totp(&self, user_id: &str, audit_event: AuditEvent) -> Result<(), StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    sqlx::query("UPDATE users SET totp_enabled_at = NULL, totp_secret_enc = NULL WHERE id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)
                }

                async fn use_recovery_code(&self, user_id: &str, hash: &[u8], now: i64) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                    )
                    .bind(user_id)
                    .bind(hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn create_mfa_challenge(&self, c: MfaChallenge) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO mfa_challenges (id, user_id, expires_at, attempts) VALUES ($1, $2, $3, 0)")
                        .bind(c.id)
                        .bind(c.user_id)
                        .bind(c.expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(())
                }

                async fn attempt_mfa_challenge(&self, id: &str, now: i64, max_attempts: i64)
                -> Result<Option<MfaChallenge>, StoreError> {
                    let row = sqlx::query(
                        "UPDATE mfa_challenges SET attempts = attempts + 1
                         WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3
                         RETURNING id, user_id, expires_at, attempts",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(max_attempts)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                    row.map(|r| {
                        Ok(MfaChallenge {
                            id: r.try_get("id")?,
                            user_id: r.try_get("user_id")?,
                            expires_at: r.try_get("expires_at")?,
                            attempts: r.try_get("attempts")?,
                        })
                    })
                    .transpose()
                    .map_err(store_error)
                }

                async fn finish_mfa_challenge(&self, id: &str) -> Result<bool, StoreError> {
                    let done = sqlx::query("UPDATE mfa_challenges SET used_at = expires_at WHERE id = $1 AND used_at IS NULL")
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn create_api_key(&self, k: ApiKeyRecord, hash: &[u8], audit_event: AuditEvent) -> Result<(), StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                    sqlx::query(
                        "INSERT INTO api_keys (id, business_id, created_by, name, prefix, key_hash, scopes, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(k.id)
                    .bind(k.business_id)
                    .bind(k.created_by)
                    .bind(k.name)
                    .bind(k.prefix)
                    .bind(hash)
                    .bind(scopes.join(","))
                    .bind(k.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    tx.commit().await.map_err(store_error)
                }

                async fn api_keys(&self, business_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
                    let rows = sqlx::query(sql(format!(
                        "SELECT {KEY_COLUMNS} FROM api_keys WHERE business_id = $1 ORDER BY id DESC"
                    )))
                    .bind(business_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(api_key).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError> {
                    let row = sqlx::query(sql(format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1")))
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)?;
                    row.as_ref().map(api_key).transpose().map_err(store_error)
                }

                async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), StoreError> {
                    sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(())
                }

                async fn revoke_api_key(&self, business_id: &str, id: &str, now: i64, audit_event: AuditEvent)
                -> Result<bool, StoreError> {
                    let $pool = &self.pool;
                    let mut tx = $begin.await.map_err(store_error)?;
                    let done = sqlx::query(
                        "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND business_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(id)
                    .bind(business_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    if done.rows_affected() == 1 {
                        insert_audit!(&mut *tx, audit_event).map_err(store_error)?;
                    }
                    tx.commit().await.map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn append_audit(&self, e: AuditEvent) -> Result<(), StoreError> {
                    insert_audit!(&self.pool, e).map_err(store_error)?;
                    Ok(())
                }

                async fn audit_events(&self, subject: Option<&str>, kinds: &[&str], page: Page)
                -> Result<Vec<AuditEvent>, StoreError> {
                    // Kinds come from the fixed list in `audit::kinds`; they are bound as one
                    // comma-joined parameter and matched with instr/position to stay portable.
                    let kinds_csv = format!(",{},", kinds.join(","));
                    let rows = sqlx::query(sql(format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit_events
                         WHERE ($1 IS NULL OR subject_user_id = $1)
                           AND ($2 = ',,' OR $2 LIKE '%,' || kind || ',%')
                           AND ($3 IS NULL OR id < $3)
                         ORDER BY id DESC LIMIT $4"
                    )))
                    .bind(subject)
                    .bind(kinds_csv)
                    .bind(page.starting_after)
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(audit).collect::<Result<_, _>>().map_err(store_error)
                }
            }

            #[allow(dead_code)]
            fn _uses(e: &sqlx::Error) -> bool {
                is_unique_violation(e)
            }
        };
    };
}
