//! The store's settings: one typed getter and setter per setting, shared by
//! the shell and the sync client. The `settings` table's keys are spelled
//! here and nowhere else.

use chrono::Duration;
use doorstep_core::clock::ClockOffset;
use doorstep_core::wire::DeviceId;
use doorstep_core::zone::{self, Tz};
use doorstep_core::{legacy_price_list, JobId, Lang, PriceList};
use rusqlite::{Connection, OptionalExtension};

use crate::{Store, StoreError};

/// The UI's language (`Lang::tag`).
const LOCALE: &str = "locale";
/// The job the technician had open, reopened at the next start.
pub(crate) const LAST_JOB: &str = "last_job";
/// Set while the store holds the demo set rather than jobs from HQ.
pub(crate) const DEMO_SEEDED: &str = "demo_seeded";
/// HQ's opaque cursor for the next pull.
pub(crate) const PULL_CURSOR: &str = "pull_cursor";
/// The last measured offset of the laptop's clock from HQ's (JSON).
const CLOCK_OFFSET: &str = "clock_offset";
/// The request size the last sync left for this link, in bytes.
const REQUEST_BYTES: &str = "sync_request_bytes";
/// How long closed, acknowledged jobs stay, in days (see `retention.rs`).
const RETENTION_DAYS: &str = "retention_days";
/// The code of HQ's refusal of this device's token, until it enrolls again.
const SYNC_REFUSED: &str = "sync_refused";
/// The epoch of HQ's history this device last synced with.
const HQ_EPOCH: &str = "hq_epoch";
/// The operator's time zone (IANA name), as HQ last sent it.
const TIME_ZONE: &str = "time_zone";
/// The price list the last pull brought (JSON `PriceList`).
pub(crate) const PRICE_LIST: &str = "price_list";
// The device's enrollment at HQ.
const HQ_URL: &str = "hq_url";
const DEVICE_ID: &str = "device_id";
const DEVICE_TOKEN: &str = "device_token";
const TECHNICIAN: &str = "technician";
const HQ_PRIVATE_CA: &str = "hq_private_ca";

/// How long a closed, acknowledged job stays on the laptop when the setting
/// says nothing: two weeks, so the technician can still look back at last
/// week's jobs, and a lost laptop holds no older customers.
pub const DEFAULT_RETENTION_DAYS: u32 = 14;

/// The device's enrollment at HQ, as the settings keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEnrollment {
    pub hq_url: String,
    pub device_id: DeviceId,
    pub token: String,
    /// The technician's name, as HQ knows them.
    pub technician: String,
    /// The operator's CA (PEM) HQ's certificate is checked against, when it
    /// is not a public one.
    pub private_ca: Option<String>,
}

pub(crate) fn read(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

/// Sets (or, with `None`, removes) one setting; inside a transaction too.
pub(crate) fn write(conn: &Connection, key: &str, value: Option<&str>) -> Result<(), StoreError> {
    match value {
        Some(value) => conn
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute((key, value))?,
        None => conn
            .prepare_cached("DELETE FROM settings WHERE key = ?1")?
            .execute([key])?,
    };
    Ok(())
}

/// Writes a new enrollment and clears the refusal it answers, on `conn`
/// (the caller's transaction: see `Store::start_outbox_over`).
pub(crate) fn write_enrollment(
    conn: &Connection,
    enrollment: &DeviceEnrollment,
) -> Result<(), StoreError> {
    write(conn, HQ_URL, Some(&enrollment.hq_url))?;
    write(conn, DEVICE_ID, Some(&enrollment.device_id.to_string()))?;
    write(conn, DEVICE_TOKEN, Some(&enrollment.token))?;
    write(conn, TECHNICIAN, Some(&enrollment.technician))?;
    write(conn, HQ_PRIVATE_CA, enrollment.private_ca.as_deref())?;
    write(conn, SYNC_REFUSED, None)?;
    // A new enrollment (perhaps at another HQ) starts from HQ's history as
    // it finds it, and from its price list.
    write(conn, PRICE_LIST, None)?;
    write(conn, HQ_EPOCH, None)
}

/// Keeps the operator's time zone HQ sent with a pull, on `conn` (the
/// pull's transaction). A name this build does not know (a zone newer than
/// its time zone data) leaves the one kept before.
pub(crate) fn write_time_zone(conn: &Connection, name: &str) -> Result<(), StoreError> {
    match zone::parse_time_zone(name) {
        Ok(tz) => write(conn, TIME_ZONE, Some(tz.name())),
        Err(_) => Ok(()),
    }
}

/// The price list fees are charged from: the one the last pull brought, or
/// the first list until a pull brings one (the demo set, a laptop not yet
/// synced).
pub(crate) fn read_price_list(conn: &Connection) -> Result<PriceList, StoreError> {
    match read(conn, PRICE_LIST)? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("price list setting: {e}"))),
        None => Ok(legacy_price_list()),
    }
}

/// Keeps the list a pull brought, in the pull's transaction.
pub(crate) fn write_price_list(conn: &Connection, list: &PriceList) -> Result<(), StoreError> {
    let json = serde_json::to_string(list).expect("a price list always serializes");
    write(conn, PRICE_LIST, Some(&json))
}

/// Forgets the last job if the store no longer holds it.
pub(crate) fn drop_last_job_if_gone(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM settings WHERE key = ?1 AND value NOT IN (SELECT id FROM jobs)",
        [LAST_JOB],
    )?;
    Ok(())
}

