//! A visit's records: loading them, and applying one change with its outbox entry.

use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::signature::{sha256_hex, ServiceForm};
use doorstep_core::{
    CallLog, Customer, EarlierVisit, Job, JobId, Lead, PastVisit, Photo, PhotoKind, RecordId,
    Replacement, Signature, Timestamp, VisitRecord,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{
    enum_from_sql, enum_to_sql, id_from_sql, json_from_sql, json_to_sql, time_from_sql, time_to_sql,
};
use crate::{outbox, settings, Store, StoreError};

/// Reads blobs on a connection of its own (see `Store::blob_reader`), mapped
/// into memory: for a sync (dropped when the sync ends, and the mapped pages
/// with it), and for the web view's photos and signatures, so that neither
/// waits on the store's lock nor fills the store's own page cache, kept
/// large for searches, with image pages.
pub struct BlobReader {
    conn: Connection,
}

impl BlobReader {
    /// Of these blobs, the ones HQ is not yet known to hold, with their sizes.
    /// One read transaction for all of them.
    pub fn not_on_hq(&mut self, hashes: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut lookup = tx.prepare_cached(
            "SELECT length(bytes), EXISTS (SELECT 1 FROM sync_blobs_sent s WHERE s.hash = b.hash)
             FROM blobs b WHERE hash = ?1",
        )?;
        let mut out = Vec::new();
        for hash in hashes {
            let (size, on_hq) = lookup
                .query_row([hash], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, bool>(1)?))
                })
                .optional()?
                .ok_or_else(|| StoreError::Corrupt(format!("blob {hash} is missing")))?;
            if !on_hq {
                out.push((hash.clone(), size as u64));
            }
        }
        Ok(out)
    }

    /// One blob, with its type.
    pub fn blob(&self, hash: &str) -> Result<StoredBlob, StoreError> {
        read_blob(&self.conn, hash)
    }

    /// The bytes of these blobs, in the order asked, read in one transaction
    /// (a depot sync reads thousands).
    pub fn blobs(&mut self, hashes: &[String]) -> Result<Vec<Vec<u8>>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut read = tx.prepare_cached("SELECT bytes FROM blobs WHERE hash = ?1")?;
        hashes
            .iter()
            .map(|hash| {
                read.query_row([hash], |row| row.get(0))
                    .optional()?
                    .ok_or_else(|| StoreError::NotFound(hash.to_string()))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub mime: String,
    pub bytes: Vec<u8>,
}

fn read_blob(conn: &Connection, hash: &str) -> Result<StoredBlob, StoreError> {
    conn.prepare_cached("SELECT mime, bytes FROM blobs WHERE hash = ?1")?
        .query_row([hash], |row| {
            Ok(StoredBlob {
                mime: row.get(0)?,
                bytes: row.get(1)?,
            })
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound(hash.to_string()))
}

/// Every row `sql` returns for one job, each read by `read`.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    job_id: &str,
    read: impl Fn(&rusqlite::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut cursor = statement.query([job_id])?;
    let mut out = Vec::new();
    while let Some(row) = cursor.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

fn section<T: DeserializeOwned + Default>(
    conn: &Connection,
    job_id: &str,
    name: &str,
) -> Result<T, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM visit_sections WHERE job_id = ?1 AND section = ?2",
            [job_id, name],
            |row| row.get(0),
        )
        .optional()?;
    match body {
        Some(body) => json_from_sql(&body),
        None => Ok(T::default()),
    }
}

fn save_section<T: Serialize>(
    conn: &Connection,
    job_id: &str,
    name: &str,
    body: &T,
    now: &Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO visit_sections (job_id, section, body, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(job_id, section) DO UPDATE SET body = excluded.body,
             updated_at = excluded.updated_at",
        params![job_id, name, json_to_sql(body), time_to_sql(now)],
    )?;
    Ok(())
}

fn load_job(conn: &Connection, id: &str) -> Result<(Job, String, Option<String>), StoreError> {
    let row = conn
        .query_row(
            "SELECT c.id, c.name, c.phone, c.address, j.job_type, j.sub_case,
                    j.fault_description, j.window_start, j.window_end, j.status, j.step,
                    j.completed_at, j.visit, c.account_number, j.repeat_of,
                    j.reported_at, j.due_by
             FROM jobs j JOIN customers c ON c.id = j.customer_id WHERE j.id = ?1",
            [id],
            |row| {
                Ok((
                    [
                        row.get::<_, String>(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                        row.get(8)?,
                        row.get(9)?,
                        row.get(10)?,
                    ],
                    row.get::<_, Option<String>>(11)?,
                    row.get::<_, u32>(12)?,
                    row.get::<_, Option<String>>(13)?,
                    row.get::<_, Option<String>>(14)?,
                    [
                        row.get::<_, Option<String>>(15)?,
                        row.get::<_, Option<String>>(16)?,
                    ],
                ))
            },
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    let (
        [cid, name, phone, address, job_type, sub_case, fault, start, end, status, step],
        done,
        visit,
        account_number,
        repeat_of,
        [reported_at, due_by],
    ) = row;
    let earlier_visits = rows(
        conn,
        "SELECT date, summary FROM earlier_visits WHERE job_id = ?1 ORDER BY position",
        id,
        |row| {
            let date: String = row.get(0)?;
            Ok(EarlierVisit {
                date: date
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("bad date {date}")))?,
                summary: row.get(1)?,
            })
        },
    )?;
    let job = Job {
        id: id_from_sql(id)?,
        customer: Customer {
            id: id_from_sql(&cid)?,
            name,
            phone,
            address,
            account_number,
        },
        job_type: enum_from_sql(&job_type)?,
        sub_case: enum_from_sql(&sub_case)?,
        fault_description: fault,
        window_start: time_from_sql(&start)?,
        window_end: time_from_sql(&end)?,
        status: enum_from_sql(&status)?,
        earlier_visits,
        visit,
        repeat_of: repeat_of.as_deref().map(id_from_sql).transpose()?,
        reported_at: reported_at.as_deref().map(time_from_sql).transpose()?,
        due_by: due_by.as_deref().map(time_from_sql).transpose()?,
    };
    Ok((job, step, done))
}

pub(crate) fn load_visit(conn: &Connection, job_id: JobId) -> Result<VisitRecord, StoreError> {
    let id = job_id.to_string();
    let (job, step, completed_at) = load_job(conn, &id)?;
    let mut visit = VisitRecord::new(job);
    visit.step = enum_from_sql(&step)?;
    visit.completed_at = completed_at.as_deref().map(time_from_sql).transpose()?;
    visit.departure = section(conn, &id, "departure")?;
    visit.arrival = section(conn, &id, "arrival")?;
    visit.kit = section(conn, &id, "kit")?;
    visit.work = section(conn, &id, "work")?;
    visit.fees = section(conn, &id, "fees")?;
    visit.communicate = section(conn, &id, "communicate")?;
    visit.feedback = section(conn, &id, "feedback")?;
    visit.cleanup = section(conn, &id, "cleanup")?;
    visit.reschedule = section(conn, &id, "reschedule")?;
    visit.support_request = section(conn, &id, "support")?;
    visit.complaints = section(conn, &id, "complaints")?;
    visit.payment = section(conn, &id, "payment")?;

    visit.call_logs = rows(
        conn,
        "SELECT id, at, outcome, note, duration_seconds FROM call_logs WHERE job_id = ?1
         ORDER BY at, rowid",
        &id,
        |row| {
            Ok(CallLog {
                id: id_from_sql(&row.get::<_, String>(0)?)?,
                at: time_from_sql(&row.get::<_, String>(1)?)?,
                outcome: enum_from_sql(&row.get::<_, String>(2)?)?,
                note: row.get(3)?,
                duration_seconds: row.get(4)?,
            })
        },
    )?;
    visit.replacements = rows(
        conn,
        "SELECT id, item, old_serial, new_serial, told_in_advance, consent
         FROM replacements WHERE job_id = ?1 ORDER BY rowid",
        &id,
        |row| {
            Ok(Replacement {
                id: id_from_sql(&row.get::<_, String>(0)?)?,
                item: enum_from_sql(&row.get::<_, String>(1)?)?,
                old_serial: row.get(2)?,
                new_serial: row.get(3)?,
                told_in_advance: row.get(4)?,
                consent: row.get(5)?,
            })
        },
    )?;
    visit.leads = rows(
        conn,
        "SELECT id, product, interest, note, follow_up_at, contacts
         FROM leads WHERE job_id = ?1 ORDER BY rowid",
        &id,
        lead_from_row,
    )?;
    visit.photos = rows(
        conn,
        "SELECT id, kind, blob_hash, width, height, added_at FROM photos
         WHERE job_id = ?1 ORDER BY added_at, rowid",
        &id,
        |row| {
            Ok(Photo {
                id: id_from_sql(&row.get::<_, String>(0)?)?,
                kind: enum_from_sql(&row.get::<_, String>(1)?)?,
                blob_hash: row.get(2)?,
                width: row.get(3)?,
                height: row.get(4)?,
                added_at: time_from_sql(&row.get::<_, String>(5)?)?,
            })
        },
    )?;
    visit.signature = rows(
        conn,
        "SELECT signed_content_hash, png_hash, strokes_hash, width, height, signed_at
         FROM signatures WHERE job_id = ?1",
        &id,
        |row| {
            Ok(Signature {
                signed_content_hash: row.get(0)?,
                png_hash: row.get(1)?,
                strokes_hash: row.get(2)?,
                width: row.get(3)?,
                height: row.get(4)?,
                signed_at: time_from_sql(&row.get::<_, String>(5)?)?,
            })
        },
    )?
    .pop();
    Ok(visit)
}

/// Ends the job's current visit on the laptop when HQ has started the next
/// one: what was recorded is kept as a snapshot (`past_visits`) and the
/// visit's own records are cleared, so the next visit starts at the phone
/// step with empty forms. Blobs stay: the snapshot, and any outbox entry
/// still pending from the earlier visit, name them. The step log and the
/// conflicts are the job's history and stay too.
pub(crate) fn archive_visit(tx: &Transaction, job_id: JobId) -> Result<(), StoreError> {
    let record = load_visit(tx, job_id)?;
    let id = job_id.to_string();
    let rescheduled_at: Option<String> = tx
        .query_row(
            "SELECT updated_at FROM visit_sections WHERE job_id = ?1 AND section = 'reschedule'",
            [&id],
            |row| row.get(0),
        )
        .optional()?;
    let closed_at = record
        .completed_at
        .as_ref()
        .map(time_to_sql)
        .or(rescheduled_at);
    tx.execute(
        "INSERT INTO past_visits (job_id, visit, record, closed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(job_id, visit) DO NOTHING",
        params![id, record.job.visit, json_to_sql(&record), closed_at],
    )?;
    for table in [
        "visit_sections",
        "call_logs",
        "replacements",
        "leads",
        "photos",
        "signatures",
        "sync_receipts",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [&id])?;
    }
    tx.execute(
        "UPDATE jobs SET step = 'phone', completed_at = NULL WHERE id = ?1",
        [&id],
    )?;
    Ok(())
}

