//! Staff corrections under the four-eyes rule: a compliance officer or admin proposes, a
//! different one approves, and only then does a new transfer move money between the customer
//! account and the bank's `adjustment` account. Nothing in the journal is edited.

use crate::{LedgerError, LedgerService};
use pb_domain::identity::caller::Caller;
use pb_domain::identity::ids::new_id;
use pb_domain::identity::records::AuditEvent;
use pb_domain::identity::roles::StaffRole;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::adjustment::{Adjustment, AdjustmentStatus, Decision, Direction, may_decide};
use pb_domain::ledger::store::{Command, Idempotency};
use pb_domain::ledger::transfer::{TransferFlags, TransferId, TransferRequest};
use std::collections::BTreeMap;

const DECIDERS: &[StaffRole] = &[StaffRole::ComplianceOfficer, StaffRole::Admin];
const READERS: &[StaffRole] = &[StaffRole::Support, StaffRole::ComplianceOfficer, StaffRole::Admin];

#[derive(Debug, Clone)]
pub struct Proposal {
    pub account_id: AccountId,
    pub direction: Direction,
    pub amount: Amount,
    pub reason: String,
    pub corrects: Option<TransferId>,
}

fn staff_id(caller: &Caller) -> Result<String, LedgerError> {
    caller.user_id().map(str::to_owned).ok_or(LedgerError::Denied(pb_domain::identity::caller::Denied::Forbidden))
}

impl LedgerService {
    async fn audit(&self, kind: &str, actor: &str, subject: Option<&str>, a: &Adjustment) -> Result<(), LedgerError> {
        let details = serde_json::json!({
            "adjustment_id": a.id, "account_id": a.account_id.to_api(), "direction": a.direction.as_str(),
            "amount": a.amount.units().to_string(), "asset": a.asset.as_str(), "status": a.status.as_str(),
        });
        let event = AuditEvent {
            id: new_id("evt"),
            at: self.now_ms(),
            kind: kind.to_owned(),
            actor_user_id: Some(actor.to_owned()),
            subject_user_id: subject.map(str::to_owned),
            ip: None,
            user_agent: None,
            details,
        };
        Ok(self.identity().append_audit(event).await?)
    }

