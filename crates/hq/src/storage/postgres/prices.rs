//! The price list: its history read whole (it is small), and one edit at a
//! time as the next version (see `crate::rules::prices`).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::PriceItem;
use tokio_postgres::Row;

use super::audit::write_audit;
use super::rows::statement;
use super::PostgresStorage;
use crate::error::HqResult;
use crate::records::AuditRecord;
use crate::rules::prices::{item_after_edit, PriceEdit, PriceRow};
use crate::storage::PriceStore;

const COLUMNS: &str = "version, code, name_zh, name_en, unit_price_fen, retired";

fn read_row(row: &Row) -> HqResult<PriceRow> {
    Ok(PriceRow {
        version: row.try_get::<_, i32>(0)? as u32,
        item: PriceItem {
            code: row.try_get(1)?,
            name_zh: row.try_get(2)?,
            name_en: row.try_get(3)?,
            unit_price_fen: row.try_get::<_, i32>(4)? as u32,
            retired: row.try_get(5)?,
        },
    })
}

async fn version<C: GenericClient>(client: &C) -> HqResult<u32> {
    // Every pull asks.
    let latest = statement(client, "SELECT COALESCE(MAX(version), 1) FROM price_items").await?;
    let row = client.query_one(&latest, &[]).await?;
    Ok(row.try_get::<_, i32>(0)? as u32)
}

#[async_trait]
impl PriceStore for PostgresStorage {
    async fn price_history(&self) -> HqResult<Vec<PriceRow>> {
        let client = self.pool.get().await?;
        client
            .query(
                &format!("SELECT {COLUMNS} FROM price_items ORDER BY version, code"),
                &[],
            )
            .await?
            .iter()
            .map(read_row)
            .collect()
    }

    async fn price_list_version(&self) -> HqResult<u32> {
        version(&self.pool.get().await?).await
    }

    async fn edit_price_list(&self, edit: &PriceEdit, audit: &AuditRecord) -> HqResult<u32> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Edits take the next version one at a time: two servers editing at
        // once must not both write the same version.
        tx.execute("LOCK TABLE price_items IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let current = tx
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM price_items WHERE code = $1
                     ORDER BY version DESC LIMIT 1"
                ),
                &[&edit.code()],
            )
            .await?
            .as_ref()
            .map(read_row)
            .transpose()?;
        let item = item_after_edit(current.as_ref().map(|row| &row.item), edit)?;
        let next = version(&tx).await? + 1;
        tx.execute(
            "INSERT INTO price_items (version, code, name_zh, name_en, unit_price_fen, retired)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &(next as i32),
                &item.code,
                &item.name_zh,
                &item.name_en,
                &(item.unit_price_fen as i32),
                &item.retired,
            ],
        )
        .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(next)
    }
}