/// A lead as `load_visit` and the leads list read it (columns: id, product,
/// interest, note, follow_up_at, contacts).
pub(crate) fn lead_from_row(row: &rusqlite::Row) -> Result<Lead, StoreError> {
    let follow_up_at: Option<String> = row.get(4)?;
    Ok(Lead {
        id: id_from_sql(&row.get::<_, String>(0)?)?,
        product: row.get(1)?,
        interest: enum_from_sql(&row.get::<_, String>(2)?)?,
        note: row.get(3)?,
        follow_up_at: follow_up_at
            .map(|t| chrono::DateTime::parse_from_rfc3339(&t).map_err(|_| StoreError::Corrupt(t)))
            .transpose()?,
        contacts: json_from_sql(&row.get::<_, String>(5)?)?,
    })
}

fn save_lead(
    tx: &Transaction,
    job_id: &str,
    visit: &VisitRecord,
    lead_id: RecordId,
) -> Result<(), StoreError> {
    let Some(lead) = visit.leads.iter().find(|l| l.id == lead_id) else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO leads (id, job_id, product, interest, note, follow_up_at, contacts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET product = excluded.product,
             interest = excluded.interest, note = excluded.note,
             follow_up_at = excluded.follow_up_at, contacts = excluded.contacts",
        params![
            lead.id.to_string(),
            job_id,
            lead.product,
            enum_to_sql(&lead.interest),
            lead.note,
            lead.follow_up_at.map(|t| t.to_rfc3339()),
            json_to_sql(&lead.contacts)
        ],
    )?;
    Ok(())
}

