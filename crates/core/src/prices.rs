//! Charges (standard item 11): the company price list, the fee lines a
//! technician records from it, and the receipt the customer gets for them.
//!
//! HQ keeps the price list and edits it; every edit makes a new version.
//! The laptop holds the version its last sync brought. A fee line records
//! what it was priced at (code, names, unit price and the list version the
//! laptop had), so what the customer saw and signed never changes when HQ
//! edits the list later. Lines recorded before lists came from HQ carry only
//! a code and a quantity: they are read from the first list, [`legacy_price_list`],
//! which is also what HQ's list starts as.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::DomainError;
use crate::model::{check_len, check_required, FeeLine, SHORT_TEXT_MAX};

/// The version of the first price list: the one built into apps before HQ
/// kept it, and the one HQ's list starts from.
pub const LEGACY_PRICE_LIST_VERSION: u32 = 1;

/// Most units of one item on a fee line.
pub const MAX_FEE_QUANTITY: u32 = 999;
/// Highest unit price, in fen (100,000 yuan): anything above is a typo.
pub const MAX_UNIT_PRICE_FEN: u32 = 10_000_000;
/// Longest item code.
pub const MAX_PRICE_CODE_LEN: usize = 40;

/// (code, Chinese name, English name, unit price in fen) of the first list.
/// Never change it: fee lines recorded before lists came from HQ are read
/// from it, and signatures were made over those readings.
const LEGACY_ITEMS: &[(&str, &str, &str, u32)] = &[
    (
        "remote",
        "遥控器(非保修)",
        "Remote control (out of warranty)",
        3500,
    ),
    (
        "stb_out_of_warranty",
        "机顶盒更换(非保修)",
        "Set-top box replacement (out of warranty)",
        30000,
    ),
    (
        "indoor_cable_m",
        "入户线(每米)",
        "Indoor cable (per metre)",
        200,
    ),
    ("splitter", "分配器", "Splitter", 1500),
    ("connector", "F 头", "F connector", 300),
    ("extra_outlet", "增加终端点位", "Extra outlet", 5000),
];

/// A fee the company allows, in fen (1/100 yuan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceItem {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub unit_price_fen: u32,
    /// No longer charged. A retired code stays on the list, so the jobs
    /// that charged it can still be read; no new line may use it.
    #[serde(default)]
    pub retired: bool,
}

impl PriceItem {
    /// The rules every item on a list obeys, at HQ and on the laptop: a code
    /// of lower-case letters, digits and underscores starting with a letter,
    /// a price above zero, and a name in both languages.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_price_code(&self.code)?;
        check_required("price_name_zh", &self.name_zh)?;
        check_len("price_name_zh", &self.name_zh, SHORT_TEXT_MAX)?;
        check_required("price_name_en", &self.name_en)?;
        check_len("price_name_en", &self.name_en, SHORT_TEXT_MAX)?;
        if self.unit_price_fen == 0 || self.unit_price_fen > MAX_UNIT_PRICE_FEN {
            return Err(DomainError::OutOfRange("unit_price"));
        }
        Ok(())
    }

    /// How a line charging this item, now, records it.
    pub fn priced_at(&self, list_version: u32) -> PricedAt {
        PricedAt {
            list_version,
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            unit_price_fen: self.unit_price_fen,
        }
    }
}

/// A code names an item for good: short, plain, and the same in every
/// language.
pub fn check_price_code(code: &str) -> Result<(), DomainError> {
    let plain = code
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let starts_with_letter = code.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if plain && starts_with_letter && code.len() <= MAX_PRICE_CODE_LEN {
        Ok(())
    } else {
        Err(DomainError::BadPriceCode(code.chars().take(60).collect()))
    }
}

/// One version of the company price list: the only fees a technician may
/// charge are its items that are not retired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceList {
    /// HQ's number for this version; each edit makes the next one.
    pub version: u32,
    pub items: Vec<PriceItem>,
}

impl PriceList {
    /// An item of this list by code, retired or not.
    pub fn item(&self, code: &str) -> Option<&PriceItem> {
        self.items.iter().find(|item| item.code == code)
    }

    /// An item that may be charged now.
    pub fn chargeable(&self, code: &str) -> Option<&PriceItem> {
        self.item(code).filter(|item| !item.retired)
    }

    /// Whether `line` is priced exactly as this list prices its item: the
    /// item is chargeable and the line's names and unit price are its own.
    /// The line's recorded version is not compared: the caller chose the
    /// list by it.
    pub fn prices_line_as_recorded(&self, line: &FeeLine) -> bool {
        let priced = line.pricing();
        match (self.chargeable(&line.code), priced) {
            (Some(item), Some(priced)) => {
                item.name_zh == priced.name_zh
                    && item.name_en == priced.name_en
                    && item.unit_price_fen == priced.unit_price_fen
            }
            _ => false,
        }
    }

