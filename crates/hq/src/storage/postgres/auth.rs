//! Who: technicians, dispatchers and sessions, enrollment codes, devices.

use async_trait::async_trait;
use doorstep_core::wire::{DeviceId, DispatcherId, TechnicianId, TechnicianRef};
use doorstep_core::Timestamp;
use tokio_postgres::Row;
use uuid::Uuid;

use super::audit::write_audit;
use super::rows::{read_device, statement, DEVICE_COLUMNS};
use super::PostgresStorage;
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
        id: DispatcherId(row.try_get(0)?),
        username: row.try_get(1)?,
        created_at: row.try_get(2)?,
        disabled_at: row.try_get(3)?,
    })
}

fn read_code(row: &Row) -> HqResult<StoredCode> {
    Ok(StoredCode {
        technician: TechnicianId(row.try_get(0)?),
        used: row.try_get(1)?,
        expires_at: row.try_get(2)?,
    })
}

#[async_trait]
impl AuthStore for PostgresStorage {
    async fn create_technician(
        &self,
        technician: &TechnicianRef,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO technicians (id, name, created_at) VALUES ($1, $2, $3)",
            &[&technician.id.0, &technician.name, &now],
        )
        .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn technicians(&self) -> HqResult<Vec<TechnicianRef>> {
        self.pool
            .get()
            .await?
            .query("SELECT id, name FROM technicians ORDER BY name, id", &[])
            .await?
            .iter()
            .map(|row| {
                Ok(TechnicianRef {
                    id: TechnicianId(row.try_get(0)?),
                    name: row.try_get(1)?,
                })
            })
            .collect()
    }

