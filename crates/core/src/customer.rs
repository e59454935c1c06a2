//! The customer's story (standard items 15 and 22): what HQ knows of a
//! customer across jobs, sent with the day's jobs so the technician reads it
//! offline. HQ builds it from its own history; nobody types it in.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{CustomerId, JobId, JobStatus, JobType, ReplacedItem, SubCase, Timestamp};

/// The customer's grade, set by a dispatcher at HQ (standard: grade
/// customers by value and vary the service by it).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VipGrade {
    /// 普通
    #[default]
    Regular,
    /// 银卡
    Silver,
    /// 金卡
    Gold,
    /// 钻石
    Diamond,
}

/// One of the customer's jobs at HQ, as the story tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoryVisit {
    pub job_id: JobId,
    /// The day of the job's window (UTC).
    pub date: NaiveDate,
    pub job_type: JobType,
    pub sub_case: SubCase,
    /// The outcome: HQ's status of the job.
    pub status: JobStatus,
    /// Which visit of that job HQ holds (more than one when re-booked).
    pub visit: u32,
    /// The customer's moment-of-truth score (-3 to +3), when they gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mot: Option<i8>,
    /// What was reported (the fault description or the installation asked for).
    pub reported: String,
    /// What was done: the work's fault point and description.
    pub work: String,
    /// Equipment replaced on that visit.
    #[serde(default)]
    pub replacements: Vec<StoryReplacement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoryReplacement {
    pub item: ReplacedItem,
    pub old_serial: String,
    pub new_serial: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A service an installation job put in.
    InstalledService,
    /// A piece of equipment a replacement left at the customer's.
    Equipment,
}

/// What the customer has from the operator, read off their completed jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub kind: ProductKind,
    /// The service installed (what the installation job asked for); empty
    /// for equipment.
    pub name: String,
    /// The item, for equipment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ReplacedItem>,
    /// The equipment's serial number, for equipment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// When the job that brought it was on.
    pub since: NaiveDate,
    pub job_id: JobId,
}

/// A complaint of the customer taken on site and not yet called back
/// (standard item 19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenComplaint {
    pub issue: String,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
}

/// The customer's story, as HQ sends it with a pull (one per customer of the
/// jobs pulled) and the laptop keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerStory {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub vip_grade: VipGrade,
    /// Every job of the customer at HQ, newest first (the job being worked
    /// on is among them; the job view leaves it out).
    #[serde(default)]
    pub visits: Vec<StoryVisit>,
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub open_complaints: Vec<OpenComplaint>,
}

impl CustomerStory {
    /// A customer HQ knows nothing more of.
    pub fn empty(customer_id: CustomerId) -> CustomerStory {
        CustomerStory {
            customer_id,
            vip_grade: VipGrade::default(),
            visits: Vec::new(),
            products: Vec::new(),
            open_complaints: Vec::new(),
        }
    }
}