    /// The laptop's check of a new set of fee lines for a visit that has
    /// `recorded` now: each line is either one already recorded (kept at the
    /// price it was recorded at, whatever the list says since: that is what
    /// the customer was shown, and may have signed) or priced now from this
    /// list, the one the laptop holds. Anything else is refused.
    pub fn check_fee_lines(
        &self,
        recorded: &[FeeLine],
        lines: &[FeeLine],
    ) -> Result<(), DomainError> {
        for line in lines {
            let kept = recorded
                .iter()
                .any(|old| old.code == line.code && old.pricing() == line.pricing());
            let priced_now = line
                .priced
                .as_ref()
                .is_some_and(|p| p.list_version == self.version)
                && self.prices_line_as_recorded(line);
            if !(kept || priced_now) {
                return Err(DomainError::UnknownFee(line.code.clone()));
            }
        }
        Ok(())
    }
}

/// The first price list, as apps carried it before HQ kept one.
pub fn legacy_price_list() -> PriceList {
    PriceList {
        version: LEGACY_PRICE_LIST_VERSION,
        items: LEGACY_ITEMS
            .iter()
            .map(|(code, zh, en, fen)| PriceItem {
                code: code.to_string(),
                name_zh: zh.to_string(),
                name_en: en.to_string(),
                unit_price_fen: *fen,
                retired: false,
            })
            .collect(),
    }
}

/// What a fee line was priced at when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricedAt {
    /// The version of the price list the laptop held.
    pub list_version: u32,
    pub name_zh: String,
    pub name_en: String,
    pub unit_price_fen: u32,
}

impl FeeLine {
    /// What this line charges per unit, and under which names: as recorded,
    /// or, for a line from before lists came from HQ, as the first list
    /// priced its code. `None`: a code the first list never had.
    pub fn pricing(&self) -> Option<PricedAt> {
        match &self.priced {
            Some(priced) => Some(priced.clone()),
            None => legacy_price_list()
                .item(&self.code)
                .map(|item| item.priced_at(LEGACY_PRICE_LIST_VERSION)),
        }
    }

    pub fn total_fen(&self) -> Option<u64> {
        self.pricing()
            .map(|p| p.unit_price_fen as u64 * self.quantity as u64)
    }
}

/// Fee lines any list could have priced: a known code or a recorded price
/// that obeys the item rules, in sane quantities. Whether the line is on the
/// list the laptop held is the caller's check ([`PriceList::check_fee_lines`]
/// on the laptop, HQ's push against the version the line names), since
/// replaying an old change must not depend on today's list.
pub fn validate_fees(lines: &[FeeLine]) -> Result<(), DomainError> {
    for line in lines {
        match (&line.priced, line.pricing()) {
            (_, None) => return Err(DomainError::UnknownFee(line.code.clone())),
            (Some(priced), _) => PriceItem {
                code: line.code.clone(),
                name_zh: priced.name_zh.clone(),
                name_en: priced.name_en.clone(),
                unit_price_fen: priced.unit_price_fen,
                retired: false,
            }
            .validate()?,
            (None, Some(_)) => {}
        }
        if line.quantity == 0 || line.quantity > MAX_FEE_QUANTITY {
            return Err(DomainError::OutOfRange("quantity"));
        }
    }
    Ok(())
}

pub fn fees_total_fen(lines: &[FeeLine]) -> u64 {
    lines.iter().filter_map(FeeLine::total_fen).sum()
}

/// How the customer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Wechat,
    Alipay,
    Card,
    Other,
}

/// The receipt (发票收据) the customer got for the fees: its number, the
/// amount on it and how they paid. A completed job with fees carries one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentReceipt {
    pub receipt_no: String,
    pub amount_fen: u64,
    pub method: PaymentMethod,
}

impl PaymentReceipt {
    pub fn validate(&self) -> Result<(), DomainError> {
        check_required("receipt_no", &self.receipt_no)?;
        check_len("receipt_no", &self.receipt_no, 60)?;
        if self.amount_fen == 0 {
            return Err(DomainError::OutOfRange("receipt_amount"));
        }
        Ok(())
    }

