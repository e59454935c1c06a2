//! First set-up, from the command line: dispatchers, technicians, demo data.

use chrono::{Offset, TimeZone};
use doorstep_core::wire::TechnicianRef;
use doorstep_core::zone::date_in;
use doorstep_core::JobStatus;

use crate::dto::IssuedCode;
use crate::error::HqResult;
use crate::records::DispatchedJob;
use crate::service::Hq;

pub const DEMO_DISPATCHER: &str = "dispatcher";
pub const DEMO_PASSWORD: &str = "doorstep-demo";
pub const DEMO_TECHNICIANS: [&str; 2] = ["林师傅", "陈师傅"];

pub struct Demo {
    pub technicians: Vec<TechnicianRef>,
    pub jobs: usize,
    pub code: IssuedCode,
}

/// A demo dispatcher, two technicians and the demo jobs (about 30, around
/// today in the operator's time zone), split between them; then an enrollment code
/// for the first technician. Run twice, it adds nothing but a new code.
pub async fn load_demo(hq: &Hq) -> HqResult<Demo> {
    let existing = hq.technicians().await?;
    let mut technicians = Vec::new();
    for name in DEMO_TECHNICIANS {
        match existing.iter().find(|t| t.name == name) {
            Some(t) => technicians.push(t.clone()),
            None => technicians.push(hq.create_technician(name).await?),
        }
    }
    let mut jobs = 0;
    if !hq.has_dispatcher(DEMO_DISPATCHER).await? {
        hq.create_dispatcher(DEMO_DISPATCHER, DEMO_PASSWORD).await?;
        let now = hq.now();
        let zone = hq.time_zone();
        let offset = zone.offset_from_utc_datetime(&now.naive_utc()).fix();
        let demo: Vec<DispatchedJob> = doorstep_core::demo::demo_jobs(date_in(now, zone), offset)
            .into_iter()
            .enumerate()
            .map(|(i, mut job)| {
                // HQ hands jobs out fresh; what happened on site comes from the app.
                if job.status != JobStatus::Cancelled {
                    job.status = JobStatus::Scheduled;
                }
                DispatchedJob {
                    job,
                    technician_id: Some(technicians[i % technicians.len()].id),
                }
            })
            .collect();
        jobs = demo.len();
        hq.import_jobs(&demo).await?;
    }
    let code = hq.issue_enrollment_code(technicians[0].id).await?;
    Ok(Demo {
        technicians,
        jobs,
        code,
    })
}
