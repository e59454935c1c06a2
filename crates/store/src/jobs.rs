//! Jobs as dispatched, and the job list.

use doorstep_core::rules::{is_overdue, is_past_target};
use doorstep_core::zone;
use doorstep_core::{CustomerStory, Job, JobId, JobStatus, JobType, Step, SubCase, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::codec::{enum_from_sql, enum_to_sql, json_from_sql, time_from_sql, time_to_sql};
use crate::search::{index_search_text, rename_customer_jobs, search_condition, search_text};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    /// Open jobs due today, and any overdue from earlier days.
    Today,
    /// Open jobs from tomorrow on.
    Upcoming,
    /// Completed, rescheduled or cancelled.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFilter {
    pub tab: Tab,
    /// Matches name, address or phone. When set, every tab is searched.
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    pub id: JobId,
    pub customer_name: String,
    pub address: String,
    pub phone: String,
    pub job_type: JobType,
    pub sub_case: SubCase,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    pub status: JobStatus,
    pub step: Step,
    /// Past its window and still open (`rules::is_overdue`), judged at the
    /// time the list was asked for.
    pub overdue: bool,
    /// HQ flagged it a repeat fault (standard item 15).
    pub repeat_fault: bool,
    /// Past its repair-time target and not done (`rules::is_past_target`),
    /// judged at the same time.
    pub past_target: bool,
}

/// Rows in one page of the list: a day's work fits one page, and a broad
/// search over 100,000 jobs reads no more than a page before it answers.
pub const LIST_PAGE: usize = 200;

/// Where the next page of a list starts: after this row, in the list's
/// order (window start, then id, so rows with one start are never skipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCursor {
    pub window_start: Timestamp,
    pub id: JobId,
}

/// One page of the job list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// Where the next page starts; none when this page is the last.
    pub next: Option<ListCursor>,
}

/// What the store holds of a job before an upsert.
struct StoredJob {
    rowid: i64,
    customer_id: String,
    /// What the search index holds for it.
    search_text: String,
}

fn stored_job(conn: &Connection, job: JobId) -> Result<Option<StoredJob>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT rowid, customer_id, search_text FROM jobs WHERE id = ?1")?
        .query_row([job.to_string()], |row| {
            Ok(StoredJob {
                rowid: row.get(0)?,
                customer_id: row.get(1)?,
                search_text: row.get(2)?,
            })
        })
        .optional()?)
}

pub(crate) fn upsert_job(conn: &Connection, job: &Job) -> Result<(), StoreError> {
    let customer_id = job.customer.id.to_string();
    let text = search_text(&job.customer);
    let stored = stored_job(conn, job.id)?;
    conn.prepare_cached(
        "INSERT INTO customers (id, name, phone, address, account_number)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
             address = excluded.address, account_number = excluded.account_number",
    )?
    .execute(params![
        customer_id,
        job.customer.name,
        job.customer.phone,
        job.customer.address,
        job.customer.account_number
    ])?;
    // A job HQ moved to another customer. Only then is the foreign key
    // written on an existing job: a statement that may set one opens a
    // savepoint, which costs the search index a write per job (`search`).
    if let Some(stored) = stored.as_ref().filter(|s| s.customer_id != customer_id) {
        conn.prepare_cached("UPDATE jobs SET customer_id = ?2 WHERE rowid = ?1")?
            .execute(params![stored.rowid, customer_id])?;
    }
    conn.prepare_cached(
        "INSERT INTO jobs (id, customer_id, job_type, sub_case, fault_description,
             window_start, window_end, status, search_text, visit, repeat_of, reported_at,
             due_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET job_type = excluded.job_type,
             sub_case = excluded.sub_case, fault_description = excluded.fault_description,
             window_start = excluded.window_start, window_end = excluded.window_end,
             status = excluded.status, search_text = excluded.search_text,
             visit = excluded.visit, repeat_of = excluded.repeat_of,
             reported_at = excluded.reported_at, due_by = excluded.due_by,
             reassigned_away = 0",
    )?
    .execute(params![
        job.id.to_string(),
        customer_id,
        enum_to_sql(&job.job_type),
        enum_to_sql(&job.sub_case),
        job.fault_description,
        time_to_sql(&job.window_start),
        time_to_sql(&job.window_end),
        enum_to_sql(&job.status),
        text,
        job.visit,
        job.repeat_of.map(|id| id.to_string()),
        job.reported_at.as_ref().map(time_to_sql),
        job.due_by.as_ref().map(time_to_sql),
    ])?;
    match stored {
        Some(stored) => index_search_text(conn, stored.rowid, Some(&stored.search_text), &text)?,
        // A new row: the insert's rowid (RETURNING would open a savepoint).
        None => index_search_text(conn, conn.last_insert_rowid(), None, &text)?,
    }
    rename_customer_jobs(conn, job.customer.id, &text)?;
    conn.prepare_cached("DELETE FROM earlier_visits WHERE job_id = ?1")?
        .execute([job.id.to_string()])?;
    for (position, visit) in job.earlier_visits.iter().enumerate() {
        conn.prepare_cached(
            "INSERT INTO earlier_visits (job_id, position, date, summary) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            job.id.to_string(),
            position as i64,
            visit.date.to_string(),
            visit.summary
        ])?;
    }
    Ok(())
}

