//! Who: technicians, dispatchers and sessions, enrollment codes, devices.

use async_trait::async_trait;
use doorstep_core::wire::{DeviceId, DispatcherId, TechnicianId, TechnicianRef};
use doorstep_core::Timestamp;
use rusqlite::{params, OptionalExtension, Row};
use uuid::Uuid;

use super::audit::write_audit;
use super::rows::{collect, id, opt_ts, parse_ts, read_device, ts, DEVICE_COLUMNS};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{
    AuditRecord, DeviceAuth, DeviceInfo, DispatcherAccount, DispatcherLogin, DispatcherSession,
    OutstandingCode, Purged,
};
use crate::rules::{self, StoredCode};
use crate::storage::AuthStore;

const ACCOUNT_COLUMNS: &str = "id, username, created_at, disabled_at";

fn read_account(row: &Row) -> HqResult<DispatcherAccount> {
    Ok(DispatcherAccount {
        id: id(&row.get::<_, String>(0)?)?,
        username: row.get(1)?,
        created_at: parse_ts(&row.get::<_, String>(2)?)?,
        disabled_at: opt_ts(row.get(3)?)?,
    })
}

fn read_code(row: &Row) -> HqResult<StoredCode> {
    Ok(StoredCode {
        technician: id(&row.get::<_, String>(0)?)?,
        used: row.get(1)?,
        expires_at: parse_ts(&row.get::<_, String>(2)?)?,
    })
}

