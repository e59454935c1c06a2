//! What HQ does, one function per request. Handlers parse, call one of
//! these, and map the error; these check inputs and call the storage.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Duration, NaiveDate};
use doorstep_core::signature::{sha256_hex, signature_is_valid, ServiceForm};
use doorstep_core::wire::{
    ConflictId, ConflictOutcome, DeviceId, EnrollRequest, EnrollResponse, EnrollmentCode,
    PullResponse, PushRequest, PushResponse, Receipt, RowError, StoredBlob, TechnicianId,
    TechnicianRef, MAX_BLOB_BYTES, MAX_BLOB_QUERY,
};
use doorstep_core::{
    Customer, CustomerId, EarlierVisit, Job, JobId, JobStatus, JobType, SubCase, Timestamp,
    VisitRecord, LONG_TEXT_MAX, SHORT_TEXT_MAX,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{HqError, HqResult};
use crate::push;
use crate::storage::{
    day_range, Conflict, DeviceAuth, DeviceInfo, DispatchChange, DispatchedJob, DispatcherSession,
    Resolution, Storage, TechRecord,
};

/// Where HQ gets the time; tests pass a fixed one.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(chrono::Utc::now)
}

/// How long a one-time enrollment code stays valid.
pub const ENROLLMENT_CODE_TTL_HOURS: i64 = 24;
/// How long a dispatcher stays logged in.
pub const SESSION_TTL_HOURS: i64 = 12;

#[derive(Clone)]
pub struct Hq {
    pub storage: Arc<dyn Storage>,
    clock: Clock,
}

/// `POST /api/v1/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// `POST /api/v1/jobs`: a job as a dispatcher types it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    pub customer_name: String,
    pub phone: String,
    pub address: String,
    pub job_type: JobType,
    pub sub_case: SubCase,
    #[serde(default)]
    pub fault_description: String,
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub window_end: Timestamp,
    #[serde(default)]
    pub technician_id: Option<TechnicianId>,
    #[serde(default)]
    pub earlier_visits: Vec<EarlierVisit>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    pub created: Vec<JobId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardColumn {
    pub technician: Option<TechnicianRef>,
    /// Jobs per status, e.g. `{"scheduled": 3, "completed": 2}`.
    pub counts: std::collections::BTreeMap<String, usize>,
    pub jobs: Vec<Job>,
}

/// `GET /api/v1/board?date=`: the day's jobs by technician (unassigned last).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Board {
    pub date: NaiveDate,
    pub columns: Vec<BoardColumn>,
}

/// One op of a job's timeline, both clocks side by side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub op_id: uuid::Uuid,
    pub device_id: DeviceId,
    pub seq: i64,
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub device_time: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub server_time: Timestamp,
    pub payload: serde_json::Value,
    /// The job's visit the op was made in.
    pub visit: u32,
}

/// `GET /api/v1/jobs/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobDetail {
    pub job: Job,
    pub technician: Option<TechnicianRef>,
    pub records: Vec<TechRecord>,
    pub timeline: Vec<TimelineEntry>,
    pub receipt: Option<Receipt>,
    pub conflicts: Vec<Conflict>,
    /// The current visit rebuilt from every change HQ holds for it.
    pub visit: VisitRecord,
    pub service_form: ServiceForm,
    pub signature_valid: bool,
}

/// A random secret, 32 bytes as hex.
pub fn random_token() -> HqResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(HqError::storage)?;
    Ok(hex::encode(bytes))
}

/// Tokens and codes are stored as their SHA-256 only.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A one-time code a person can read out and type: `XXXXX-XXXXX`.
pub fn enrollment_code() -> HqResult<String> {
    let mut out = String::new();
    while out.len() < 11 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(HqError::storage)?;
        // Rejection sampling keeps every letter equally likely.
        if (byte[0] as usize) < CODE_ALPHABET.len() * 8 {
            if out.len() == 5 {
                out.push('-');
            }
            out.push(CODE_ALPHABET[byte[0] as usize % CODE_ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

/// Case, spaces and dashes do not matter when a code is typed back.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn hash_password(password: &str) -> HqResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(HqError::storage)?;
    let salt = SaltString::encode_b64(&bytes).map_err(HqError::storage)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(HqError::storage)
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), String> {
    if required && text.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    let len = text.chars().count();
    if len > max {
        return Err(format!("{field} is {len} characters; at most {max}"));
    }
    Ok(())
}

fn parse_enum<T: serde::de::DeserializeOwned>(name: &str, text: String) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.clone()))
        .map_err(|_| format!("{name}: unknown value '{text}'"))
}

