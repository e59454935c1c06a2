//! Who: technicians, dispatchers and sessions, enrollment codes, devices.

use async_trait::async_trait;
use doorstep_core::wire::{DeviceId, DispatcherId, TechnicianId, TechnicianRef};
use doorstep_core::Timestamp;

use super::rows::{read_device, DEVICE_COLUMNS};
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{DeviceAuth, DeviceInfo, DispatcherLogin, DispatcherSession};
use crate::rules::{self, StoredCode};
use crate::storage::AuthStore;

#[async_trait]
impl AuthStore for PostgresStorage {
    async fn create_technician(&self, name: &str, now: Timestamp) -> HqResult<TechnicianRef> {
        let tech = TechnicianRef {
            id: TechnicianId::new(),
            name: name.to_string(),
        };
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO technicians (id, name, created_at) VALUES ($1, $2, $3)",
                &[&tech.id.0, &tech.name, &now],
            )
            .await?;
        Ok(tech)
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
    ) -> HqResult<DispatcherId> {
        let dispatcher = DispatcherId::new();
        let inserted = self
            .pool
            .get()
            .await?
            .execute(
                "INSERT INTO dispatchers (id, username, password_hash, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
                &[&dispatcher.0, &username, &password_hash, &now],
            )
            .await?;
        rules::new_username(username, inserted == 0)?;
        Ok(dispatcher)
    }

    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT id, password_hash FROM dispatchers WHERE username = $1",
                &[&username],
            )
            .await?;
        row.map(|row| {
            Ok(DispatcherLogin {
                id: DispatcherId(row.try_get(0)?),
                username: username.to_string(),
                password_hash: row.try_get(1)?,
            })
        })
        .transpose()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO sessions (token_hash, dispatcher_id, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &dispatcher.0, &expires_at],
            )
            .await?;
        Ok(())
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
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO enrollment_codes (code_hash, technician_id, expires_at)
                 VALUES ($1, $2, $3)",
                &[&code_hash, &technician.0, &expires_at],
            )
            .await?;
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
            .map(|row| {
                Ok::<_, HqError>(StoredCode {
                    technician: TechnicianId(row.try_get(0)?),
                    used: row.try_get(1)?,
                    expires_at: row.try_get(2)?,
                })
            })
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
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT id, technician_id, revoked_at IS NOT NULL FROM devices
                 WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        row.map(|row| {
            Ok(DeviceAuth {
                id: DeviceId(row.try_get(0)?),
                technician_id: TechnicianId(row.try_get(1)?),
                revoked: row.try_get(2)?,
            })
        })
        .transpose()
    }

    async fn revoke_device(&self, device: DeviceId, now: Timestamp) -> HqResult<DeviceInfo> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                &format!(
                    "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1
                     RETURNING {DEVICE_COLUMNS}"
                ),
                &[&device.0, &now],
            )
            .await?;
        row.as_ref()
            .map(read_device)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("device {device}")))
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
