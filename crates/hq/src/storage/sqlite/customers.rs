//! Customers: matching a new job's customer (`rules::match_customer`
//! decides; this reads the candidates and writes what it returns), a
//! customer's history, finding customers, their VIP grade.

use async_trait::async_trait;
use doorstep_core::{CustomerId, Job, Timestamp, VipGrade};
use rusqlite::{params, Connection, Row, Transaction};

use super::audit::write_audit;
use super::complaints::taken_at_hq;
use super::rows::{collect, id, job_ops, next_change, parse_ts, read_job, ts, JOB_COLUMNS};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{AuditRecord, CustomerHistory, CustomerRecord, DispatchedJob, HistoryJob};
use crate::rules::{self, CustomerMatch, KnownCustomer};
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::CustomerStore;

const CUSTOMER_COLUMNS: &str = "id, account_number, name, phone, address, vip_grade, created_at";

fn read_customer(row: &Row) -> HqResult<CustomerRecord> {
    Ok(CustomerRecord {
        id: id(&row.get::<_, String>(0)?)?,
        account_number: row.get(1)?,
        name: row.get(2)?,
        phone: row.get(3)?,
        address: row.get(4)?,
        vip_grade: enum_parse(&row.get::<_, String>(5)?)?,
        created_at: parse_ts(&row.get::<_, String>(6)?)?,
    })
}

/// Matches the job's customer among those HQ holds, or creates them under
/// the job's customer id, and points the job at whom it found.
pub(super) fn match_customer(tx: &Transaction, job: &mut Job, now: Timestamp) -> HqResult<()> {
    let account = rules::account_number(job.customer.account_number.as_deref());
    let key = rules::phone_key(&job.customer.phone);
    let candidates = collect(
        tx,
        "SELECT id, account_number, phone_key FROM customers
         WHERE id = ?1 OR account_number = ?2 OR (phone_key = ?3 AND ?3 <> '')",
        params![job.customer.id.to_string(), account, key],
        |row| {
            Ok(KnownCustomer {
                id: id(&row.get::<_, String>(0)?)?,
                account_number: row.get(1)?,
                phone_key: row.get(2)?,
            })
        },
    )?;
    match rules::match_customer(job.customer.id, account.as_deref(), &key, &candidates) {
        CustomerMatch::Existing { id, adopt_account } => {
            if adopt_account {
                tx.execute(
                    "UPDATE customers SET account_number = ?2 WHERE id = ?1",
                    params![id.to_string(), account],
                )?;
            }
            job.customer.id = id;
        }
        CustomerMatch::New => {
            tx.execute(
                "INSERT INTO customers (id, account_number, name, phone, phone_key, address,
                     created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    job.customer.id.to_string(),
                    account,
                    job.customer.name,
                    job.customer.phone,
                    key,
                    job.customer.address,
                    ts(&now)
                ],
            )?;
        }
    }
    job.customer.account_number = account;
    Ok(())
}

fn customer(conn: &Connection, customer: &str) -> HqResult<Option<CustomerRecord>> {
    Ok(collect(
        conn,
        &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?1"),
        [customer],
        read_customer,
    )?
    .pop())
}

/// The customer's history: their record and every job with its op log.
pub(super) fn history(conn: &Connection, customer_id: &str) -> HqResult<Option<CustomerHistory>> {
    let Some(customer) = customer(conn, customer_id)? else {
        return Ok(None);
    };
    let jobs = collect(
        conn,
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE customer_id = ?1 ORDER BY window_start, id"),
        [customer_id],
        read_job,
    )?
    .into_iter()
    .map(|dispatch| {
        let ops = job_ops(conn, &dispatch.job.id.to_string())?;
        Ok(HistoryJob { dispatch, ops })
    })
    .collect::<HqResult<Vec<_>>>()?;
    let hq_complaints = taken_at_hq(conn, customer_id)?;
    Ok(Some(CustomerHistory {
        customer,
        jobs,
        hq_complaints,
    }))
}

#[async_trait]
impl CustomerStore for SqliteStorage {
    async fn customer_history(&self, id: CustomerId) -> HqResult<Option<CustomerHistory>> {
        self.read(move |conn| history(conn, &id.to_string())).await
    }

    async fn customer_jobs(
        &self,
        customers: &[CustomerId],
        from: Timestamp,
        to: Timestamp,
    ) -> HqResult<Vec<DispatchedJob>> {
        let customers: Vec<String> = customers.iter().map(|c| c.to_string()).collect();
        self.read(move |conn| {
            let mut jobs = Vec::new();
            for customer in &customers {
                jobs.extend(collect(
                    conn,
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs
                         WHERE customer_id = ?1 AND window_start >= ?2 AND window_start < ?3"
                    ),
                    params![customer, ts(&from), ts(&to)],
                    read_job,
                )?);
            }
            Ok(jobs)
        })
        .await
    }

    async fn find_customers(&self, text: &str, limit: u32) -> HqResult<Vec<CustomerRecord>> {
        let pattern = format!("%{}%", like_escaped(text.trim()));
        self.read(move |conn| {
            collect(
                conn,
                &format!(
                    "SELECT {CUSTOMER_COLUMNS} FROM customers
                     WHERE name LIKE ?1 ESCAPE '\\' OR phone LIKE ?1 ESCAPE '\\'
                         OR account_number LIKE ?1 ESCAPE '\\'
                     ORDER BY name, id LIMIT ?2"
                ),
                params![pattern, limit],
                read_customer,
            )
        })
        .await
    }

    async fn set_vip_grade(
        &self,
        customer_id: CustomerId,
        grade: VipGrade,
        audit: &AuditRecord,
    ) -> HqResult<CustomerRecord> {
        let audit = audit.clone();
        self.write(move |tx| {
            let key = customer_id.to_string();
            let changed = tx.execute(
                "UPDATE customers SET vip_grade = ?2 WHERE id = ?1",
                params![key, enum_text(&grade)],
            )?;
            if changed == 0 {
                return Err(HqError::NotFound(format!("customer {customer_id}")));
            }
            // Jobs still open go out again with the grade; a closed one is
            // left alone (the laptop may have let it go after retention).
            let open: Vec<String> = collect(
                tx,
                "SELECT id FROM jobs WHERE customer_id = ?1
                     AND status IN ('scheduled', 'in_progress')",
                [&key],
                |row| Ok(row.get::<_, String>(0)?),
            )?;
            for job in open {
                let seq = next_change(tx)?;
                tx.execute(
                    "UPDATE jobs SET change_seq = ?2 WHERE id = ?1",
                    params![job, seq],
                )?;
            }
            write_audit(tx, &audit)?;
            customer(tx, &key)?.ok_or_else(|| HqError::NotFound(format!("customer {key}")))
        })
        .await
    }
}

/// `text` with LIKE's wildcards taken literally.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
