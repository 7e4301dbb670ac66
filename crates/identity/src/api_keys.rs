//! API keys for businesses: shown once, only the hash kept, scoped, revocable.

use crate::context::{RequestContext, event};
use crate::{IdentityError, IdentityService};
use pb_domain::Environment;
use pb_domain::identity::audit::kinds;
use pb_domain::identity::caller::{Caller, Denied, Principal};
use pb_domain::identity::ids::new_id;
use pb_domain::identity::records::*;
use pb_domain::identity::tokens::{hash_token, new_token};
use std::time::Duration;

/// A key just created: `key` is shown once.
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub key: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey").field("record", &self.record).finish_non_exhaustive()
    }
}

impl IdentityService {
    fn key_prefix(&self) -> &'static str {
        match self.settings.environment {
            Environment::Production => "pb_live_",
            Environment::Development => "pb_test_",
        }
    }

    pub async fn create_api_key(
        &self,
        caller: &Caller,
        business_id: &str,
        name: &str,
        mut scopes: Vec<ApiScope>,
        ctx: &RequestContext,
    ) -> Result<NewApiKey, IdentityError> {
        caller.can_manage_business(business_id)?;
        let name = crate::register::clean_name("name", name)?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(IdentityError::invalid("scopes", "give at least one of: read, payments"));
        }
        let key = new_token(self.key_prefix());
        let actor = caller.user_id().ok_or(Denied::Forbidden)?.to_owned();
        let record = ApiKeyRecord {
            id: new_id("key"),
            business_id: business_id.to_owned(),
            created_by: actor.clone(),
            name,
            prefix: key.chars().take(12).collect(),
            scopes,
            created_at: self.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let audit = event(
            kinds::API_KEY_CREATED,
            self.now(),
            Some(&actor),
            Some(&actor),
            ctx,
            serde_json::json!({"api_key_id": record.id, "business_id": business_id}),
        );
        self.store.create_api_key(record.clone(), &hash_token(&key), audit).await?;
        Ok(NewApiKey { record, key })
    }

    pub async fn api_keys(&self, caller: &Caller, business_id: &str) -> Result<Vec<ApiKeyRecord>, IdentityError> {
        caller.can_read(business_id)?;
        Ok(self.store.api_keys(business_id).await?)
    }

    pub async fn revoke_api_key(
        &self,
        caller: &Caller,
        business_id: &str,
        key_id: &str,
        ctx: &RequestContext,
    ) -> Result<(), IdentityError> {
        caller.can_manage_business(business_id)?;
        let actor = caller.user_id().ok_or(Denied::Forbidden)?;
        let audit = event(
            kinds::API_KEY_REVOKED,
            self.now(),
            Some(actor),
            Some(actor),
            ctx,
            serde_json::json!({"api_key_id": key_id}),
        );
        if self.store.revoke_api_key(business_id, key_id, self.now(), audit).await? {
            Ok(())
        } else {
            Err(Denied::NotFound.into())
        }
    }

    /// The caller behind an API key. Use is recorded (last-used time, and an audit event at most
    /// hourly per key so the log shows use without one row per request).
    pub async fn authenticate_api_key(&self, key: &str, ctx: &RequestContext) -> Result<Caller, IdentityError> {
        let record = self.store.api_key_by_hash(&hash_token(key)).await?.ok_or(IdentityError::Unauthenticated)?;
        if record.revoked_at.is_some() {
            return Err(IdentityError::Unauthenticated);
        }
        let now = self.now();
        self.store.touch_api_key(&record.id, now).await?;
        let marker = format!("api_key_used:{}", record.id);
        if self.cache.set_if_absent(&marker, b"1", Duration::from_secs(3600)).await? {
            let audit = event(
                kinds::API_KEY_USED,
                now,
                None,
                Some(&record.created_by),
                ctx,
                serde_json::json!({"api_key_id": record.id, "business_id": record.business_id}),
            );
            self.store.append_audit(audit).await?;
        }
        Ok(Caller {
            principal: Principal::ApiKey { key_id: record.id, business_id: record.business_id, scopes: record.scopes },
            kind: None,
            staff_role: None,
            memberships: Vec::new(),
            email_verified: true,
            mfa_enabled: false,
            mfa_verified_at: None,
        })
    }
}