    pub async fn propose_adjustment(&self, caller: &Caller, p: Proposal) -> Result<Adjustment, LedgerError> {
        caller.require_staff(DECIDERS)?;
        let maker = staff_id(caller)?;
        let reason = p.reason.trim();
        if reason.chars().count() < 10 || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
            return Err(LedgerError::invalid("reason", "say why, in 10 to 500 characters"));
        }
        let account = self.store().account(p.account_id).await?.ok_or(LedgerError::AccountNotFound)?;
        if account.owner == "bank" {
            return Err(LedgerError::invalid("account_id", "adjustments are for customer accounts"));
        }
        if let Some(t) = p.corrects
            && self.store().transfer(t).await?.is_none()
        {
            return Err(LedgerError::invalid("corrects", "no such transfer"));
        }
        let adjustment = Adjustment {
            id: new_id("adj"),
            account_id: account.id,
            asset: account.asset.clone(),
            amount: p.amount,
            direction: p.direction,
            reason: reason.to_owned(),
            corrects: p.corrects,
            status: AdjustmentStatus::PendingApproval,
            maker: maker.clone(),
            checker: None,
            transfer_id: None,
            failure: None,
            created_at: self.now_ms(),
            decided_at: None,
        };
        self.adjustment_store().create_adjustment(&adjustment).await?;
        self.audit("adjustment.proposed", &maker, Some(&account.owner), &adjustment).await?;
        Ok(adjustment)
    }

    pub async fn adjustment(&self, caller: &Caller, id: &str) -> Result<Adjustment, LedgerError> {
        caller.require_staff(READERS)?;
        self.adjustment_store().adjustment(id).await?.ok_or(LedgerError::AdjustmentNotFound)
    }

    pub async fn adjustments(
        &self,
        caller: &Caller,
        status: Option<AdjustmentStatus>,
        starting_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Adjustment>, LedgerError> {
        caller.require_staff(READERS)?;
        Ok(self.adjustment_store().adjustments(status, starting_after, limit).await?)
    }

    /// Approves and executes. Safe to repeat and to race: the transfer runs under an
    /// idempotency key of the adjustment, and the decision is written only once.
    pub async fn approve_adjustment(&self, caller: &Caller, id: &str) -> Result<Adjustment, LedgerError> {
        caller.require_staff(DECIDERS)?;
        let checker = staff_id(caller)?;
        let a = self.adjustment_store().adjustment(id).await?.ok_or(LedgerError::AdjustmentNotFound)?;
        if a.status != AdjustmentStatus::PendingApproval {
            return Err(LedgerError::AdjustmentDecided(a.status));
        }
        if !may_decide(&a, &checker) {
            return Err(LedgerError::FourEyes);
        }
        let bank = self.store().system_account("adjustment", &a.asset, self.now_ms()).await?;
        let (debit, credit) = match a.direction {
            Direction::Credit => (bank.id, a.account_id),
            Direction::Debit => (a.account_id, bank.id),
        };
        let mut metadata = BTreeMap::from([("adjustment_id".to_owned(), a.id.clone())]);
        if let Some(t) = a.corrects {
            metadata.insert("corrects".into(), t.to_api());
        }
        let request = TransferRequest {
            id: TransferId::new(),
            debit_account_id: debit,
            credit_account_id: credit,
            amount: Some(a.amount),
            asset: Some(a.asset.clone()),
            code: "adjustment".into(),
            flags: TransferFlags::default(),
            pending_id: None,
            timeout_ms: None,
            description: Some(a.reason.clone()),
            metadata,
        };
        let key = Idempotency {
            owner: "bank".into(),
            key: format!("adjustment:{}", a.id),
            fingerprint: a.id.clone().into_bytes(),
        };
        let (result, _) = self.submit_one(Command { idempotency: Some(key), requests: vec![request] }).await?;
        let decision = Decision {
            status: if result.is_ok() { AdjustmentStatus::Posted } else { AdjustmentStatus::Failed },
            checker: checker.clone(),
            transfer_id: result.as_ref().ok().map(|t| t.id),
            failure: result.as_ref().err().map(|e| e.code().to_owned()),
            decided_at: self.now_ms(),
        };
        self.adjustment_store().decide_adjustment(&a.id, &decision).await?;
        // Whoever won a race, the stored row is the truth.
        let now = self.adjustment_store().adjustment(&a.id).await?.ok_or(LedgerError::AdjustmentNotFound)?;
        let account = self.store().account(a.account_id).await?;
        self.audit("adjustment.approved", &checker, account.as_ref().map(|x| x.owner.as_str()), &now).await?;
        Ok(now)
    }

    pub async fn reject_adjustment(&self, caller: &Caller, id: &str) -> Result<Adjustment, LedgerError> {
        caller.require_staff(DECIDERS)?;
        let checker = staff_id(caller)?;
        let a = self.adjustment_store().adjustment(id).await?.ok_or(LedgerError::AdjustmentNotFound)?;
        if a.status != AdjustmentStatus::PendingApproval {
            return Err(LedgerError::AdjustmentDecided(a.status));
        }
        if !may_decide(&a, &checker) {
            return Err(LedgerError::FourEyes);
        }
        let decision = Decision {
            status: AdjustmentStatus::Rejected,
            checker: checker.clone(),
            transfer_id: None,
            failure: None,
            decided_at: self.now_ms(),
        };
        if !self.adjustment_store().decide_adjustment(&a.id, &decision).await? {
            let now = self.adjustment_store().adjustment(&a.id).await?.ok_or(LedgerError::AdjustmentNotFound)?;
            return Err(LedgerError::AdjustmentDecided(now.status));
        }
        let now = self.adjustment_store().adjustment(&a.id).await?.ok_or(LedgerError::AdjustmentNotFound)?;
        self.audit("adjustment.rejected", &checker, None, &now).await?;
        Ok(now)
    }
}
