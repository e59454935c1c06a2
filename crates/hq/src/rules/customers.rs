//! Customers (standard items 15 and 22): which customer a new job is for,
//! when a fault job is a repeat, and the story HQ tells of a customer from
//! its own history. Pure, like the rest of `rules`.
//!
//! - Matching (`match_customer`): a job naming a customer HQ holds is
//!   theirs (a revisit); otherwise the operator's account number identifies
//!   a customer; a job without one is matched by phone (`phone_key`: its
//!   digits), to the earliest customer with that phone. A customer known
//!   by phone only takes the account number the first job that gives one
//!   brings (`adopt_account`). Otherwise the job makes a new customer.
//! - Repeat fault (`repeat_of`): a fault job is a repeat when the same
//!   customer had another fault job, not cancelled, whose window started in
//!   the `days` before this one's.
//! - The story (`story`): every job of the customer, newest first, with its
//!   outcome, MOT score and what was done; the products their completed
//!   jobs left (services installed, equipment by serial, an item replaced
//!   again leaving the list).

use chrono::Duration;
use doorstep_core::{
    ComplaintRecord, CustomerId, CustomerStory, EarlierVisit, Job, JobId, JobStatus, JobType,
    OpenComplaint, Product, ProductKind, StoryReplacement, StoryVisit, VipGrade, VisitRecord,
};

/// The repeat window when HQ is given none: 30 days (standard item 15).
pub const DEFAULT_REPEAT_FAULT_DAYS: u32 = 30;

/// What matching needs of a customer HQ holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCustomer {
    pub id: CustomerId,
    pub account_number: Option<String>,
    pub phone_key: String,
}

/// Whom a new job is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerMatch {
    /// A customer HQ holds; `adopt_account` when the job's account number
    /// is to be written on them (they were known by phone only).
    Existing { id: CustomerId, adopt_account: bool },
    /// Nobody matches: the job's customer is new.
    New,
}

/// The first customer HQ made among `found` (ids are time-ordered).
fn earliest<'a>(found: impl Iterator<Item = &'a KnownCustomer>) -> Option<&'a KnownCustomer> {
    found.min_by_key(|c| c.id)
}