impl Store {
    /// Stores jobs as dispatched (from HQ, or the demo set), in one transaction.
    pub fn upsert_jobs(&mut self, jobs: &[Job]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for job in jobs {
            upsert_job(&tx, job)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The story HQ last sent of the job's customer (standard item 22);
    /// none before a pull brought one.
    pub fn customer_story(&self, job: JobId) -> Result<Option<CustomerStory>, StoreError> {
        let story: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT c.story FROM jobs j JOIN customers c ON c.id = j.customer_id
                 WHERE j.id = ?1",
                [job.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        match story {
            None => Err(StoreError::NotFound(job.to_string())),
            Some(story) => story.as_deref().map(json_from_sql).transpose(),
        }
    }

    /// Where the Today list ends at `now`: the start of tomorrow in the
    /// operator's time zone, whatever zone the laptop is set to, so the
    /// technician's day is the dispatcher's.
    pub fn today_ends(&self, now: Timestamp) -> Result<Timestamp, StoreError> {
        Ok(zone::end_of_today(now, self.time_zone()?))
    }

    pub fn job_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM jobs", [], |row| row.get(0))?)
    }

    /// A page of the job list for a tab, or of a search across all jobs,
    /// starting after `after` (the first page when none).
    /// `tomorrow_start` is where today ends (`today_ends`);
    /// `now` judges which rows are overdue.
    pub fn list_jobs(
        &self,
        filter: &JobFilter,
        tomorrow_start: Timestamp,
        now: Timestamp,
        after: Option<&ListCursor>,
    ) -> Result<JobPage, StoreError> {
        let query = filter.query.trim().to_lowercase();
        const CLOSED: &str = "j.status IN ('completed', 'rescheduled', 'cancelled')";
        let tomorrow = time_to_sql(&tomorrow_start);
        let (mut condition, order, mut bound): (String, &str, Vec<String>) = if !query.is_empty() {
            let (condition, bound) =
                search_condition(&self.conn, &self.search_texts, &query, after)?;
            (condition, "DESC", vec![bound])
        } else {
            match filter.tab {
                Tab::Today => (
                    format!("NOT {CLOSED} AND j.window_start < ?1"),
                    "ASC",
                    vec![tomorrow],
                ),
                Tab::Upcoming => (
                    format!("NOT {CLOSED} AND j.window_start >= ?1"),
                    "ASC",
                    vec![tomorrow],
                ),
                Tab::Done => (CLOSED.into(), "DESC", vec![]),
            }
        };
        if let Some(after) = after {
            let beyond = if order == "ASC" { ">" } else { "<" };
            let (start, id) = (bound.len() + 1, bound.len() + 2);
            condition.push_str(&format!(
                " AND (j.window_start, j.id) {beyond} (?{start}, ?{id})"
            ));
            bound.push(time_to_sql(&after.window_start));
            bound.push(after.id.to_string());
        }
        // One row past the page says whether another page follows.
        let sql = format!(
            "SELECT j.id, c.name, c.address, c.phone, j.job_type, j.sub_case,
                    j.window_start, j.window_end, j.status, j.step, j.repeat_of IS NOT NULL,
                    j.due_by
             FROM jobs j JOIN customers c ON c.id = j.customer_id
             WHERE {condition}
             ORDER BY j.window_start {order}, j.id {order} LIMIT {}",
            LIST_PAGE + 1
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(bound), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, String>(8)?,
                row.get::<_, String>(9)?,
                row.get::<_, bool>(10)?,
                row.get::<_, Option<String>>(11)?,
            ))
        })?;
        let mut jobs = Vec::new();
        for row in rows {
            let (
                id,
                name,
                address,
                phone,
                job_type,
                sub_case,
                start,
                end,
                status,
                step,
                repeat,
                due,
            ) = row?;
            let window_end = time_from_sql(&end)?;
            let due_by = due.as_deref().map(time_from_sql).transpose()?;
            let status = enum_from_sql(&status)?;
            jobs.push(JobSummary {
                id: id
                    .parse()
                    .map_err(|e: uuid::Error| StoreError::Corrupt(e.to_string()))?,
                customer_name: name,
                address,
                phone,
                job_type: enum_from_sql(&job_type)?,
                sub_case: enum_from_sql(&sub_case)?,
                window_start: time_from_sql(&start)?,
                window_end,
                status,
                step: enum_from_sql(&step)?,
                overdue: is_overdue(status, window_end, now),
                repeat_fault: repeat,
                past_target: is_past_target(status, due_by, now),
            });
        }
        let next = if jobs.len() > LIST_PAGE {
            jobs.truncate(LIST_PAGE);
            jobs.last().map(|last| ListCursor {
                window_start: last.window_start,
                id: last.id,
            })
        } else {
            None
        };
        Ok(JobPage { jobs, next })
    }
}
