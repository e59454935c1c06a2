//! The price list (standard item 11): read by the console and by every
//! device's pull, edited by dispatchers, each edit audit-logged. The item
//! rules are core's (`PriceItem::validate`, the laptop's too); what an edit
//! does to the list is `rules::prices`.

use doorstep_core::{DomainError, Lang, PriceItem, PriceList};

use super::Hq;
use crate::dto::{NewPriceItem, PriceItemChange};
use crate::error::{HqError, HqResult};
use crate::records::AuditAction;
use crate::rules::prices::{current_version, price_list_at, PriceEdit};

/// The item, if it obeys the item rules; else a 422 whose code names what
/// is wrong, so the console can say it in its language.
fn checked(item: PriceItem) -> HqResult<PriceItem> {
    item.validate().map_err(|e| {
        let code = match &e {
            DomainError::BadPriceCode(_) => "bad_price_code",
            DomainError::Required(_) => "price_name_required",
            DomainError::OutOfRange(_) => "bad_unit_price",
            _ => "invalid_field",
        };
        HqError::invalid(code, e.message(Lang::En))
    })?;
    Ok(item)
}

/// What the audit log says of an edit: the item as it now stands.
fn detail(item: &PriceItem) -> String {
    format!(
        "{} {} / {} ¥{}.{:02}",
        item.code,
        item.name_zh,
        item.name_en,
        item.unit_price_fen / 100,
        item.unit_price_fen % 100
    )
}

impl Hq {
    /// `GET /api/v1/price-list`: the list as it stands, retired items
    /// included (flagged), so old jobs' codes can be read.
    pub async fn price_list(&self) -> HqResult<PriceList> {
        let history = self.storage.price_history().await?;
        Ok(price_list_at(&history, current_version(&history)))
    }

    /// The list for a device's pull, when it is not the version the device
    /// holds. A device that does not say (an older app) gets none.
    pub(super) async fn price_list_for_device(
        &self,
        held: Option<u32>,
    ) -> HqResult<Option<PriceList>> {
        let Some(held) = held else {
            return Ok(None);
        };
        if self.storage.price_list_version().await? == held {
            return Ok(None);
        }
        Ok(Some(self.price_list().await?))
    }

    pub async fn add_price_item(&self, item: NewPriceItem) -> HqResult<PriceList> {
        let item = checked(PriceItem {
            code: item.code,
            name_zh: item.name_zh.trim().to_string(),
            name_en: item.name_en.trim().to_string(),
            unit_price_fen: item.unit_price_fen,
            retired: false,
        })?;
        let audit = self.audit_detail(AuditAction::AddPriceItem, &detail(&item));
        self.storage
            .edit_price_list(&PriceEdit::Add(item), &audit)
            .await?;
        self.price_list().await
    }

    pub async fn change_price_item(
        &self,
        code: &str,
        change: PriceItemChange,
    ) -> HqResult<PriceList> {
        let item = checked(PriceItem {
            code: code.to_string(),
            name_zh: change.name_zh.trim().to_string(),
            name_en: change.name_en.trim().to_string(),
            unit_price_fen: change.unit_price_fen,
            retired: false,
        })?;
        let audit = self.audit_detail(AuditAction::ChangePriceItem, &detail(&item));
        self.storage
            .edit_price_list(&PriceEdit::Change(item), &audit)
            .await?;
        self.price_list().await
    }

    /// Retires an item: no new fee may charge it; jobs that did still read it.
    pub async fn retire_price_item(&self, code: &str) -> HqResult<PriceList> {
        let audit = self.audit_detail(AuditAction::RetirePriceItem, code);
        self.storage
            .edit_price_list(&PriceEdit::Retire(code.to_string()), &audit)
            .await?;
        self.price_list().await
    }
}
