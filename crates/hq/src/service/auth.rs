//! Who may do what: dispatchers and their sessions, technicians, enrollment
//! codes and the devices they enroll.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::IpAddr;

use argon2::Argon2;
use chrono::Duration;
use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{DeviceId, EnrollRequest, EnrollResponse, TechnicianId, TechnicianRef};
use doorstep_core::{Timestamp, SHORT_TEXT_MAX};
use uuid::Uuid;

use super::audit::clip;
use super::{check_text, Hq};
use crate::dto::{IssuedCode, LoginRequest};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, AuditRecord, DispatcherAccount, OutstandingCode};
use crate::rules;
use crate::storage::{DeviceAuth, DeviceInfo, DispatcherSession};

/// How long a one-time enrollment code stays valid.
pub const ENROLLMENT_CODE_TTL_HOURS: i64 = 24;
/// How long a dispatcher stays logged in.
pub const SESSION_TTL_HOURS: i64 = 12;

/// A random secret, 32 bytes as hex.
pub fn random_token() -> HqResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(HqError::storage)?;
    Ok(hex::encode(bytes))
}

/// Tokens and codes are stored as their SHA-256 only.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A one-time code a person can read out and type: `XXXXX-XXXXX`.
pub fn enrollment_code() -> HqResult<String> {
    let mut out = String::new();
    while out.len() < 11 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(HqError::storage)?;
        // Rejection sampling keeps every letter equally likely.
        if (byte[0] as usize) < CODE_ALPHABET.len() * 8 {
            if out.len() == 5 {
                out.push('-');
            }
            out.push(CODE_ALPHABET[byte[0] as usize % CODE_ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

/// Case, spaces and dashes do not matter when a code is typed back.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn hash_password(password: &str) -> HqResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(HqError::storage)?;
    let salt = SaltString::encode_b64(&bytes).map_err(HqError::storage)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(HqError::storage)
}

/// A stand-in for an unknown username's password hash: the parameters of
/// `hash_password` (Argon2id, 19 MiB, 2 passes), a hash no password has.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// A session just opened: the token goes only into the HttpOnly cookie.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub username: String,
    pub expires_at: Timestamp,
}

/// A client address for the log; `-` when HQ was not told it.
fn shown(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "-".into(), |ip| ip.to_string())
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new password: at least 8 characters, at most 1024 bytes (the most a
/// log-in accepts), hashed off the async workers.
async fn new_password_hash(password: &str) -> HqResult<String> {
    if password.chars().count() < 8 {
        return Err(HqError::invalid(
            "weak_password",
            "a password has at least 8 characters",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(HqError::invalid(
            "invalid_field",
            format!(
                "password is {} bytes; at most {MAX_PASSWORD_BYTES}",
                password.len()
            ),
        ));
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(HqError::storage)?
}

/// The longest password a log-in checks; longer ones are refused unread.
const MAX_PASSWORD_BYTES: usize = 1024;

impl Hq {
    /// Checks a password off the async workers (Argon2 is slow on purpose)
    /// and under the password-check cap, so a flood of log-ins cannot
    /// starve device syncs.
    async fn password_matches(&self, password: &str, phc: &str) -> HqResult<bool> {
        let (password, phc) = (password.to_string(), phc.to_string());
        self.throttle
            .password_check(move || verify_password(&password, &phc))
            .await
    }

    pub async fn device(&self, token: &str) -> HqResult<DeviceAuth> {
        let device = self
            .storage
            .device_by_token(&token_hash(token))
            .await?
            .ok_or_else(|| HqError::unauthorized("unauthorized", "unknown device token"))?;
        rules::may_sync(device.revoked)?;
        Ok(device)
    }

    pub async fn dispatcher(&self, token: &str) -> HqResult<DispatcherSession> {
        self.storage
            .session(&token_hash(token), self.now())
            .await?
            .ok_or_else(|| HqError::unauthorized("unauthorized", "log in as a dispatcher"))
    }

    /// Ends the dispatcher session this token names, if any.
    pub async fn logout(&self, token: &str) -> HqResult<()> {
        self.storage.delete_session(&token_hash(token)).await
    }

    pub async fn create_dispatcher(&self, username: &str, password: &str) -> HqResult<()> {
        check_text("username", username, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        let phc = new_password_hash(password).await?;
        let username = username.trim();
        let audit = AuditRecord {
            username: Some(username.to_string()),
            ..self.audit_entry(AuditAction::CreateDispatcher)
        };
        self.storage
            .create_dispatcher(username, &phc, self.now(), &audit)
            .await?;
        Ok(())
    }

    pub async fn dispatchers(&self) -> HqResult<Vec<DispatcherAccount>> {
        self.storage.dispatchers().await
    }

    /// Disables a dispatcher: no log-in, and every session of theirs ends.
    pub async fn disable_dispatcher(&self, username: &str) -> HqResult<DispatcherAccount> {
        rules::may_disable(self.actor.username(), username)?;
        let audit = AuditRecord {
            username: Some(username.to_string()),
            ..self.audit_entry(AuditAction::DisableDispatcher)
        };
        self.storage
            .set_dispatcher_disabled(username, Some(self.now()), &audit)
            .await
    }

    pub async fn enable_dispatcher(&self, username: &str) -> HqResult<DispatcherAccount> {
        let audit = AuditRecord {
            username: Some(username.to_string()),
            ..self.audit_entry(AuditAction::EnableDispatcher)
        };
        self.storage
            .set_dispatcher_disabled(username, None, &audit)
            .await
    }

    /// Sets a dispatcher's password (an admin command): every session of
    /// theirs ends, so whoever knew the old one is out.
    pub async fn set_password(&self, username: &str, password: &str) -> HqResult<()> {
        let phc = new_password_hash(password).await?;
        let audit = AuditRecord {
            username: Some(username.to_string()),
            ..self.audit_entry(AuditAction::ChangePassword)
        };
        self.storage
            .set_password(username, &phc, None, &audit)
            .await
    }

    /// A signed-in dispatcher changes their own password, giving the
    /// current one; their other sessions end, the one in use stays.
    pub async fn change_own_password(
        &self,
        session_token: &str,
        current: &str,
        new: &str,
    ) -> HqResult<()> {
        let session = self.dispatcher(session_token).await?;
        let login = self
            .storage
            .dispatcher_by_username(&session.username)
            .await?
            .ok_or_else(|| HqError::unauthorized("unauthorized", "log in as a dispatcher"))?;
        if current.len() > MAX_PASSWORD_BYTES
            || !self.password_matches(current, &login.password_hash).await?
        {
            return Err(HqError::forbidden(
                "wrong_password",
                "the current password is wrong",
            ));
        }
        let phc = new_password_hash(new).await?;
        let audit = AuditRecord {
            username: Some(session.username.clone()),
            ..self.by(&session).audit_entry(AuditAction::ChangePassword)
        };
        self.storage
            .set_password(
                &session.username,
                &phc,
                Some(&token_hash(session_token)),
                &audit,
            )
            .await
    }

    pub async fn create_technician(&self, name: &str) -> HqResult<TechnicianRef> {
        check_text("name", name, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        let technician = TechnicianRef {
            id: TechnicianId::new(),
            name: name.trim().to_string(),
        };
        let audit = AuditRecord {
            technician_id: Some(technician.id),
            ..self.audit_detail(AuditAction::CreateTechnician, &technician.name)
        };
        self.storage
            .create_technician(&technician, self.now(), &audit)
            .await?;
        Ok(technician)
    }

    /// Checks a dispatcher's password and opens a session. Attempts are
    /// rate-limited per client address and per username; the check runs
    /// under the password-check cap; an unknown username costs the same
    /// time as a wrong password. Every attempt goes into the audit log under
    /// the username typed: a success in the session's own transaction, a
    /// failure on its own with why. Refusals are logged; the password never.
    pub async fn login(
        &self,
        request: LoginRequest,
        client: Option<IpAddr>,
    ) -> HqResult<NewSession> {
        let refused = || HqError::unauthorized("bad_credentials", "wrong username or password");
        let username = request.username.trim();
        if let Err(wait) = self.throttle.login_attempt(client, username) {
            tracing::warn!(username, client = %shown(client), "log-in refused: too many attempts");
            return Err(wait.into());
        }
        let failed = |why: &str| AuditRecord {
            actor: Some(clip(username, SHORT_TEXT_MAX)),
            username: Some(clip(username, SHORT_TEXT_MAX)),
            ..self.audit_detail(AuditAction::LoginFailed, why)
        };
        if request.password.len() > MAX_PASSWORD_BYTES {
            self.storage
                .record_audit(&failed("password too long"))
                .await?;
            return Err(refused());
        }
        let login = self.storage.dispatcher_by_username(username).await?;
        let known = login.is_some();
        // An unknown username is checked against a stand-in hash, so the
        // answer takes as long as for a wrong password and its time does not
        // tell which usernames exist.
        let phc = login.as_ref().map_or_else(
            || UNKNOWN_USER_HASH.to_string(),
            |l| l.password_hash.clone(),
        );
        let matches = self.password_matches(&request.password, &phc).await?;
        let Some(login) = login.filter(|_| matches) else {
            let why = if known {
                "wrong password"
            } else {
                "unknown username"
            };
            tracing::warn!(username, client = %shown(client), "log-in refused: {why}");
            self.storage.record_audit(&failed(why)).await?;
            return Err(refused());
        };
        // Sessions end by expiring; a log-in clears away the expired ones.
        self.storage.purge_expired(self.now()).await?;
        let token = random_token()?;
        let expires_at = self.now() + Duration::hours(SESSION_TTL_HOURS);
        let audit = AuditRecord {
            actor: Some(login.username.clone()),
            username: Some(login.username.clone()),
            ..self.audit_entry(AuditAction::Login)
        };
        let created = self
            .storage
            .create_session(&token_hash(&token), login.id, expires_at, &audit)
            .await;
        if let Err(err) = created {
            if err.code() == "account_disabled" {
                tracing::warn!(username, client = %shown(client), "log-in refused: account disabled");
                self.storage
                    .record_audit(&failed("account disabled"))
                    .await?;
            }
            return Err(err);
        }
        Ok(NewSession {
            token,
            username: login.username,
            expires_at,
        })
    }

    pub async fn issue_enrollment_code(&self, technician: TechnicianId) -> HqResult<IssuedCode> {
        if self.storage.technician(technician).await?.is_none() {
            return Err(HqError::invalid(
                "unknown_technician",
                format!("no technician {technician}"),
            ));
        }
        // Codes end by expiring; issuing one clears away the expired ones.
        self.storage.purge_expired(self.now()).await?;
        let (id, code) = (Uuid::now_v7(), enrollment_code()?);
        let expires_at = self.now() + Duration::hours(ENROLLMENT_CODE_TTL_HOURS);
        let audit = AuditRecord {
            technician_id: Some(technician),
            ..self.audit_detail(AuditAction::IssueCode, &format!("code {id}"))
        };
        self.storage
            .create_enrollment_code(
                id,
                &token_hash(&normalize_code(&code)),
                technician,
                expires_at,
                &audit,
            )
            .await?;
        Ok(IssuedCode {
            id,
            code,
            technician_id: technician,
            expires_at,
        })
    }

    pub async fn outstanding_codes(&self) -> HqResult<Vec<OutstandingCode>> {
        self.storage.outstanding_codes(self.now()).await
    }

    /// Revokes a code not yet used: it then enrolls nothing.
    pub async fn revoke_code(&self, id: Uuid) -> HqResult<()> {
        let audit = self.audit_detail(AuditAction::RevokeCode, &format!("code {id}"));
        self.storage.revoke_code(id, self.now(), &audit).await
    }

    /// Trades a one-time code for a device token; attempts are
    /// rate-limited per client address.
    pub async fn enroll(
        &self,
        request: EnrollRequest,
        client: Option<IpAddr>,
    ) -> HqResult<EnrollResponse> {
        if let Err(wait) = self.throttle.enroll_attempt(client) {
            tracing::warn!(client = %shown(client), "enrollment refused: too many attempts");
            return Err(wait.into());
        }
        check_text("device_name", &request.device_name, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        let code = normalize_code(&request.code);
        if code.is_empty() || code.len() > 64 {
            return Err(rules::Refusal::InvalidCode.into());
        }
        let device_id = DeviceId::new();
        let token = random_token()?;
        let technician = self
            .storage
            .enroll(
                &token_hash(&code),
                device_id,
                request.device_name.trim(),
                &token_hash(&token),
                self.now(),
            )
            .await?;
        Ok(EnrollResponse {
            device_id,
            token,
            technician,
        })
    }

    pub async fn revoke_device(&self, device: DeviceId) -> HqResult<DeviceInfo> {
        let audit = AuditRecord {
            device_id: Some(device),
            ..self.audit_entry(AuditAction::RevokeDevice)
        };
        self.storage.revoke_device(device, self.now(), &audit).await
    }

    pub async fn devices(&self) -> HqResult<Vec<DeviceInfo>> {
        self.storage.devices().await
    }

    pub async fn technicians(&self) -> HqResult<Vec<TechnicianRef>> {
        self.storage.technicians().await
    }

    /// Whether a dispatcher login by this name exists.
    pub async fn has_dispatcher(&self, username: &str) -> HqResult<bool> {
        Ok(self
            .storage
            .dispatcher_by_username(username)
            .await?
            .is_some())
    }
}