    /// Whether this receipt stands for the fees: the amount on it is their
    /// total, no more (nothing beyond company fees) and no less.
    pub fn covers(&self, lines: &[FeeLine]) -> bool {
        self.amount_fen == fees_total_fen(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, quantity: u32, priced: Option<PricedAt>) -> FeeLine {
        FeeLine {
            code: code.into(),
            quantity,
            priced,
        }
    }

    fn list_v2() -> PriceList {
        let mut list = legacy_price_list();
        list.version = 2;
        list.items[0].unit_price_fen = 4000;
        list.items.push(PriceItem {
            code: "wall_mount".into(),
            name_zh: "壁挂支架".into(),
            name_en: "Wall mount".into(),
            unit_price_fen: 8000,
            retired: false,
        });
        list.items[3].retired = true;
        list
    }

    /// Lines from before HQ kept the list are read from the first list, so
    /// the totals (and the signed forms built from them) do not move.
    #[test]
    fn a_line_without_a_recorded_price_is_read_from_the_first_list() {
        let old = line("remote", 2, None);
        assert_eq!(old.total_fen(), Some(7000));
        assert_eq!(
            old.pricing().unwrap().name_zh,
            "遥控器(非保修)",
            "the name the customer saw"
        );
        assert_eq!(line("wall_mount", 1, None).pricing(), None);
    }

    /// A recorded price is what the line charges, whatever any list says.
    #[test]
    fn a_recorded_price_is_what_the_line_charges() {
        let priced = list_v2().item("remote").unwrap().priced_at(2);
        assert_eq!(line("remote", 3, Some(priced)).total_fen(), Some(12000));
    }

    /// The laptop prices a new line from the list it holds, and only from it:
    /// another price, a code not on it, a retired item or a line claiming
    /// another version is refused.
    #[test]
    fn a_new_line_must_be_priced_from_the_list_the_laptop_holds() {
        let list = list_v2();
        let good = line(
            "wall_mount",
            1,
            Some(list.item("wall_mount").unwrap().priced_at(2)),
        );
        assert_eq!(
            list.check_fee_lines(&[], std::slice::from_ref(&good)),
            Ok(())
        );

        let mut cheap = good.clone();
        cheap.priced.as_mut().unwrap().unit_price_fen = 100;
        assert!(list.check_fee_lines(&[], &[cheap]).is_err());

        let mut other_version = good.clone();
        other_version.priced.as_mut().unwrap().list_version = 1;
        assert!(list.check_fee_lines(&[], &[other_version]).is_err());

        let retired = line(
            "splitter",
            1,
            Some(list.item("splitter").unwrap().priced_at(2)),
        );
        assert!(list.check_fee_lines(&[], &[retired]).is_err());

        let unpriced_new = line("remote", 1, None);
        assert!(
            list.check_fee_lines(&[], &[unpriced_new]).is_err(),
            "a new line carries its price"
        );
        assert!(list
            .check_fee_lines(
                &[],
                &[line(
                    "made_up",
                    1,
                    Some(PricedAt {
                        list_version: 2,
                        name_zh: "x".into(),
                        name_en: "x".into(),
                        unit_price_fen: 1
                    })
                )]
            )
            .is_err());
    }

    /// A line already on the visit keeps the price it was recorded at after
    /// the list changes, even with another quantity: the customer was shown
    /// that price. Its code being retired since does not remove it either.
    #[test]
    fn a_recorded_line_keeps_its_price_after_the_list_changes() {
        let list = list_v2();
        let recorded = vec![line("remote", 1, None), line("splitter", 1, None)];
        let again = vec![line("remote", 2, None), line("splitter", 1, None)];
        assert_eq!(list.check_fee_lines(&recorded, &again), Ok(()));
    }

    /// HQ's list and the laptop's obey the same item rules.
    #[test]
    fn an_item_needs_a_plain_code_a_price_and_both_names() {
        let good = list_v2().item("wall_mount").unwrap().clone();
        assert_eq!(good.validate(), Ok(()));
        for code in ["", "Wall", "9lives", "wall mount", "墙", &"a".repeat(41)] {
            let item = PriceItem {
                code: code.into(),
                ..good.clone()
            };
            assert!(item.validate().is_err(), "{code:?}");
        }
        let free = PriceItem {
            unit_price_fen: 0,
            ..good.clone()
        };
        assert_eq!(free.validate(), Err(DomainError::OutOfRange("unit_price")));
        let no_en = PriceItem {
            name_en: " ".into(),
            ..good.clone()
        };
        assert_eq!(
            no_en.validate(),
            Err(DomainError::Required("price_name_en"))
        );
        let no_zh = PriceItem {
            name_zh: String::new(),
            ..good
        };
        assert_eq!(
            no_zh.validate(),
            Err(DomainError::Required("price_name_zh"))
        );
    }

    /// A recorded line that breaks the item rules is refused even on replay
    /// (HQ replays with `validate_fees`): a free or nameless fee is no fee.
    #[test]
    fn a_recorded_price_obeys_the_item_rules() {
        let free = line(
            "remote",
            1,
            Some(PricedAt {
                list_version: 3,
                name_zh: "遥控器".into(),
                name_en: "Remote".into(),
                unit_price_fen: 0,
            }),
        );
        assert!(validate_fees(&[free]).is_err());
        assert!(validate_fees(&[line("remote", 0, None)]).is_err());
        assert!(validate_fees(&[line("nope", 1, None)]).is_err());
    }

    /// The receipt stands for the fees: its amount is their total.
    #[test]
    fn a_receipt_covers_the_fees_when_its_amount_is_their_total() {
        let lines = vec![line("remote", 2, None), line("connector", 1, None)];
        let receipt = PaymentReceipt {
            receipt_no: "No. 0012345".into(),
            amount_fen: 7300,
            method: PaymentMethod::Wechat,
        };
        assert!(receipt.covers(&lines));
        assert!(!PaymentReceipt {
            amount_fen: 7000,
            ..receipt.clone()
        }
        .covers(&lines));
        assert!(PaymentReceipt {
            receipt_no: " ".into(),
            ..receipt
        }
        .validate()
        .is_err());
    }
}