fn check_new_job(job: &NewJob) -> Result<(), String> {
    check_text("customer_name", &job.customer_name, SHORT_TEXT_MAX, true)?;
    check_text("phone", &job.phone, SHORT_TEXT_MAX, true)?;
    check_text("address", &job.address, SHORT_TEXT_MAX, true)?;
    check_text(
        "fault_description",
        &job.fault_description,
        LONG_TEXT_MAX,
        false,
    )?;
    if job.window_end <= job.window_start {
        return Err("window_end must be after window_start".into());
    }
    Ok(())
}

fn job_from(new: NewJob) -> DispatchedJob {
    DispatchedJob {
        job: Job {
            id: JobId::new(),
            customer: Customer {
                id: CustomerId::new(),
                name: new.customer_name.trim().to_string(),
                phone: new.phone.trim().to_string(),
                address: new.address.trim().to_string(),
            },
            job_type: new.job_type,
            sub_case: new.sub_case,
            fault_description: new.fault_description.trim().to_string(),
            window_start: new.window_start,
            window_end: new.window_end,
            status: JobStatus::Scheduled,
            earlier_visits: new.earlier_visits,
            visit: doorstep_core::FIRST_VISIT,
        },
        technician_id: new.technician_id,
    }
}

fn parse_cursor(since: Option<&str>) -> HqResult<i64> {
    match since {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| HqError::bad_request("bad_cursor", "since must be a cursor HQ gave")),
    }
}

/// A blob's name: SHA-256 as 64 hex digits, lower-cased.
pub fn check_hash(hash: &str) -> HqResult<String> {
    if hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hash.to_ascii_lowercase())
    } else {
        Err(HqError::bad_request(
            "bad_hash",
            "a blob is named by its SHA-256 as 64 hex digits",
        ))
    }
}