/// The phone as matching compares it: its digits only, so "138 0000-0000"
/// and "13800000000" are one phone.
pub fn phone_key(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// An account number as HQ keeps it: trimmed; blank is none.
pub fn account_number(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Which customer a job is for, among the `candidates` HQ read: the
/// customer the job names (`named`: a revisit names its customer), or those
/// with the job's account number (already through `account_number`) or
/// phone key.
pub fn match_customer(
    named: CustomerId,
    account: Option<&str>,
    key: &str,
    candidates: &[KnownCustomer],
) -> CustomerMatch {
    if candidates.iter().any(|c| c.id == named) {
        return CustomerMatch::Existing {
            id: named,
            adopt_account: false,
        };
    }
    let by_phone = |c: &&KnownCustomer| !key.is_empty() && c.phone_key == key;
    match account {
        Some(account) => {
            if let Some(known) = candidates
                .iter()
                .find(|c| c.account_number.as_deref() == Some(account))
            {
                return CustomerMatch::Existing {
                    id: known.id,
                    adopt_account: false,
                };
            }
            // Someone known by phone only, never by another account number.
            let phone_only = candidates
                .iter()
                .filter(by_phone)
                .filter(|c| c.account_number.is_none());
            match earliest(phone_only) {
                Some(known) => CustomerMatch::Existing {
                    id: known.id,
                    adopt_account: true,
                },
                None => CustomerMatch::New,
            }
        }
        None => match earliest(candidates.iter().filter(by_phone)) {
            Some(known) => CustomerMatch::Existing {
                id: known.id,
                adopt_account: false,
            },
            None => CustomerMatch::New,
        },
    }
}

/// The customer's earlier fault job that makes `job` a repeat fault, if
/// any: the latest fault job of the same customer, not cancelled, whose
/// window started in the `days` before `job`'s. `history` is the
/// customer's jobs (it may hold `job` itself).
pub fn repeat_of(job: &Job, history: &[Job], days: u32) -> Option<JobId> {
    if job.job_type != JobType::Fault {
        return None;
    }
    let since = job.window_start - Duration::days(days.into());
    history
        .iter()
        .filter(|earlier| {
            earlier.id != job.id
                && earlier.customer.id == job.customer.id
                && earlier.job_type == JobType::Fault
                && earlier.status != JobStatus::Cancelled
                && earlier.window_start < job.window_start
                && earlier.window_start >= since
        })
        .max_by_key(|earlier| (earlier.window_start, earlier.id))
        .map(|earlier| earlier.id)
}

/// The customer's story from their jobs at HQ, each with its current visit
/// as HQ rebuilt it, and every complaint on those jobs (taken on any visit,
/// or at HQ).
pub fn story(
    customer: CustomerId,
    vip_grade: VipGrade,
    history: &[(Job, VisitRecord)],
    complaints: &[ComplaintRecord],
) -> CustomerStory {
    let mut oldest_first: Vec<&(Job, VisitRecord)> = history.iter().collect();
    oldest_first.sort_by_key(|(job, _)| (job.window_start, job.id));
    let mut products: Vec<Product> = Vec::new();
    for (job, visit) in &oldest_first {
        if job.status != JobStatus::Completed {
            continue;
        }
        let since = job.window_start.date_naive();
        if job.job_type == JobType::Install {
            products.push(Product {
                kind: ProductKind::InstalledService,
                name: job.fault_description.clone(),
                item: None,
                serial: None,
                since,
                job_id: job.id,
            });
        }
        for replaced in &visit.replacements {
            let old = replaced.old_serial.trim();
            if !old.is_empty() {
                products.retain(|p| p.serial.as_deref() != Some(old));
            }
            products.push(Product {
                kind: ProductKind::Equipment,
                name: String::new(),
                item: Some(replaced.item),
                serial: Some(replaced.new_serial.trim().to_string()),
                since,
                job_id: job.id,
            });
        }
    }
    let visits = oldest_first
        .iter()
        .rev()
        .map(|(job, visit)| StoryVisit {
            job_id: job.id,
            date: job.window_start.date_naive(),
            job_type: job.job_type,
            sub_case: job.sub_case,
            status: job.status,
            visit: job.visit,
            mot: visit.feedback.mot,
            reported: job.fault_description.clone(),
            work: work_done(visit),
            replacements: visit
                .replacements
                .iter()
                .map(|r| StoryReplacement {
                    item: r.item,
                    old_serial: r.old_serial.clone(),
                    new_serial: r.new_serial.clone(),
                })
                .collect(),
        })
        .collect();
    // Complaints not yet called back, oldest first.
    let mut open_complaints: Vec<OpenComplaint> = complaints
        .iter()
        .filter(|complaint| complaint.callback.is_none())
        .map(|complaint| OpenComplaint {
            issue: complaint.issue.clone(),
            opened_at: complaint.raised_at,
        })
        .collect();
    open_complaints.sort_by_key(|complaint| complaint.opened_at);
    CustomerStory {
        customer_id: customer,
        vip_grade,
        visits,
        products,
        open_complaints,
    }
}

/// What was done, in the technician's words: the fault point and the
/// description, whichever were written.
fn work_done(visit: &VisitRecord) -> String {
    [visit.work.fault_point.trim(), visit.work.description.trim()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The one-line earlier visits an app from before the story shows for
/// `job`: the story's other jobs up to its day, newest first, after the
/// lines the job was created with.
pub fn earlier_visit_lines(job: &Job, story: &CustomerStory) -> Vec<EarlierVisit> {
    let mut lines = job.earlier_visits.clone();
    lines.extend(
        story
            .visits
            .iter()
            .filter(|v| v.job_id != job.id && v.date <= job.window_start.date_naive())
            .map(|v| EarlierVisit {
                date: v.date,
                summary: summary_line(v),
            }),
    );
    lines
}

/// One line in Chinese (the apps' first language): type, outcome, MOT
/// score, what was done.
fn summary_line(visit: &StoryVisit) -> String {
    let kind = match visit.job_type {
        JobType::Install => "安装",
        JobType::Fault => "故障",
    };
    let outcome = match visit.status {
        JobStatus::Scheduled => "已预约",
        JobStatus::InProgress => "处理中",
        JobStatus::Completed => "已完成",
        JobStatus::Rescheduled => "已改约",
        JobStatus::Cancelled => "已取消",
    };
    let mut parts = vec![kind.to_string(), outcome.to_string()];
    if let Some(mot) = visit.mot {
        parts.push(format!("MOT {mot:+}"));
    }
    let done = if visit.work.is_empty() {
        &visit.reported
    } else {
        &visit.work
    };
    if !done.trim().is_empty() {
        parts.push(done.trim().to_string());
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use doorstep_core::{
        Customer, Feedback, RecordId, ReplacedItem, Replacement, SubCase, Timestamp, Work,
    };

    use super::*;

    fn day(d: u32) -> Timestamp {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn job(customer: CustomerId, job_type: JobType, status: JobStatus, start: Timestamp) -> Job {
        Job {
            id: JobId::new(),
            customer: Customer {
                id: customer,
                name: "黄".into(),
                phone: "13800000000".into(),
                address: "福州".into(),
                account_number: None,
            },
            job_type,
            sub_case: SubCase::Indoor,
            fault_description: "没有信号".into(),
            window_start: start,
            window_end: start + Duration::hours(1),
            status,
            earlier_visits: vec![],
            visit: 1,
            repeat_of: None,
            reported_at: None,
            due_by: None,
        }
    }

    fn known(account: Option<&str>, phone: &str) -> KnownCustomer {
        KnownCustomer {
            id: CustomerId::new(),
            account_number: account.map(str::to_string),
            phone_key: phone_key(phone),
        }
    }

    /// The account number is the operator's identity of a customer: it
    /// wins over a phone another customer shares.
    #[test]
    fn the_account_number_matches_before_the_phone() {
        let by_phone = known(None, "13800000000");
        let by_account = known(Some("A-1"), "13900000000");
        let found = match_customer(
            CustomerId::new(),
            Some("A-1"),
            &phone_key("13800000000"),
            &[by_phone.clone(), by_account.clone()],
        );
        assert_eq!(
            found,
            CustomerMatch::Existing {
                id: by_account.id,
                adopt_account: false
            }
        );
    }

    /// Without an account number the phone is all HQ has; spaces and dashes
    /// typed differently are still one phone, and the first customer with it
    /// is the one (a guess would split their history).
    #[test]
    fn without_an_account_number_the_phone_matches_the_earliest_customer() {
        let first = known(None, "138 0000 0000");
        let second = known(Some("A-2"), "13800000000");
        let found = match_customer(
            CustomerId::new(),
            None,
            &phone_key("138-0000-0000"),
            &[second, first.clone()],
        );
        assert_eq!(
            found,
            CustomerMatch::Existing {
                id: first.id,
                adopt_account: false
            }
        );
        assert_eq!(
            match_customer(CustomerId::new(), None, "13700000000", &[first]),
            CustomerMatch::New
        );
    }

    /// A customer known by phone only takes the account number once it is
    /// given; one known by another account number is someone else.
    #[test]
    fn a_new_account_number_is_adopted_only_by_a_phone_only_customer() {
        let phone_only = known(None, "13800000000");
        assert_eq!(
            match_customer(
                CustomerId::new(),
                Some("A-9"),
                "13800000000",
                std::slice::from_ref(&phone_only)
            ),
            CustomerMatch::Existing {
                id: phone_only.id,
                adopt_account: true
            }
        );
        let other_account = known(Some("A-1"), "13800000000");
        assert_eq!(
            match_customer(
                CustomerId::new(),
                Some("A-9"),
                "13800000000",
                &[other_account]
            ),
            CustomerMatch::New
        );
    }

    /// A revisit names its customer: that customer, whatever the phone says
    /// (a shared household phone must not move it to someone else).
    #[test]
    fn a_job_naming_a_known_customer_is_theirs() {
        let earliest = known(None, "13800000000");
        let named = known(None, "13800000000");
        assert_eq!(
            match_customer(named.id, None, "13800000000", &[earliest, named.clone()]),
            CustomerMatch::Existing {
                id: named.id,
                adopt_account: false
            }
        );
    }

    /// A phone with no digits matches nobody: blank phones are not one
    /// customer.
    #[test]
    fn a_phone_without_digits_matches_nobody() {
        assert_eq!(
            match_customer(
                CustomerId::new(),
                None,
                &phone_key("none"),
                &[known(None, "n/a")]
            ),
            CustomerMatch::New
        );
        assert_eq!(account_number(Some("  ")), None);
        assert_eq!(account_number(Some(" A-1 ")).as_deref(), Some("A-1"));
    }

    /// Standard item 15: a fault within the window after another fault of
    /// the same customer is a repeat; an install, a cancelled job, an older
    /// or a later fault is not.
    #[test]
    fn a_fault_within_the_window_after_another_fault_is_a_repeat() {
        let customer = CustomerId::new();
        let now = job(customer, JobType::Fault, JobStatus::Scheduled, day(30));
        let recent = job(customer, JobType::Fault, JobStatus::Completed, day(10));
        let older = job(customer, JobType::Fault, JobStatus::Completed, day(2));
        assert_eq!(
            repeat_of(&now, &[older.clone(), recent.clone(), now.clone()], 30),
            Some(recent.id),
            "the latest earlier fault is named"
        );
        assert_eq!(
            repeat_of(&now, std::slice::from_ref(&older), 20),
            None,
            "older than 20 days"
        );
        let edge = older.clone();
        assert_eq!(
            repeat_of(&now, &[older], 28),
            Some(edge.id),
            "exactly 28 days before is inside a 28-day window"
        );
        let cancelled = job(customer, JobType::Fault, JobStatus::Cancelled, day(20));
        let install = job(customer, JobType::Install, JobStatus::Completed, day(20));
        let later = job(
            customer,
            JobType::Fault,
            JobStatus::Completed,
            day(30) + Duration::days(1),
        );
        let someone_else = job(
            CustomerId::new(),
            JobType::Fault,
            JobStatus::Completed,
            day(20),
        );
        assert_eq!(
            repeat_of(&now, &[cancelled, install, later, someone_else], 30),
            None
        );
        let install_now = job(customer, JobType::Install, JobStatus::Scheduled, day(30));
        assert_eq!(
            repeat_of(&install_now, &[recent], 30),
            None,
            "only a fault job is a repeat fault"
        );
    }

    fn visit(job: &Job, work: &str, mot: Option<i8>, replaced: &[(&str, &str)]) -> VisitRecord {
        let mut visit = VisitRecord::new(job.clone());
        visit.work = Work {
            description: work.into(),
            ..Work::default()
        };
        visit.feedback = Feedback {
            mot,
            opinion: String::new(),
        };
        visit.replacements = replaced
            .iter()
            .map(|(old, new)| Replacement {
                id: RecordId::new(),
                item: ReplacedItem::CableModem,
                old_serial: old.to_string(),
                new_serial: new.to_string(),
                told_in_advance: true,
                consent: true,
            })
            .collect();
        visit
    }

    /// The story is HQ's history: newest first, with outcome, MOT score
    /// and what was done; products are what completed jobs left, and a
    /// modem replaced again is no longer the customer's.
    #[test]
    fn the_story_tells_visits_newest_first_and_the_products_left() {
        let customer = CustomerId::new();
        let mut install = job(customer, JobType::Install, JobStatus::Completed, day(1));
        install.fault_description = "宽带 100M".into();
        let first_fault = job(customer, JobType::Fault, JobStatus::Completed, day(5));
        let second_fault = job(customer, JobType::Fault, JobStatus::Completed, day(9));
        let open = job(customer, JobType::Fault, JobStatus::Scheduled, day(20));
        let history = vec![
            (
                second_fault.clone(),
                visit(&second_fault, "又换猫", Some(2), &[("M2", "M3")]),
            ),
            (install.clone(), visit(&install, "装好", Some(3), &[])),
            (
                first_fault.clone(),
                visit(&first_fault, "换猫", None, &[("M1", "M2")]),
            ),
            (open.clone(), visit(&open, "", None, &[])),
        ];
        let story = story(customer, VipGrade::Gold, &history, &[]);
        assert_eq!(story.vip_grade, VipGrade::Gold);
        let order: Vec<JobId> = story.visits.iter().map(|v| v.job_id).collect();
        assert_eq!(
            order,
            vec![open.id, second_fault.id, first_fault.id, install.id]
        );
        assert_eq!(story.visits[1].mot, Some(2));
        assert_eq!(story.visits[1].work, "又换猫");
        assert_eq!(story.visits[1].replacements[0].new_serial, "M3");
        let products: Vec<(ProductKind, String, Option<String>)> = story
            .products
            .iter()
            .map(|p| (p.kind, p.name.clone(), p.serial.clone()))
            .collect();
        assert_eq!(
            products,
            vec![
                (ProductKind::InstalledService, "宽带 100M".into(), None),
                (ProductKind::Equipment, String::new(), Some("M3".into())),
            ],
            "M2 was replaced by M3, so only M3 is left"
        );
        assert!(story.open_complaints.is_empty());

        // A complaint not yet called back is the customer's open complaint,
        // whether taken on a visit or at HQ; one called back is not.
        let complaint = |issue: &str, answered: bool| doorstep_core::ComplaintRecord {
            id: doorstep_core::RecordId::new(),
            taken_by: "林师傅".into(),
            issue: issue.into(),
            reply_by: day(21),
            raised_at: day(20),
            callback: answered.then(|| doorstep_core::ComplaintReply {
                at: day(20),
                result: "已处理".into(),
                satisfied: true,
            }),
        };
        let complaints = [
            complaint("又没信号", false),
            complaint("迟到", true),
            complaint("电话投诉收费", false),
        ];
        let told = super::story(customer, VipGrade::Gold, &history, &complaints);
        let open_issues: Vec<&str> = told
            .open_complaints
            .iter()
            .map(|c| c.issue.as_str())
            .collect();
        assert_eq!(open_issues, vec!["又没信号", "电话投诉收费"]);

        let lines = earlier_visit_lines(&open, &story);
        assert_eq!(lines.len(), 3, "an older app sees the three earlier visits");
        assert!(lines[0].summary.contains("MOT +2"), "{}", lines[0].summary);
    }
}
