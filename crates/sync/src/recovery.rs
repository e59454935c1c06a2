//! Sync that recovers from what HQ does: a restore from an older backup (HQ
//! has another epoch, or is behind the laptop), and a refused device token
//! (revoked, or unknown to HQ). See ARCHITECTURE.md, "Recovery".

use std::sync::Mutex;

use chrono::Utc;
use doorstep_core::wire::{DeviceId, PushRequest};
use doorstep_store::{Store, StoreError};
use serde::Serialize;

use crate::run::locked;
use crate::{HqClient, SyncError};

/// HQ's epoch names its history and is new each time HQ is restored from a
/// backup. Another one than the device last saw means HQ forgot what came
/// after the backup, even once its change counter has passed the device's
/// cursor again (other devices synced since), which `cursor_went_back`
/// cannot see. The first epoch a device hears of, or an HQ too old to send
/// one, says nothing.
pub(crate) fn epoch_changed(seen: Option<&str>, answered: Option<&str>) -> bool {
    matches!((seen, answered), (Some(seen), Some(answered)) if seen != answered)
}

/// HQ's cursor is its change counter, which only grows: one below the
/// cursor the app stored means HQ forgot changes it had sent, so it was
/// restored from an older backup.
pub(crate) fn cursor_went_back(stored: Option<&str>, answered: &str) -> bool {
    match (stored.map(str::parse::<i64>), answered.parse::<i64>()) {
        (Some(Ok(stored)), Ok(answered)) => answered < stored,
        _ => false,
    }
}

/// HQ came back from an older backup: asks it how far it holds this
/// device's changes (an empty push answers exactly that) and moves the
/// acknowledged point there, so what it lost goes again.
pub(crate) async fn rewind_to_hq(
    store: &Mutex<Store>,
    client: &HqClient,
    device_id: DeviceId,
) -> Result<(), SyncError> {
    let empty = PushRequest {
        device_id,
        entries: Vec::new(),
        sent_at: None,
    };
    let held = client.push(&empty).await?.applied_through_seq;
    locked(store).rewind_to_hq(held, &Utc::now())?;
    Ok(())
}

/// HQ refused the device's token: the token is dropped (the background sync
/// stops and the sync view offers enrollment) and the refusal kept. A
/// revoked device also removes every customer record HQ holds; what has not
/// been sent stays, to go up once the device enrolls again.
pub(crate) fn after_refusal(store: &Mutex<Store>, error: &SyncError) -> Result<(), StoreError> {
    let SyncError::Refused { error, .. } = error else {
        return Ok(());
    };
    let code = error.code.as_str();
    if !matches!(code, "device_revoked" | "unauthorized") {
        return Ok(());
    }
    let mut store = locked(store);
    if code == "device_revoked" {
        store.forget_what_hq_holds()?;
    }
    store.record_refusal(code)
}

/// HQ refused this device's token, and the device has not enrolled since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// `device_revoked`, or `unauthorized` (a token HQ does not know).
    pub code: String,
    /// Where the device was enrolled: the first guess for enrolling again.
    pub hq_url: Option<String>,
}

pub fn refusal(store: &Store) -> Result<Option<Refusal>, StoreError> {
    let Some(code) = store.sync_refused()? else {
        return Ok(None);
    };
    Ok(Some(Refusal {
        code,
        hq_url: store.hq_url()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_epoch_means_hq_was_restored() {
        assert!(epoch_changed(Some("a1"), Some("b2")));
        assert!(!epoch_changed(Some("a1"), Some("a1")), "the same history");
        assert!(
            !epoch_changed(None, Some("a1")),
            "the first epoch heard of (a first sync, or HQ just upgraded)"
        );
        assert!(
            !epoch_changed(Some("a1"), None),
            "an HQ too old to send one says nothing"
        );
    }

    #[test]
    fn a_cursor_below_the_stored_one_means_hq_went_back() {
        assert!(cursor_went_back(Some("120"), "80"));
        assert!(!cursor_went_back(Some("120"), "120"), "nothing new");
        assert!(!cursor_went_back(Some("120"), "121"));
        assert!(!cursor_went_back(None, "5"), "a first pull");
        assert!(
            !cursor_went_back(Some("x"), "5"),
            "a cursor that is no number says nothing"
        );
    }
}