/// Writes what `change` altered in `visit` (already applied in memory).
fn persist(
    tx: &Transaction,
    visit: &VisitRecord,
    change: &Change,
    now: &Timestamp,
) -> Result<(), StoreError> {
    let id = visit.job.id.to_string();
    match change {
        Change::SetStep(step) => {
            tx.execute(
                "INSERT INTO step_log (job_id, step, at) VALUES (?1, ?2, ?3)",
                params![id, enum_to_sql(step), time_to_sql(now)],
            )?;
        }
        Change::LogCall(call) => {
            tx.execute(
                "INSERT INTO call_logs (id, job_id, at, outcome, note, duration_seconds)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET at = excluded.at, outcome = excluded.outcome,
                     note = excluded.note, duration_seconds = excluded.duration_seconds",
                params![
                    call.id.to_string(),
                    id,
                    time_to_sql(&call.at),
                    enum_to_sql(&call.outcome),
                    call.note,
                    call.duration_seconds
                ],
            )?;
        }
        Change::SaveDeparture(body) => save_section(tx, &id, "departure", body, now)?,
        // What core kept (the first arrival and its corrections), not the body sent.
        Change::SaveArrival(_) => save_section(tx, &id, "arrival", &visit.arrival, now)?,
        Change::SaveKit(body) => save_section(tx, &id, "kit", body, now)?,
        Change::SaveWork(body) => save_section(tx, &id, "work", body, now)?,
        Change::SetFees(body) => save_section(tx, &id, "fees", body, now)?,
        Change::SaveCommunicate(body) => save_section(tx, &id, "communicate", body, now)?,
        Change::SaveFeedback(body) => save_section(tx, &id, "feedback", body, now)?,
        Change::SaveCleanup(body) => save_section(tx, &id, "cleanup", body, now)?,
        Change::Reschedule(body) => save_section(tx, &id, "reschedule", body, now)?,
        Change::SavePayment(body) => save_section(tx, &id, "payment", body, now)?,
        Change::AddReplacement(r) => {
            tx.execute(
                "INSERT INTO replacements (id, job_id, item, old_serial, new_serial,
                     told_in_advance, consent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET item = excluded.item,
                     old_serial = excluded.old_serial, new_serial = excluded.new_serial,
                     told_in_advance = excluded.told_in_advance, consent = excluded.consent",
                params![
                    r.id.to_string(),
                    id,
                    enum_to_sql(&r.item),
                    r.old_serial,
                    r.new_serial,
                    r.told_in_advance,
                    r.consent
                ],
            )?;
        }
        Change::RemoveReplacement(record) => {
            tx.execute(
                "DELETE FROM replacements WHERE id = ?1 AND job_id = ?2",
                params![record.to_string(), id],
            )?;
        }
        // What core kept (the calls logged, the reminder moved into the
        // call windows), not the body sent.
        Change::AddLead(lead) => save_lead(tx, &id, visit, lead.id)?,
        Change::LogLeadContact(contact) => save_lead(tx, &id, visit, contact.lead_id)?,
        Change::RemoveLead(record) => {
            tx.execute(
                "DELETE FROM leads WHERE id = ?1 AND job_id = ?2",
                params![record.to_string(), id],
            )?;
        }
        Change::AddPhoto(photo) => {
            tx.execute(
                "INSERT INTO photos (id, job_id, kind, blob_hash, width, height, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
                params![
                    photo.id.to_string(),
                    id,
                    enum_to_sql(&photo.kind),
                    photo.blob_hash,
                    photo.width,
                    photo.height,
                    time_to_sql(&photo.added_at)
                ],
            )?;
        }
        Change::RemovePhoto(record) => {
            tx.execute(
                "DELETE FROM photos WHERE id = ?1 AND job_id = ?2",
                params![record.to_string(), id],
            )?;
        }
        Change::Sign(sig) => {
            tx.execute(
                "INSERT INTO signatures (job_id, signed_content_hash, png_hash, strokes_hash,
                     width, height, signed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(job_id) DO UPDATE SET
                     signed_content_hash = excluded.signed_content_hash,
                     png_hash = excluded.png_hash, strokes_hash = excluded.strokes_hash,
                     width = excluded.width, height = excluded.height,
                     signed_at = excluded.signed_at",
                params![
                    id,
                    sig.signed_content_hash,
                    sig.png_hash,
                    sig.strokes_hash,
                    sig.width,
                    sig.height,
                    time_to_sql(&sig.signed_at)
                ],
            )?;
        }
        Change::Complete => {}
        Change::RequestSupport(_) => save_section(tx, &id, "support", &visit.support_request, now)?,
        // What core kept (taken time, callback), as one section.
        Change::RaiseComplaint(_) | Change::LogComplaintCallback(_) => {
            save_section(tx, &id, "complaints", &visit.complaints, now)?
        }
    }
    tx.execute(
        "UPDATE jobs SET status = ?2, step = ?3, completed_at = ?4 WHERE id = ?1",
        params![
            id,
            enum_to_sql(&visit.job.status),
            enum_to_sql(&visit.step),
            visit.completed_at.as_ref().map(time_to_sql)
        ],
    )?;
    Ok(())
}

