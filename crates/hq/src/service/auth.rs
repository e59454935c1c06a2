//! Who may do what: dispatchers and their sessions, technicians, enrollment
//! codes and the devices they enroll.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::IpAddr;

use argon2::Argon2;
use chrono::Duration;
use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{
    DeviceId, EnrollRequest, EnrollResponse, EnrollmentCode, TechnicianId, TechnicianRef,
};
use doorstep_core::{Timestamp, SHORT_TEXT_MAX};

use super::{check_text, Hq};
use crate::dto::LoginRequest;
use crate::error::{HqError, HqResult};
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

impl Hq {
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
        if password.chars().count() < 8 {
            return Err(HqError::invalid(
                "weak_password",
                "a password has at least 8 characters",
            ));
        }
        let password = password.to_string();
        let phc = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(HqError::storage)??;
        self.storage
            .create_dispatcher(username.trim(), &phc, self.now())
            .await?;
        Ok(())
    }

    pub async fn create_technician(&self, name: &str) -> HqResult<TechnicianRef> {
        check_text("name", name, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        self.storage
            .create_technician(name.trim(), self.now())
            .await
    }

    /// Checks a dispatcher's password and opens a session. Attempts are
    /// rate-limited per client address and per username; the check runs
    /// under the password-check cap; an unknown username costs the same
    /// time as a wrong password. Refusals are logged, never the password.
    pub async fn login(
        &self,
        request: LoginRequest,
        client: Option<IpAddr>,
    ) -> HqResult<NewSession> {
        let username = request.username.trim();
        if let Err(wait) = self.throttle.login_attempt(client, username) {
            tracing::warn!(username, client = %shown(client), "log-in refused: too many attempts");
            return Err(wait.into());
        }
        let refused = || HqError::unauthorized("bad_credentials", "wrong username or password");
        if request.password.len() > 1024 {
            return Err(refused());
        }
        let login = self.storage.dispatcher_by_username(username).await?;
        // An unknown username is checked against a stand-in hash, so the
        // answer takes as long as for a wrong password and its time does not
        // tell which usernames exist.
        let phc = login.as_ref().map_or_else(
            || UNKNOWN_USER_HASH.to_string(),
            |l| l.password_hash.clone(),
        );
        let password = request.password;
        let matches = self
            .throttle
            .password_check(move || verify_password(&password, &phc))
            .await?;
        let Some(login) = login.filter(|_| matches) else {
            tracing::warn!(
                username,
                client = %shown(client),
                "log-in refused: wrong username or password"
            );
            return Err(refused());
        };
        let token = random_token()?;
        let expires_at = self.now() + Duration::hours(SESSION_TTL_HOURS);
        self.storage
            .create_session(&token_hash(&token), login.id, expires_at)
            .await?;
        Ok(NewSession {
            token,
            username: login.username,
            expires_at,
        })
    }

    pub async fn issue_enrollment_code(
        &self,
        technician: TechnicianId,
    ) -> HqResult<EnrollmentCode> {
        if self.storage.technician(technician).await?.is_none() {
            return Err(HqError::invalid(
                "unknown_technician",
                format!("no technician {technician}"),
            ));
        }
        let code = enrollment_code()?;
        let expires_at = self.now() + Duration::hours(ENROLLMENT_CODE_TTL_HOURS);
        self.storage
            .create_enrollment_code(&token_hash(&normalize_code(&code)), technician, expires_at)
            .await?;
        Ok(EnrollmentCode {
            code,
            technician_id: technician,
            expires_at,
        })
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
        self.storage.revoke_device(device, self.now()).await
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
