//! Who: technicians, dispatchers and sessions, enrollment codes, devices.

use async_trait::async_trait;
use doorstep_core::wire::{DeviceId, DispatcherId, TechnicianId, TechnicianRef};
use doorstep_core::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::rows::{collect, id, parse_ts, read_device, ts, DEVICE_COLUMNS};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{DeviceAuth, DeviceInfo, DispatcherLogin, DispatcherSession};
use crate::rules::{self, StoredCode};
use crate::storage::AuthStore;

#[async_trait]
impl AuthStore for SqliteStorage {
    async fn create_technician(&self, name: &str, now: Timestamp) -> HqResult<TechnicianRef> {
        let tech = TechnicianRef {
            id: TechnicianId::new(),
            name: name.to_string(),
        };
        let row = tech.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO technicians (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![row.id.to_string(), row.name, ts(&now)],
            )?;
            Ok(())
        })
        .await?;
        Ok(tech)
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
    ) -> HqResult<DispatcherId> {
        let dispatcher = DispatcherId::new();
        let (username, password_hash) = (username.to_string(), password_hash.to_string());
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
            Ok(dispatcher)
        })
        .await
    }

    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>> {
        let username = username.to_string();
        self.read(move |conn| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT id, password_hash FROM dispatchers WHERE username = ?1",
                    [&username],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            row.map(|(dispatcher, password_hash)| {
                Ok(DispatcherLogin {
                    id: id(&dispatcher)?,
                    username: username.clone(),
                    password_hash,
                })
            })
            .transpose()
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, dispatcher_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, dispatcher.to_string(), ts(&expires_at)],
            )?;
            Ok(())
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
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        let code_hash = code_hash.to_string();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO enrollment_codes (code_hash, technician_id, expires_at)
                 VALUES (?1, ?2, ?3)",
                params![code_hash, technician.to_string(), ts(&expires_at)],
            )?;
            Ok(())
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
            let code: Option<(String, bool, String)> = tx
                .query_row(
                    "SELECT technician_id, used_at IS NOT NULL, expires_at FROM enrollment_codes
                     WHERE code_hash = ?1",
                    [&code_hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            let code = code
                .map(|(technician, used, expires_at)| {
                    Ok::<_, HqError>(StoredCode {
                        technician: id(&technician)?,
                        used,
                        expires_at: parse_ts(&expires_at)?,
                    })
                })
                .transpose()?;
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

    async fn revoke_device(&self, device: DeviceId, now: Timestamp) -> HqResult<DeviceInfo> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![device.to_string(), ts(&now)],
            )?;
            collect(
                tx,
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [device.to_string()],
                read_device,
            )?
            .pop()
            .ok_or_else(|| HqError::NotFound(format!("device {device}")))
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