fn put_blob(
    tx: &Transaction,
    mime: &str,
    bytes: &[u8],
    now: &Timestamp,
) -> Result<String, StoreError> {
    let hash = sha256_hex(bytes);
    tx.execute(
        "INSERT INTO blobs (hash, mime, bytes, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(hash) DO NOTHING",
        params![hash, mime, bytes, time_to_sql(now)],
    )?;
    Ok(hash)
}

impl Store {
    pub fn visit(&self, job_id: JobId) -> Result<VisitRecord, StoreError> {
        load_visit(&self.conn, job_id)
    }

    /// The job's earlier visits, first visit first, as they stood when the
    /// next one began.
    pub fn past_visits(&self, job_id: JobId) -> Result<Vec<PastVisit>, StoreError> {
        rows(
            &self.conn,
            "SELECT visit, record, closed_at FROM past_visits WHERE job_id = ?1 ORDER BY visit",
            &job_id.to_string(),
            |row| {
                Ok(PastVisit {
                    visit: row.get(0)?,
                    record: json_from_sql(&row.get::<_, String>(1)?)?,
                    closed_at: row
                        .get::<_, Option<String>>(2)?
                        .as_deref()
                        .map(time_from_sql)
                        .transpose()?,
                })
            },
        )
    }

    /// Applies one change and records it in the outbox, atomically. If the
    /// domain refuses the change, nothing is written.
    pub fn apply(
        &mut self,
        job_id: JobId,
        change: &Change,
        now: Timestamp,
    ) -> Result<VisitRecord, StoreError> {
        self.apply_with(job_id, now, |tx, visit| {
            // A fee is charged only from the list this laptop holds (or at
            // the price a line was already recorded at).
            if let Change::SetFees(lines) = change {
                settings::read_price_list(tx)?.check_fee_lines(&visit.fees, lines)?;
            }
            Ok(change.clone())
        })
    }