impl Store {
    fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        read(&self.conn, key)
    }

    fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        write(&self.conn, key, value)
    }

    /// The UI's language, if one was chosen.
    pub fn locale(&self) -> Result<Option<Lang>, StoreError> {
        Ok(self.setting(LOCALE)?.and_then(|tag| Lang::from_tag(&tag)))
    }

    pub fn set_locale(&self, lang: Lang) -> Result<(), StoreError> {
        self.set_setting(LOCALE, Some(lang.tag()))
    }

    /// The job the technician had open (one that is no id is none).
    pub fn last_job(&self) -> Result<Option<JobId>, StoreError> {
        Ok(self.setting(LAST_JOB)?.and_then(|id| id.parse().ok()))
    }

    pub fn set_last_job(&self, job: Option<JobId>) -> Result<(), StoreError> {
        self.set_setting(LAST_JOB, job.map(|id| id.to_string()).as_deref())
    }

    /// Whether the store holds the demo set rather than jobs from HQ.
    pub fn demo_seeded(&self) -> Result<bool, StoreError> {
        Ok(self.setting(DEMO_SEEDED)?.is_some())
    }

    pub(crate) fn mark_demo_seeded(&self) -> Result<(), StoreError> {
        self.set_setting(DEMO_SEEDED, Some("1"))
    }

    /// HQ's cursor for the next pull (written with the pull it came with,
    /// `Store::apply_dispatch`).
    pub fn pull_cursor(&self) -> Result<Option<String>, StoreError> {
        self.setting(PULL_CURSOR)
    }

    /// The offset of the laptop's clock from HQ's that the last sync measured.
    pub fn clock_offset(&self) -> Result<Option<ClockOffset>, StoreError> {
        self.setting(CLOCK_OFFSET)?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("clock offset: {e}")))
            })
            .transpose()
    }

    pub fn set_clock_offset(&self, offset: &ClockOffset) -> Result<(), StoreError> {
        let text = serde_json::to_string(offset).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.set_setting(CLOCK_OFFSET, Some(&text))
    }

    /// The request size the last sync left for this link (one that is no
    /// number is none).
    pub fn request_bytes(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .setting(REQUEST_BYTES)?
            .and_then(|text| text.parse().ok()))
    }

    pub fn set_request_bytes(&self, bytes: u64) -> Result<(), StoreError> {
        self.set_setting(REQUEST_BYTES, Some(&bytes.to_string()))
    }

    /// How long closed, acknowledged jobs stay on the laptop.
    pub fn retention_period(&self) -> Result<Duration, StoreError> {
        let days = self
            .setting(RETENTION_DAYS)?
            .and_then(|text| text.parse().ok())
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        Ok(Duration::days(days.into()))
    }

    pub fn set_retention_days(&self, days: u32) -> Result<(), StoreError> {
        self.set_setting(RETENTION_DAYS, Some(&days.to_string()))
    }

    /// The code of HQ's refusal of this device's token, until it enrolls
    /// again.
    pub fn sync_refused(&self) -> Result<Option<String>, StoreError> {
        self.setting(SYNC_REFUSED)
    }

    /// HQ refused the device's token (`code`): the token is dropped, so no
    /// sync runs until the device enrolls again, and the refusal kept.
    pub fn record_refusal(&mut self, code: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        write(&tx, SYNC_REFUSED, Some(code))?;
        write(&tx, DEVICE_TOKEN, None)?;
        tx.commit()?;
        Ok(())
    }

    /// The price list the fee picker offers and new fee lines are checked
    /// against (`PriceList::check_fee_lines`).
    pub fn price_list(&self) -> Result<PriceList, StoreError> {
        read_price_list(&self.conn)
    }

    /// The epoch of HQ's history this device last synced with
    /// (`doorstep_sync` rewinds when HQ answers with another).
    /// The operator's time zone: the Today list's day and every time the
    /// app shows are in it. HQ's, once a pull has named it; until then the
    /// default operators use (`zone::DEFAULT_TIME_ZONE`).
    pub fn time_zone(&self) -> Result<Tz, StoreError> {
        Ok(self
            .setting(TIME_ZONE)?
            .and_then(|name| zone::parse_time_zone(&name).ok())
            .unwrap_or(zone::DEFAULT_TIME_ZONE))
    }

    pub fn set_time_zone(&self, time_zone: Tz) -> Result<(), StoreError> {
        self.set_setting(TIME_ZONE, Some(time_zone.name()))
    }

    pub fn hq_epoch(&self) -> Result<Option<String>, StoreError> {
        self.setting(HQ_EPOCH)
    }

    pub fn set_hq_epoch(&self, epoch: Option<&str>) -> Result<(), StoreError> {
        self.set_setting(HQ_EPOCH, epoch)
    }

    /// Where the device is (or was last) enrolled.
    pub fn hq_url(&self) -> Result<Option<String>, StoreError> {
        self.setting(HQ_URL)
    }

    /// Points the enrollment at another address of the same HQ (tests put
    /// a proxy in front of it).
    pub fn set_hq_url(&self, url: &str) -> Result<(), StoreError> {
        self.set_setting(HQ_URL, Some(url))
    }

    /// The technician's name HQ gave at enrollment.
    pub fn technician(&self) -> Result<Option<String>, StoreError> {
        self.setting(TECHNICIAN)
    }

    /// The device's enrollment, while it holds a token.
    pub fn enrollment(&self) -> Result<Option<DeviceEnrollment>, StoreError> {
        let (Some(hq_url), Some(device_id), Some(token)) = (
            self.setting(HQ_URL)?,
            self.setting(DEVICE_ID)?,
            self.setting(DEVICE_TOKEN)?,
        ) else {
            return Ok(None);
        };
        let device_id = device_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("device id {device_id}")))?;
        Ok(Some(DeviceEnrollment {
            hq_url,
            device_id,
            token,
            technician: self.setting(TECHNICIAN)?.unwrap_or_default(),
            private_ca: self.setting(HQ_PRIVATE_CA)?,
        }))
    }
}
