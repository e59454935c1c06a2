//! Customers: matching a new job's customer (`rules::match_customer`
//! decides; this reads the candidates and writes what it returns), a
//! customer's history, finding customers, their VIP grade. Matching runs
//! after the job has taken the change counter, whose row lock serializes
//! dispatch writes: two jobs for one new customer cannot both create them.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use doorstep_core::{ComplaintRecord, CustomerId, Job, JobId, Timestamp, VipGrade};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;
use uuid::Uuid;

use super::audit::write_audit;
use super::complaints::{read_taken_at_hq, taken_at_hq_sql};
use super::rows::{next_change, read_job, read_op, statement, JOB_COLUMNS, OP_COLUMNS};
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{
    AuditRecord, CustomerHistory, CustomerRecord, DispatchedJob, HistoryJob, StoredOp,
};
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

/// The customers' histories, in id order: each one's record and every job
/// with its op log, and the complaints taken at HQ. Four statements in one
/// round trip however many customers: a depot's morning pull names a
/// thousand, each with a job or more.
pub(super) async fn histories(
    client: &Transaction<'_>,
    ids: &[CustomerId],
) -> HqResult<Vec<CustomerHistory>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let customers = statement(
        client,
        &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1) ORDER BY id"),
    )
    .await?;
    let jobs = statement(
        client,
        &format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE customer_id = ANY($1) ORDER BY window_start, id"
        ),
    )
    .await?;
    let ops = format!(
        "SELECT {OP_COLUMNS} FROM ops o JOIN devices d ON d.id = o.device_id
         WHERE o.job_id IN (SELECT id FROM jobs WHERE customer_id = ANY($1))
         ORDER BY o.id"
    );
    let complaints = statement(client, &taken_at_hq_sql()).await?;
    let of_ids: [&(dyn ToSql + Sync); 1] = [&ids];
    let typed_ids = [(of_ids[0], Type::UUID_ARRAY)];
    let (customers, jobs, ops, complaints) = tokio::try_join!(
        client.query(&customers, &of_ids),
        client.query(&jobs, &of_ids),
        client.query_typed(&ops, &typed_ids),
        client.query(&complaints, &of_ids),
    )?;
    let mut ops_of: HashMap<JobId, Vec<StoredOp>> = HashMap::new();
    for row in &ops {
        let op = read_op(row)?;
        ops_of.entry(op.job_id).or_default().push(op);
    }
    let mut jobs_of: HashMap<CustomerId, Vec<HistoryJob>> = HashMap::new();
    for row in &jobs {
        let dispatch = read_job(row)?;
        let ops = ops_of.remove(&dispatch.job.id).unwrap_or_default();
        jobs_of
            .entry(dispatch.job.customer.id)
            .or_default()
            .push(HistoryJob { dispatch, ops });
    }
    let mut complaints_of: HashMap<CustomerId, Vec<ComplaintRecord>> = HashMap::new();
    for row in &complaints {
        let (customer, complaint) = read_taken_at_hq(row)?;
        complaints_of.entry(customer).or_default().push(complaint);
    }
    customers
        .iter()
        .map(|row| {
            let customer = read_customer(row)?;
            Ok(CustomerHistory {
                jobs: jobs_of.remove(&customer.id).unwrap_or_default(),
                hq_complaints: complaints_of.remove(&customer.id).unwrap_or_default(),
                customer,
            })
        })
        .collect()
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
        let found = histories(&tx, &[id]).await?.pop();
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