    async fn technician(&self, tech: TechnicianId) -> HqResult<Option<TechnicianRef>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt("SELECT name FROM technicians WHERE id = $1", &[&tech.0])
            .await?;
        row.map(|row| {
            Ok(TechnicianRef {
                id: tech,
                name: row.try_get(0)?,
            })
        })
        .transpose()
    }

    async fn create_dispatcher(
        &self,
        username: &str,
        password_hash: &str,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<DispatcherId> {
        let dispatcher = DispatcherId::new();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let inserted = tx
            .execute(
                "INSERT INTO dispatchers (id, username, password_hash, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
                &[&dispatcher.0, &username, &password_hash, &now],
            )
            .await?;
        rules::new_username(username, inserted == 0)?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(dispatcher)
    }

    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT id, password_hash, disabled_at IS NOT NULL FROM dispatchers
                 WHERE username = $1",
                &[&username],
            )
            .await?;
        row.map(|row| {
            Ok(DispatcherLogin {
                id: DispatcherId(row.try_get(0)?),
                username: username.to_string(),
                password_hash: row.try_get(1)?,
                disabled: row.try_get(2)?,
            })
        })
        .transpose()
    }

    async fn dispatchers(&self) -> HqResult<Vec<DispatcherAccount>> {
        self.pool
            .get()
            .await?
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM dispatchers ORDER BY username"),
                &[],
            )
            .await?
            .iter()
            .map(read_account)
            .collect()
    }

    async fn set_dispatcher_disabled(
        &self,
        username: &str,
        disabled_at: Option<Timestamp>,
        audit: &AuditRecord,
    ) -> HqResult<DispatcherAccount> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The row lock orders this against a log-in creating a session.
        let account = tx
            .query_opt(
                &format!(
                    "UPDATE dispatchers SET disabled_at = $2 WHERE username = $1
                     RETURNING {ACCOUNT_COLUMNS}"
                ),
                &[&username, &disabled_at],
            )
            .await?
            .as_ref()
            .map(read_account)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("dispatcher {username}")))?;
        if disabled_at.is_some() {
            tx.execute(
                "DELETE FROM sessions WHERE dispatcher_id = $1",
                &[&account.id.0],
            )
            .await?;
        }
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let dispatcher: Uuid = tx
            .query_opt(
                "UPDATE dispatchers SET password_hash = $2 WHERE username = $1 RETURNING id",
                &[&username, &password_hash],
            )
            .await?
            .ok_or_else(|| HqError::NotFound(format!("dispatcher {username}")))?
            .try_get(0)?;
        tx.execute(
            "DELETE FROM sessions WHERE dispatcher_id = $1
                 AND ($2::text IS NULL OR token_hash <> $2)",
            &[&dispatcher, &keep_session],
        )
        .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // FOR SHARE waits for a disable in progress, which then ends with
        // the account disabled and this refused.
        let disabled: bool = tx
            .query_one(
                "SELECT disabled_at IS NOT NULL FROM dispatchers WHERE id = $1 FOR SHARE",
                &[&dispatcher.0],
            )
            .await?
            .try_get(0)?;
        rules::may_log_in(disabled)?;
        tx.execute(
            "INSERT INTO sessions (token_hash, dispatcher_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &dispatcher.0, &expires_at],
        )
        .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn purge_expired(&self, now: Timestamp) -> HqResult<Purged> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let sessions = tx
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
            .await?;
        let codes = tx
            .execute(
                "DELETE FROM enrollment_codes WHERE expires_at <= $1",
                &[&now],
            )
            .await?;
        tx.commit().await?;
        Ok(Purged { sessions, codes })
    }

    async fn delete_session(&self, token_hash: &str) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<Option<DispatcherSession>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT d.id, d.username FROM sessions s
                 JOIN dispatchers d ON d.id = s.dispatcher_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2",
                &[&token_hash, &now],
            )
            .await?;
        row.map(|row| {
            Ok(DispatcherSession {
                dispatcher_id: DispatcherId(row.try_get(0)?),
                username: row.try_get(1)?,
            })
        })
        .transpose()
    }

    async fn create_enrollment_code(
        &self,
        code: Uuid,
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO enrollment_codes (id, code_hash, technician_id, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&code, &code_hash, &technician.0, &expires_at],
        )
        .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outstanding_codes(&self, now: Timestamp) -> HqResult<Vec<OutstandingCode>> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT technician_id, used_at IS NOT NULL, expires_at, id FROM enrollment_codes
                 WHERE used_at IS NULL ORDER BY expires_at, id",
                &[],
            )
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let code = read_code(row)?;
            if rules::code_outstanding(&code, now) {
                out.push(OutstandingCode {
                    id: row.try_get(3)?,
                    technician_id: code.technician,
                    expires_at: code.expires_at,
                });
            }
        }
        Ok(out)
    }

    async fn revoke_code(&self, code: Uuid, now: Timestamp, audit: &AuditRecord) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The row lock orders this against an enrollment using the code.
        let stored = tx
            .query_opt(
                "SELECT technician_id, used_at IS NOT NULL, expires_at FROM enrollment_codes
                 WHERE id = $1 FOR UPDATE",
                &[&code],
            )
            .await?
            .as_ref()
            .map(read_code)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("enrollment code {code}")))?;
        rules::may_revoke_code(&stored, now)?;
        tx.execute("DELETE FROM enrollment_codes WHERE id = $1", &[&code])
            .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enroll(
        &self,
        code_hash: &str,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<TechnicianRef> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let code = tx
            .query_opt(
                "SELECT technician_id, used_at IS NOT NULL, expires_at FROM enrollment_codes
                 WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await?
            .as_ref()
            .map(read_code)
            .transpose()?;
        let technician = rules::use_code(code.as_ref(), now)?;
        tx.execute(
            "UPDATE enrollment_codes SET used_at = $2, device_id = $3 WHERE code_hash = $1",
            &[&code_hash, &now, &device.0],
        )
        .await?;
        let technician = TechnicianRef {
            id: technician,
            name: tx
                .query_one(
                    "SELECT name FROM technicians WHERE id = $1",
                    &[&technician.0],
                )
                .await?
                .try_get(0)?,
        };
        tx.execute(
            "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&device.0, &technician.id.0, &device_name, &token_hash, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(technician)
    }

    async fn device_by_token(&self, token_hash: &str) -> HqResult<Option<DeviceAuth>> {
        // Every device request asks this first.
        let client = self.pool.get().await?;
        let by_token = statement(
            &client,
            "SELECT id, technician_id, revoked_at IS NOT NULL FROM devices WHERE token_hash = $1",
        )
        .await?;
        let row = client.query_opt(&by_token, &[&token_hash]).await?;
        row.map(|row| {
            Ok(DeviceAuth {
                id: DeviceId(row.try_get(0)?),
                technician_id: TechnicianId(row.try_get(1)?),
                revoked: row.try_get(2)?,
            })
        })
        .transpose()
    }

    async fn revoke_device(
        &self,
        device: DeviceId,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<DeviceInfo> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let info = tx
            .query_opt(
                &format!(
                    "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1
                     RETURNING {DEVICE_COLUMNS}"
                ),
                &[&device.0, &now],
            )
            .await?
            .as_ref()
            .map(read_device)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("device {device}")))?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(info)
    }

    async fn devices(&self) -> HqResult<Vec<DeviceInfo>> {
        self.pool
            .get()
            .await?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id"),
                &[],
            )
            .await?
            .iter()
            .map(read_device)
            .collect()
    }
}
