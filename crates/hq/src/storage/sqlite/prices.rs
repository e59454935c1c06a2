//! The price list: its history read whole (it is small), and one edit at a
//! time as the next version (see `crate::rules::prices`).

use async_trait::async_trait;
use doorstep_core::PriceItem;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit::write_audit;
use super::SqliteStorage;
use crate::error::HqResult;
use crate::records::AuditRecord;
use crate::rules::prices::{item_after_edit, PriceEdit, PriceRow};
use crate::storage::PriceStore;

fn read_row(row: &Row) -> rusqlite::Result<PriceRow> {
    Ok(PriceRow {
        version: row.get(0)?,
        item: PriceItem {
            code: row.get(1)?,
            name_zh: row.get(2)?,
            name_en: row.get(3)?,
            unit_price_fen: row.get(4)?,
            retired: row.get(5)?,
        },
    })
}

fn version(conn: &Connection) -> HqResult<u32> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 1) FROM price_items",
        [],
        |row| row.get(0),
    )?)
}

#[async_trait]
impl PriceStore for SqliteStorage {
    async fn price_history(&self) -> HqResult<Vec<PriceRow>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT version, code, name_zh, name_en, unit_price_fen, retired
                 FROM price_items ORDER BY version, code",
            )?;
            let rows = statement.query_map([], read_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn price_list_version(&self) -> HqResult<u32> {
        self.read(version).await
    }

    async fn edit_price_list(&self, edit: &PriceEdit, audit: &AuditRecord) -> HqResult<u32> {
        let (edit, audit) = (edit.clone(), audit.clone());
        self.write(move |tx| {
            let current = tx
                .query_row(
                    "SELECT version, code, name_zh, name_en, unit_price_fen, retired
                     FROM price_items WHERE code = ?1 ORDER BY version DESC LIMIT 1",
                    [edit.code()],
                    read_row,
                )
                .optional()?;
            let item = item_after_edit(current.as_ref().map(|row| &row.item), &edit)?;
            let next = version(tx)? + 1;
            tx.execute(
                "INSERT INTO price_items (version, code, name_zh, name_en, unit_price_fen, retired)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    next,
                    item.code,
                    item.name_zh,
                    item.name_en,
                    item.unit_price_fen,
                    item.retired
                ],
            )?;
            write_audit(tx, &audit)?;
            Ok(next)
        })
        .await
    }
}
