//! Customers: matching a new job's customer (`rules::match_customer`
//! decides; this reads the candidates and writes what it returns), a
//! customer's history, finding customers, their VIP grade. Matching runs
//! after the job has taken the change counter, whose row lock serializes
//! dispatch writes: two jobs for one new customer cannot both create them.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::{CustomerId, Job, JobId, Timestamp, VipGrade};
use tokio_postgres::Row;
use uuid::Uuid;

use super::audit::write_audit;
use super::complaints::taken_at_hq;
use super::rows::{job_ops, next_change, read_job, JOB_COLUMNS};
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{AuditRecord, CustomerHistory, CustomerRecord, DispatchedJob, HistoryJob};
use crate::rules::{self, CustomerMatch, KnownCustomer};
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::CustomerStore;

const CUSTOMER_COLUMNS: &str = "id, account_number, name, phone, address, vip_grade, created_at";

fn read_customer(row: &Row) -> HqResult<CustomerRecord> {
    Ok(CustomerRecord {
        id: CustomerId(row.try_get(0)?),
        account_number: row.try_get(1)?,
        name: row.try_get(2)?,
        phone: row.try_get(3)?,
        address: row.try_get(4)?,
        vip_grade: enum_parse(row.try_get(5)?)?,
        created_at: row.try_get(6)?,
    })
}

/// Matches the job's customer among those HQ holds, or creates them under
/// the job's customer id, and points the job at whom it found.
pub(super) async fn match_customer<C: GenericClient>(
    client: &C,
    job: &mut Job,
    now: Timestamp,
) -> HqResult<()> {
    let account = rules::account_number(job.customer.account_number.as_deref());
    let key = rules::phone_key(&job.customer.phone);
    let candidates = client
        .query(
            "SELECT id, account_number, phone_key FROM customers
             WHERE id = $1 OR account_number = $2 OR (phone_key = $3 AND $3 <> '')",
            &[&job.customer.id.0, &account, &key],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(KnownCustomer {
                id: CustomerId(row.try_get(0)?),
                account_number: row.try_get(1)?,
                phone_key: row.try_get(2)?,
            })
        })
        .collect::<HqResult<Vec<_>>>()?;
    match rules::match_customer(job.customer.id, account.as_deref(), &key, &candidates) {
        CustomerMatch::Existing { id, adopt_account } => {
            if adopt_account {
                client
                    .execute(
                        "UPDATE customers SET account_number = $2 WHERE id = $1",
                        &[&id.0, &account],
                    )
                    .await?;
            }
            job.customer.id = id;
        }
        CustomerMatch::New => {
            client
                .execute(
                    "INSERT INTO customers (id, account_number, name, phone, phone_key, address,
                         created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &job.customer.id.0,
                        &account,
                        &job.customer.name,
                        &job.customer.phone,
                        &key,
                        &job.customer.address,
                        &now,
                    ],
                )
                .await?;
        }
    }
    job.customer.account_number = account;
    Ok(())
}

async fn customer<C: GenericClient>(client: &C, id: Uuid) -> HqResult<Option<CustomerRecord>> {
    client
        .query_opt(
            &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(read_customer)
        .transpose()
}

/// The customer's history: their record and every job with its op log.
pub(super) async fn history<C: GenericClient>(
    client: &C,
    id: CustomerId,
) -> HqResult<Option<CustomerHistory>> {
    let Some(customer) = customer(client, id.0).await? else {
        return Ok(None);
    };
    let dispatched = client
        .query(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE customer_id = $1 ORDER BY window_start, id"
            ),
            &[&id.0],
        )
        .await?
        .iter()
        .map(read_job)
        .collect::<HqResult<Vec<_>>>()?;
    let mut jobs = Vec::with_capacity(dispatched.len());
    for dispatch in dispatched {
        let ops = job_ops(client, JobId(dispatch.job.id.0)).await?;
        jobs.push(HistoryJob { dispatch, ops });
    }
    let hq_complaints = taken_at_hq(client, id).await?;
    Ok(Some(CustomerHistory {
        customer,
        jobs,
        hq_complaints,
    }))
}

#[async_trait]
impl CustomerStore for PostgresStorage {
    async fn customer_history(&self, id: CustomerId) -> HqResult<Option<CustomerHistory>> {
        let mut client = self.pool.get().await?;
        // One snapshot for the customer and their jobs' op logs.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let found = history(&tx, id).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn customer_jobs(
        &self,
        customers: &[CustomerId],
        from: Timestamp,
        to: Timestamp,
    ) -> HqResult<Vec<DispatchedJob>> {
        let client = self.pool.get().await?;
        let ids: Vec<Uuid> = customers.iter().map(|c| c.0).collect();
        client
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE customer_id = ANY($1) AND window_start >= $2 AND window_start < $3"
                ),
                &[&ids, &from, &to],
            )
            .await?
            .iter()
            .map(read_job)
            .collect()
    }

    async fn find_customers(&self, text: &str, limit: u32) -> HqResult<Vec<CustomerRecord>> {
        let client = self.pool.get().await?;
        let pattern = format!("%{}%", like_escaped(text.trim()));
        client
            .query(
                &format!(
                    "SELECT {CUSTOMER_COLUMNS} FROM customers
                     WHERE name ILIKE $1 OR phone ILIKE $1 OR account_number ILIKE $1
                     ORDER BY name, id LIMIT $2"
                ),
                &[&pattern, &i64::from(limit)],
            )
            .await?
            .iter()
            .map(read_customer)
            .collect()
    }

    async fn set_vip_grade(
        &self,
        id: CustomerId,
        grade: VipGrade,
        audit: &AuditRecord,
    ) -> HqResult<CustomerRecord> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute(
                "UPDATE customers SET vip_grade = $2 WHERE id = $1",
                &[&id.0, &enum_text(&grade)],
            )
            .await?;
        if changed == 0 {
            return Err(HqError::NotFound(format!("customer {id}")));
        }
        // Jobs still open go out again with the grade; a closed one is left
        // alone (the laptop may have let it go after retention).
        let open: Vec<Uuid> = tx
            .query(
                "SELECT id FROM jobs WHERE customer_id = $1
                     AND status IN ('scheduled', 'in_progress') ORDER BY id FOR UPDATE",
                &[&id.0],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        for job in open {
            let seq = next_change(&tx).await?;
            tx.execute(
                "UPDATE jobs SET change_seq = $2 WHERE id = $1",
                &[&job, &seq],
            )
            .await?;
        }
        write_audit(&tx, audit).await?;
        let out = customer(&tx, id.0)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("customer {id}")))?;
        tx.commit().await?;
        Ok(out)
    }
}

/// `text` with LIKE's wildcards taken literally (backslash is
/// PostgreSQL's default escape).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