    /// Stores a cleaned signature PNG and its strokes, bound to the service
    /// form as it is in this same transaction.
    pub fn sign(
        &mut self,
        job_id: JobId,
        png: &CleanImage,
        strokes_json: &str,
        now: Timestamp,
    ) -> Result<VisitRecord, StoreError> {
        self.apply_with(job_id, now, |tx, visit| {
            let png_hash = put_blob(tx, "image/png", &png.bytes, &now)?;
            let strokes_hash = put_blob(tx, "application/json", strokes_json.as_bytes(), &now)?;
            Ok(Change::Sign(Signature {
                signed_content_hash: ServiceForm::from_visit(visit).content_hash(),
                png_hash,
                strokes_hash,
                width: png.width,
                height: png.height,
                signed_at: now,
            }))
        })
    }

    /// Stores a cleaned photo.
    pub fn add_photo(
        &mut self,
        job_id: JobId,
        kind: PhotoKind,
        jpeg: &CleanImage,
        now: Timestamp,
    ) -> Result<VisitRecord, StoreError> {
        self.apply_with(job_id, now, |tx, _| {
            let blob_hash = put_blob(tx, "image/jpeg", &jpeg.bytes, &now)?;
            Ok(Change::AddPhoto(Photo {
                id: RecordId::new(),
                kind,
                blob_hash,
                width: jpeg.width,
                height: jpeg.height,
                added_at: now,
            }))
        })
    }

    fn apply_with(
        &mut self,
        job_id: JobId,
        now: Timestamp,
        make_change: impl FnOnce(&Transaction, &VisitRecord) -> Result<Change, StoreError>,
    ) -> Result<VisitRecord, StoreError> {
        let tx = self.conn.transaction()?;
        let mut visit = load_visit(&tx, job_id)?;
        let change = make_change(&tx, &visit)?;
        change.apply(&mut visit, now)?;
        persist(&tx, &visit, &change, &now)?;
        outbox::append(&tx, job_id, &change, &now, visit.job.visit)?;
        tx.commit()?;
        Ok(visit)
    }

    pub fn blob(&self, hash: &str) -> Result<StoredBlob, StoreError> {
        read_blob(&self.conn, hash)
    }

    /// A second, read-only connection for reading blobs on another thread
    /// while this one goes on (WAL lets it read while the store writes).
    pub fn blob_reader(&self) -> Result<BlobReader, StoreError> {
        let path = self
            .conn
            .path()
            .filter(|path| !path.is_empty())
            .ok_or_else(|| StoreError::NotFound("the store's file".into()))?;
        let path = std::path::Path::new(path);
        let conn = match &self.key {
            Some(key) => crate::connect(path, key, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
            None => Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
        };
        // Mapped pages are read without a system call and a copy each: a
        // depot sync reads tens of MiB of blobs here (about 8% less CPU).
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000;
             PRAGMA mmap_size = 1073741824;",
        )?;
        Ok(BlobReader { conn })
    }
}
