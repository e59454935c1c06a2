//! What several store test files need: a scheduled job, and a whole visit
//! worked to completion.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::*;
use doorstep_store::Store;

/// A scheduled first visit for `customer`, an hour from `start`.
pub fn scheduled_job(customer: Customer, sub_case: SubCase, start: DateTime<Utc>) -> Job {
    Job {
        id: JobId::new(),
        customer,
        job_type: JobType::Fault,
        sub_case,
        fault_description: "无信号".into(),
        window_start: start,
        window_end: start + Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: FIRST_VISIT,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    }
}

pub fn image(seed: u8) -> CleanImage {
    CleanImage {
        bytes: vec![0x89, b'P', b'N', b'G', seed],
        width: 10,
        height: 10,
    }
}

/// The whole visit, from arrival to completion, with a photo and a signature.
pub fn complete(store: &mut Store, id: JobId, now: DateTime<Utc>, seed: u8) {
    let changes = [
        Change::SaveArrival(Arrival {
            arrived_at: Some(store.visit(id).unwrap().job.window_start),
            badge_shown: true,
            fault_point_verified: true,
            ..Arrival::default()
        }),
        Change::SaveKit(KitCheck {
            mat_cloth: true,
            cover_cloth: true,
            wiping_cloth: true,
            shoe_covers: true,
            missing_reason: String::new(),
        }),
        Change::SaveWork(Work {
            indoor: true,
            description: "重做 F 头".into(),
            ..Work::default()
        }),
        Change::SaveFeedback(Feedback {
            mot: Some(2),
            opinion: "满意".into(),
        }),
        Change::SaveCleanup(Cleanup {
            site_checked: true,
            tools_packed: true,
            restored: true,
            rubbish_taken: true,
            splitter_checked: true,
        }),
    ];
    for change in &changes {
        store.apply(id, change, now).unwrap();
    }
    store
        .add_photo(id, PhotoKind::Before, &image(seed), now)
        .unwrap();
    store
        .sign(id, &image(seed + 100), &format!("[{seed}]"), now)
        .unwrap();
    store.apply(id, &Change::Complete, now).unwrap();
}