#[async_trait]
impl AuthStore for SqliteStorage {
    async fn create_technician(
        &self,
        technician: &TechnicianRef,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let (row, audit) = (technician.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO technicians (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![row.id.to_string(), row.name, ts(&now)],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn technicians(&self) -> HqResult<Vec<TechnicianRef>> {
        self.read(|conn| {
            collect(
                conn,
                "SELECT id, name FROM technicians ORDER BY name, id",
                [],
                |row| {
                    Ok(TechnicianRef {
                        id: id(&row.get::<_, String>(0)?)?,
                        name: row.get(1)?,
                    })
                },
            )
        })
        .await
    }

    async fn technician(&self, tech: TechnicianId) -> HqResult<Option<TechnicianRef>> {
        self.read(move |conn| {
            let name: Option<String> = conn
                .query_row(
                    "SELECT name FROM technicians WHERE id = ?1",
                    [tech.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(name.map(|name| TechnicianRef { id: tech, name }))
        })
        .await
    }

    async fn create_dispatcher(
        &self,
        username: &str,
        password_hash: &str,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<DispatcherId> {
        let dispatcher = DispatcherId::new();
        let (username, password_hash) = (username.to_string(), password_hash.to_string());
        let audit = audit.clone();
        self.write(move |tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM dispatchers WHERE username = ?1)",
                [&username],
                |row| row.get(0),
            )?;
            rules::new_username(&username, taken)?;
            tx.execute(
                "INSERT INTO dispatchers (id, username, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![dispatcher.to_string(), username, password_hash, ts(&now)],
            )?;
            write_audit(tx, &audit)?;
            Ok(dispatcher)
        })
        .await
    }

    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>> {
        let username = username.to_string();
        self.read(move |conn| {
            let row: Option<(String, String, bool)> = conn
                .query_row(
                    "SELECT id, password_hash, disabled_at IS NOT NULL FROM dispatchers
                     WHERE username = ?1",
                    [&username],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            row.map(|(dispatcher, password_hash, disabled)| {
                Ok(DispatcherLogin {
                    id: id(&dispatcher)?,
                    username: username.clone(),
                    password_hash,
                    disabled,
                })
            })
            .transpose()
        })
        .await
    }

    async fn dispatchers(&self) -> HqResult<Vec<DispatcherAccount>> {
        self.read(|conn| {
            collect(
                conn,
                &format!("SELECT {ACCOUNT_COLUMNS} FROM dispatchers ORDER BY username"),
                [],
                read_account,
            )
        })
        .await
    }

    async fn set_dispatcher_disabled(
        &self,
        username: &str,
        disabled_at: Option<Timestamp>,
        audit: &AuditRecord,
    ) -> HqResult<DispatcherAccount> {
        let (username, audit) = (username.to_string(), audit.clone());
        self.write(move |tx| {
            let select = format!("SELECT {ACCOUNT_COLUMNS} FROM dispatchers WHERE username = ?1");
            let account = collect(tx, &select, [&username], read_account)?
                .pop()
                .ok_or_else(|| HqError::NotFound(format!("dispatcher {username}")))?;
            tx.execute(
                "UPDATE dispatchers SET disabled_at = ?2 WHERE id = ?1",
                params![account.id.to_string(), disabled_at.as_ref().map(ts)],
            )?;
            if disabled_at.is_some() {
                tx.execute(
                    "DELETE FROM sessions WHERE dispatcher_id = ?1",
                    [account.id.to_string()],
                )?;
            }
            write_audit(tx, &audit)?;
            Ok(DispatcherAccount {
                disabled_at,
                ..account
            })
        })
        .await
    }

    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let (username, password_hash) = (username.to_string(), password_hash.to_string());
        let (keep_session, audit) = (keep_session.map(str::to_string), audit.clone());
        self.write(move |tx| {
            let dispatcher: String = tx
                .query_row(
                    "SELECT id FROM dispatchers WHERE username = ?1",
                    [&username],
                    |row| row.get(0),
                )
                .optional()?
                .ok_or_else(|| HqError::NotFound(format!("dispatcher {username}")))?;
            tx.execute(
                "UPDATE dispatchers SET password_hash = ?2 WHERE id = ?1",
                params![dispatcher, password_hash],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE dispatcher_id = ?1
                     AND (?2 IS NULL OR token_hash <> ?2)",
                params![dispatcher, keep_session],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let (token_hash, audit) = (token_hash.to_string(), audit.clone());
        self.write(move |tx| {
            let disabled: bool = tx.query_row(
                "SELECT disabled_at IS NOT NULL FROM dispatchers WHERE id = ?1",
                [dispatcher.to_string()],
                |row| row.get(0),
            )?;
            rules::may_log_in(disabled)?;
            tx.execute(
                "INSERT INTO sessions (token_hash, dispatcher_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, dispatcher.to_string(), ts(&expires_at)],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn purge_expired(&self, now: Timestamp) -> HqResult<Purged> {
        self.write(move |tx| {
            let now = ts(&now);
            let sessions = tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [&now])?;
            let codes = tx.execute(
                "DELETE FROM enrollment_codes WHERE expires_at <= ?1",
                [&now],
            )?;
            Ok(Purged {
                sessions: sessions as u64,
                codes: codes as u64,
            })
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> HqResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<Option<DispatcherSession>> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT d.id, d.username FROM sessions s
                     JOIN dispatchers d ON d.id = s.dispatcher_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                    params![token_hash, ts(&now)],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            row.map(|(dispatcher, username)| {
                Ok(DispatcherSession {
                    dispatcher_id: id(&dispatcher)?,
                    username,
                })
            })
            .transpose()
        })
        .await
    }

    async fn create_enrollment_code(
        &self,
        code: Uuid,
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let (code_hash, audit) = (code_hash.to_string(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO enrollment_codes (id, code_hash, technician_id, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    code.to_string(),
                    code_hash,
                    technician.to_string(),
                    ts(&expires_at)
                ],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn outstanding_codes(&self, now: Timestamp) -> HqResult<Vec<OutstandingCode>> {
        self.read(move |conn| {
            let codes = collect(
                conn,
                "SELECT technician_id, used_at IS NOT NULL, expires_at, id FROM enrollment_codes
                 WHERE used_at IS NULL ORDER BY expires_at, id",
                [],
                |row| Ok((read_code(row)?, id::<Uuid>(&row.get::<_, String>(3)?)?)),
            )?;
            Ok(codes
                .into_iter()
                .filter(|(code, _)| rules::code_outstanding(code, now))
                .map(|(code, id)| OutstandingCode {
                    id,
                    technician_id: code.technician,
                    expires_at: code.expires_at,
                })
                .collect())
        })
        .await
    }

    async fn revoke_code(&self, code: Uuid, now: Timestamp, audit: &AuditRecord) -> HqResult<()> {
        let audit = audit.clone();
        self.write(move |tx| {
            let stored = collect(
                tx,
                "SELECT technician_id, used_at IS NOT NULL, expires_at FROM enrollment_codes
                 WHERE id = ?1",
                [code.to_string()],
                read_code,
            )?
            .pop()
            .ok_or_else(|| HqError::NotFound(format!("enrollment code {code}")))?;
            rules::may_revoke_code(&stored, now)?;
            tx.execute(
                "DELETE FROM enrollment_codes WHERE id = ?1",
                [code.to_string()],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn enroll(
        &self,
        code_hash: &str,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<TechnicianRef> {
        let (code_hash, device_name, token_hash) = (
            code_hash.to_string(),
            device_name.to_string(),
            token_hash.to_string(),
        );
        self.write(move |tx| {
            let code = collect(
                tx,
                "SELECT technician_id, used_at IS NOT NULL, expires_at FROM enrollment_codes
                 WHERE code_hash = ?1",
                [&code_hash],
                read_code,
            )?
            .pop();
            let technician = rules::use_code(code.as_ref(), now)?.to_string();
            tx.execute(
                "UPDATE enrollment_codes SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
                params![code_hash, ts(&now), device.to_string()],
            )?;
            let name: String = tx.query_row(
                "SELECT name FROM technicians WHERE id = ?1",
                [&technician],
                |row| row.get(0),
            )?;
            tx.execute(
                "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    device.to_string(),
                    technician,
                    device_name,
                    token_hash,
                    ts(&now)
                ],
            )?;
            Ok(TechnicianRef {
                id: id(&technician)?,
                name,
            })
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> HqResult<Option<DeviceAuth>> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            let row: Option<(String, String, Option<String>)> = conn
                .query_row(
                    "SELECT id, technician_id, revoked_at FROM devices WHERE token_hash = ?1",
                    [&token_hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            row.map(|(device, technician, revoked)| {
                Ok(DeviceAuth {
                    id: id(&device)?,
                    technician_id: id(&technician)?,
                    revoked: revoked.is_some(),
                })
            })
            .transpose()
        })
        .await
    }

    async fn revoke_device(
        &self,
        device: DeviceId,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<DeviceInfo> {
        let audit = audit.clone();
        self.write(move |tx| {
            tx.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![device.to_string(), ts(&now)],
            )?;
            let info = collect(
                tx,
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [device.to_string()],
                read_device,
            )?
            .pop()
            .ok_or_else(|| HqError::NotFound(format!("device {device}")))?;
            write_audit(tx, &audit)?;
            Ok(info)
        })
        .await
    }

    async fn devices(&self) -> HqResult<Vec<DeviceInfo>> {
        self.read(|conn| {
            collect(
                conn,
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id"),
                [],
                read_device,
            )
        })
        .await
    }
}