impl Hq {
    pub fn new(storage: Arc<dyn Storage>, clock: Clock) -> Hq {
        Hq { storage, clock }
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    pub async fn device(&self, token: &str) -> HqResult<DeviceAuth> {
        let device = self
            .storage
            .device_by_token(&token_hash(token))
            .await?
            .ok_or_else(|| HqError::unauthorized("unauthorized", "unknown device token"))?;
        if device.revoked {
            return Err(HqError::unauthorized(
                "device_revoked",
                "this device was revoked at HQ; enroll it again",
            ));
        }
        Ok(device)
    }

    pub async fn dispatcher(&self, token: &str) -> HqResult<DispatcherSession> {
        self.storage
            .session(&token_hash(token), self.now())
            .await?
            .ok_or_else(|| HqError::unauthorized("unauthorized", "log in as a dispatcher"))
    }

    /// Ends the dispatcher session this token names, if any.
    pub async fn logout(&self, token: &str) -> HqResult<()> {
        self.storage.delete_session(&token_hash(token)).await
    }

    pub async fn create_dispatcher(&self, username: &str, password: &str) -> HqResult<()> {
        check_text("username", username, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        if password.chars().count() < 8 {
            return Err(HqError::invalid(
                "weak_password",
                "a password has at least 8 characters",
            ));
        }
        let password = password.to_string();
        let phc = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(HqError::storage)??;
        self.storage
            .create_dispatcher(username.trim(), &phc, self.now())
            .await?;
        Ok(())
    }

    pub async fn create_technician(&self, name: &str) -> HqResult<TechnicianRef> {
        check_text("name", name, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        self.storage
            .create_technician(name.trim(), self.now())
            .await
    }

    pub async fn login(&self, request: LoginRequest) -> HqResult<LoginResponse> {
        let refused = || HqError::unauthorized("bad_credentials", "wrong username or password");
        if request.password.len() > 1024 {
            return Err(refused());
        }
        let login = self
            .storage
            .dispatcher_by_username(request.username.trim())
            .await?
            .ok_or_else(refused)?;
        let (password, phc) = (request.password, login.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .map_err(HqError::storage)?;
        if !ok {
            return Err(refused());
        }
        let token = random_token()?;
        let expires_at = self.now() + Duration::hours(SESSION_TTL_HOURS);
        self.storage
            .create_session(&token_hash(&token), login.id, expires_at)
            .await?;
        Ok(LoginResponse {
            token,
            username: login.username,
            expires_at,
        })
    }

    pub async fn issue_enrollment_code(
        &self,
        technician: TechnicianId,
    ) -> HqResult<EnrollmentCode> {
        if self.storage.technician(technician).await?.is_none() {
            return Err(HqError::invalid(
                "unknown_technician",
                format!("no technician {technician}"),
            ));
        }
        let code = enrollment_code()?;
        let expires_at = self.now() + Duration::hours(ENROLLMENT_CODE_TTL_HOURS);
        self.storage
            .create_enrollment_code(&token_hash(&normalize_code(&code)), technician, expires_at)
            .await?;
        Ok(EnrollmentCode {
            code,
            technician_id: technician,
            expires_at,
        })
    }

    pub async fn enroll(&self, request: EnrollRequest) -> HqResult<EnrollResponse> {
        check_text("device_name", &request.device_name, SHORT_TEXT_MAX, true)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        let code = normalize_code(&request.code);
        if code.is_empty() || code.len() > 64 {
            return Err(HqError::unauthorized(
                "invalid_code",
                "the enrollment code is unknown, used or expired",
            ));
        }
        let device_id = DeviceId::new();
        let token = random_token()?;
        let technician = self
            .storage
            .enroll(
                &token_hash(&code),
                device_id,
                request.device_name.trim(),
                &token_hash(&token),
                self.now(),
            )
            .await?;
        Ok(EnrollResponse {
            device_id,
            token,
            technician,
        })
    }

    pub async fn revoke_device(&self, device: DeviceId) -> HqResult<DeviceInfo> {
        self.storage.revoke_device(device, self.now()).await
    }

    pub async fn pull(&self, device: &DeviceAuth, since: Option<&str>) -> HqResult<PullResponse> {
        let since = parse_cursor(since)?;
        let batch = self.storage.pull(device.technician_id, since).await?;
        Ok(PullResponse {
            cursor: batch.cursor.to_string(),
            jobs: batch.jobs,
            removed: batch.removed,
            outcomes: batch
                .resolved
                .into_iter()
                .filter_map(|conflict| {
                    Some(ConflictOutcome {
                        conflict_id: conflict.id,
                        job_id: conflict.job_id,
                        reason: conflict.reason,
                        resolution: conflict.resolution?,
                        note: conflict.note.unwrap_or_default(),
                        resolved_at: conflict.resolved_at?,
                    })
                })
                .collect(),
        })
    }

    pub async fn push(&self, device: &DeviceAuth, request: PushRequest) -> HqResult<PushResponse> {
        if request.device_id != device.id {
            return Err(HqError::forbidden(
                "device_mismatch",
                "device_id is not the device this token belongs to",
            ));
        }
        let entries = push::prepare(request.entries)?;
        self.storage.push(device, &entries, self.now()).await
    }

    async fn check_technician(&self, technician: Option<TechnicianId>) -> HqResult<()> {
        if let Some(id) = technician {
            if self.storage.technician(id).await?.is_none() {
                return Err(HqError::invalid(
                    "unknown_technician",
                    format!("no technician {id}"),
                ));
            }
        }
        Ok(())
    }

    pub async fn create_job(&self, new: NewJob) -> HqResult<DispatchedJob> {
        check_new_job(&new).map_err(|m| HqError::invalid("invalid_field", m))?;
        self.check_technician(new.technician_id).await?;
        let job = job_from(new);
        self.storage
            .create_jobs(std::slice::from_ref(&job), self.now())
            .await?;
        Ok(job)
    }

    /// Imports CSV rows (header: customer_name, phone, address, job_type,
    /// sub_case, fault_description, window_start, window_end, technician).
    /// `technician` is a technician's id or exact name, or empty. Any bad row
    /// and nothing is imported; every bad row is reported.
    pub async fn import_csv(&self, text: &str) -> HqResult<ImportResult> {
        let technicians = self.storage.technicians().await?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let mut jobs = Vec::new();
        let mut errors = Vec::new();
        const COLUMNS: [&str; 9] = [
            "customer_name",
            "phone",
            "address",
            "job_type",
            "sub_case",
            "fault_description",
            "window_start",
            "window_end",
            "technician",
        ];
        match reader.headers() {
            Ok(headers) if headers.iter().eq(COLUMNS.iter().copied()) => {}
            _ => {
                return Err(HqError::invalid(
                    "bad_header",
                    format!("the first line must be: {}", COLUMNS.join(",")),
                ))
            }
        }
        for (index, record) in reader.records().enumerate() {
            let row = index + 1;
            let record = match record {
                Ok(record) => record,
                Err(err) => {
                    errors.push(RowError {
                        row,
                        message: err.to_string(),
                    });
                    continue;
                }
            };
            match self.row_to_job(&record, &technicians) {
                Ok(job) => jobs.push(job),
                Err(message) => errors.push(RowError { row, message }),
            }
        }
        if !errors.is_empty() {
            return Err(HqError::ImportInvalid(errors));
        }
        if jobs.is_empty() {
            return Err(HqError::invalid("empty_import", "the file has no rows"));
        }
        self.storage.create_jobs(&jobs, self.now()).await?;
        Ok(ImportResult {
            created: jobs.iter().map(|j| j.job.id).collect(),
        })
    }

    fn row_to_job(
        &self,
        record: &csv::StringRecord,
        technicians: &[TechnicianRef],
    ) -> Result<DispatchedJob, String> {
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let parse_time = |name: &str, text: String| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| t.to_utc())
                .map_err(|_| {
                    format!("{name}: '{text}' is not a time like 2026-12-01T09:00:00+08:00")
                })
        };
        let technician = field(8);
        let technician_id = if technician.is_empty() {
            None
        } else {
            Some(
                technicians
                    .iter()
                    .find(|t| t.id.to_string() == technician || t.name == technician)
                    .map(|t| t.id)
                    .ok_or_else(|| format!("technician: no technician '{technician}'"))?,
            )
        };
        let new = NewJob {
            customer_name: field(0),
            phone: field(1),
            address: field(2),
            job_type: parse_enum("job_type", field(3))?,
            sub_case: parse_enum("sub_case", field(4))?,
            fault_description: field(5),
            window_start: parse_time("window_start", field(6))?,
            window_end: parse_time("window_end", field(7))?,
            technician_id,
            earlier_visits: Vec::new(),
        };
        check_new_job(&new)?;
        Ok(job_from(new))
    }

    pub async fn assign(&self, job: JobId, technician: TechnicianId) -> HqResult<DispatchedJob> {
        self.check_technician(Some(technician)).await?;
        self.storage
            .change_job(job, DispatchChange::Assign(technician))
            .await
    }

    pub async fn cancel(&self, job: JobId) -> HqResult<DispatchedJob> {
        self.storage.change_job(job, DispatchChange::Cancel).await
    }

    pub async fn reschedule(
        &self,
        job: JobId,
        start: Timestamp,
        end: Timestamp,
    ) -> HqResult<DispatchedJob> {
        if end <= start {
            return Err(HqError::invalid(
                "bad_window",
                "window_end must be after window_start",
            ));
        }
        self.storage
            .change_job(job, DispatchChange::Reschedule { start, end })
            .await
    }

    pub async fn board(&self, date: NaiveDate, utc_offset_minutes: i32) -> HqResult<Board> {
        if !(-14 * 60..=14 * 60).contains(&utc_offset_minutes) {
            return Err(HqError::bad_request(
                "bad_query",
                "utc_offset_minutes is between -840 and 840",
            ));
        }
        let (from, to) = day_range(date, utc_offset_minutes);
        let jobs = self.storage.jobs_between(from, to).await?;
        let technicians = self.storage.technicians().await?;
        let mut columns: Vec<BoardColumn> = technicians
            .into_iter()
            .map(|t| BoardColumn {
                technician: Some(t),
                counts: Default::default(),
                jobs: Vec::new(),
            })
            .collect();
        columns.push(BoardColumn {
            technician: None,
            counts: Default::default(),
            jobs: Vec::new(),
        });
        for dispatched in jobs {
            let column = columns
                .iter_mut()
                .find(|c| c.technician.as_ref().map(|t| t.id) == dispatched.technician_id);
            if let Some(column) = column {
                let status = crate::storage::enum_text(&dispatched.job.status);
                *column.counts.entry(status).or_default() += 1;
                column.jobs.push(dispatched.job);
            }
        }
        Ok(Board { date, columns })
    }

    pub async fn job_detail(&self, job: JobId) -> HqResult<JobDetail> {
        let records = self
            .storage
            .job_records(job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        let technician = match records.dispatch.technician_id {
            Some(id) => self.storage.technician(id).await?,
            None => None,
        };
        let mut visit = push::rebuild_visit(
            records.dispatch.job.clone(),
            push::current_visit_ops(&records.dispatch.job, &records.ops),
        );
        // Show HQ's dispatch status (cancelled stays cancelled on the console).
        visit.job.status = records.dispatch.job.status;
        let service_form = ServiceForm::from_visit(&visit);
        let signature_valid = signature_is_valid(&visit);
        Ok(JobDetail {
            job: records.dispatch.job,
            technician,
            records: records.records,
            timeline: records
                .ops
                .into_iter()
                .map(|op| TimelineEntry {
                    payload: serde_json::from_str(&op.payload).unwrap_or(serde_json::Value::Null),
                    op_id: op.op_id,
                    device_id: op.device_id,
                    seq: op.seq,
                    kind: op.kind,
                    device_time: op.device_time,
                    server_time: op.server_time,
                    visit: op.visit,
                })
                .collect(),
            receipt: records.receipt,
            conflicts: records.conflicts,
            visit,
            service_form,
            signature_valid,
        })
    }

    pub async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>> {
        self.storage.conflicts(open_only).await
    }

    pub async fn resolve_conflict(
        &self,
        id: ConflictId,
        resolution: Resolution,
        note: &str,
        by: &DispatcherSession,
    ) -> HqResult<Conflict> {
        check_text("note", note, LONG_TEXT_MAX, false)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        self.storage
            .resolve_conflict(id, resolution, note, &by.username, self.now())
            .await
    }

    /// Stores blobs after checking each one's bytes hash to its name: all of
    /// them in one transaction, or none when any is wrong.
    pub async fn put_blobs(&self, blobs: Vec<(String, Vec<u8>)>) -> HqResult<Vec<StoredBlob>> {
        let mut named = Vec::with_capacity(blobs.len());
        let mut seen = std::collections::HashSet::new();
        for (hash, bytes) in blobs {
            let hash = check_hash(&hash)?;
            if bytes.len() > MAX_BLOB_BYTES {
                return Err(HqError::TooLarge(format!(
                    "blob {hash}: a blob is at most {MAX_BLOB_BYTES} bytes"
                )));
            }
            if seen.insert(hash.clone()) {
                named.push((hash, bytes));
            }
        }
        // Hashing megabytes is CPU work: keep it off the async workers.
        let named = tokio::task::spawn_blocking(move || {
            for (hash, bytes) in &named {
                let actual = sha256_hex(bytes);
                if actual != *hash {
                    return Err(HqError::invalid(
                        "hash_mismatch",
                        format!("the bytes hash to {actual}, not {hash}"),
                    ));
                }
            }
            Ok(named)
        })
        .await
        .map_err(HqError::storage)??;
        let sizes: Vec<(String, u64)> = named
            .iter()
            .map(|(hash, bytes)| (hash.clone(), bytes.len() as u64))
            .collect();
        let created = self.storage.put_blobs(named, self.now()).await?;
        Ok(sizes
            .into_iter()
            .zip(created)
            .map(|((hash, size), created)| StoredBlob {
                hash,
                size,
                created,
            })
            .collect())
    }

    /// The hashes among `hashes` that HQ does not hold, lower-cased.
    pub async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>> {
        if hashes.len() > MAX_BLOB_QUERY {
            return Err(HqError::TooLarge(format!(
                "ask about at most {MAX_BLOB_QUERY} blobs at a time"
            )));
        }
        let hashes = hashes
            .iter()
            .map(|hash| check_hash(hash))
            .collect::<HqResult<Vec<_>>>()?;
        self.storage.missing_blobs(&hashes).await
    }

    pub async fn blob(&self, hash: &str) -> HqResult<Vec<u8>> {
        self.storage
            .blob(&check_hash(hash)?)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("blob {hash}")))
    }
}
