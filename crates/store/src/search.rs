//! The job search: what it matches, its trigram index kept in step with
//! the jobs, and how a query finds its jobs.
//!
//! A search matches a job whose search text (its customer's name, address
//! and phone, lower-cased) holds the query, lower-cased. `jobs.search_text`
//! keeps the text; `job_search` (FTS5, trigram tokenizer, migration
//! `2026-12-04_job_search.sql`) indexes it under the job's rowid. Only
//! `upsert_job` writes a job's text, and it indexes it at once through
//! `index_search_text`; a job removed, by whatever path, is taken out of
//! the index by the migration's trigger. A query of one or two characters
//! cannot use trigrams: the texts held in memory answer it
//! (`search_texts`, which says why memory).
//!
//! Why not insert and update triggers as well: a statement that fires a
//! trigger (or has a RETURNING clause, or may set a foreign key) opens a
//! savepoint, and FTS5 writes its pending terms out at every savepoint, so
//! the index grew by one tiny segment per job stored (a first pull of
//! 10,000 jobs went from 180 to 460 ms). So no statement a pull runs for
//! every job may open one; the store bench's first pull shows it.
//!
//! The index, like the texts held in memory, is keyed by the jobs' rowids,
//! so nothing may renumber them (VACUUM may: the store never runs it).

use doorstep_core::{Customer, CustomerId};
use rusqlite::{params, Connection};

use crate::codec::json_to_sql;
use crate::jobs::ListCursor;
use crate::search_texts::SearchTexts;
use crate::StoreError;

/// What a search matches: the customer's name, address and phone,
/// lower-cased. It is the customer's alone, so every job of theirs carries
/// the same text.
pub(crate) fn search_text(customer: &Customer) -> String {
    format!("{} {} {}", customer.name, customer.address, customer.phone).to_lowercase()
}

/// Indexes the job at `rowid` by `text`, in place of `before`, the text it
/// was indexed by (none for a new job). The index reads no text of its own
/// (`content='jobs'`), so what it is told to take out must be exactly what
/// it was given.
pub(crate) fn index_search_text(
    conn: &Connection,
    rowid: i64,
    before: Option<&str>,
    text: &str,
) -> Result<(), StoreError> {
    if before == Some(text) {
        return Ok(());
    }
    if let Some(before) = before {
        conn.prepare_cached(
            "INSERT INTO job_search (job_search, rowid, search_text) VALUES ('delete', ?1, ?2)",
        )?
        .execute(params![rowid, before])?;
    }
    conn.prepare_cached("INSERT INTO job_search (rowid, search_text) VALUES (?1, ?2)")?
        .execute(params![rowid, text])?;
    Ok(())
}

/// The customer's other jobs are found by what the customer is called now
/// (`text`), not by what they were called when those jobs came: the list
/// shows the customer's row as it stands, so a search must match it.
pub(crate) fn rename_customer_jobs(
    conn: &Connection,
    customer: CustomerId,
    text: &str,
) -> Result<(), StoreError> {
    let stale: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT rowid, search_text FROM jobs WHERE customer_id = ?1 AND search_text <> ?2",
        )?
        .query_map(params![customer.to_string(), text], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    for (rowid, before) in stale {
        conn.prepare_cached("UPDATE jobs SET search_text = ?2 WHERE rowid = ?1")?
            .execute(params![rowid, text])?;
        index_search_text(conn, rowid, Some(&before), text)?;
    }
    Ok(())
}

/// A query of fewer characters than this cannot use the trigram index
/// (each of its terms is three characters): the texts held in memory
/// answer it (`search_texts`).
const TRIGRAM: usize = 3;

/// A search with at most this many matches reads them through the index
/// and sorts them; one with more walks the list's index in order, keeping
/// the jobs the search index names, and stops after a page of them. Reading
/// a job by its rowid costs tens of times one step along the list's index,
/// so the two ways cost the same at a few hundred matches (store bench).
const FEW_MATCHES: i64 = 400;

/// The FTS5 query for `text`: one phrase, quoted, so every character is
/// matched as written (FTS5's operators and quotes included).
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Which jobs a search for `query` (lower-cased, not empty) keeps on the
/// page after `after`: the condition on the jobs table `j`, and what it
/// binds as `?1`. Each way keeps exactly the jobs whose search text holds
/// the query, as `instr(j.search_text, ?1) > 0` would.
pub(crate) fn search_condition(
    conn: &Connection,
    texts: &SearchTexts,
    query: &str,
    after: Option<&ListCursor>,
) -> Result<(String, String), StoreError> {
    if query.chars().count() < TRIGRAM {
        let page = texts.page(conn, query, after)?;
        return Ok((
            "j.rowid IN (SELECT value FROM json_each(?1))".into(),
            json_to_sql(&page),
        ));
    }
    let phrase = phrase(query);
    let matches: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM
                 (SELECT 1 FROM job_search WHERE job_search MATCH ?1 LIMIT {})",
            FEW_MATCHES + 1
        ))?
        .query_row([&phrase], |row| row.get(0))?;
    // The unary + keeps SQLite from looking jobs up by the rowids the
    // index names, so it walks the list's index instead.
    let rowid = if matches <= FEW_MATCHES {
        "j.rowid"
    } else {
        "+j.rowid"
    };
    Ok((
        format!("{rowid} IN (SELECT rowid FROM job_search WHERE job_search MATCH ?1)"),
        phrase,
    ))
}
