//! The price list's rules at HQ (standard item 11): what an edit does, the
//! list as it stood at any version, and whether a device's fee lines were on
//! the list it held. The item rules themselves (code, price, names) are
//! core's `PriceItem::validate`, shared with the laptop.
//!
//! HQ keeps every edit: a row is an item as it stands from its version on,
//! and each edit is the next version. So the list of any version can be
//! rebuilt, and a fee line is judged against the version the laptop had
//! when it recorded it.

use doorstep_core::{FeeLine, PriceItem, PriceList};

use super::Refusal;

/// One row of the price list's history: `item` as it stands from `version`
/// on, until a later row for the same code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRow {
    pub version: u32,
    pub item: PriceItem,
}

/// A dispatcher's edit of the price list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceEdit {
    /// A new item; its code was never on the list.
    Add(PriceItem),
    /// New names or a new price for an item still charged.
    Change(PriceItem),
    /// The item is no longer charged; its code stays readable.
    Retire(String),
}

impl PriceEdit {
    pub fn code(&self) -> &str {
        match self {
            PriceEdit::Add(item) | PriceEdit::Change(item) => &item.code,
            PriceEdit::Retire(code) => code,
        }
    }
}

/// The item as it stands after `edit`, given the item as it stands now
/// (`None`: the code was never on the list). A code once used keeps its
/// meaning for good: it is never added again, even retired, and a retired
/// item is not changed (old jobs read it as it was).
pub fn item_after_edit(
    current: Option<&PriceItem>,
    edit: &PriceEdit,
) -> Result<PriceItem, Refusal> {
    match (current, edit) {
        (Some(_), PriceEdit::Add(item)) => Err(Refusal::PriceCodeTaken(item.code.clone())),
        (None, PriceEdit::Add(item)) => Ok(PriceItem {
            retired: false,
            ..item.clone()
        }),
        (None, PriceEdit::Change(_) | PriceEdit::Retire(_)) => {
            Err(Refusal::UnknownPriceItem(edit.code().to_string()))
        }
        (Some(item), PriceEdit::Change(_) | PriceEdit::Retire(_)) if item.retired => {
            Err(Refusal::PriceItemRetired(item.code.clone()))
        }
        (Some(_), PriceEdit::Change(item)) => Ok(PriceItem {
            retired: false,
            ..item.clone()
        }),
        (Some(item), PriceEdit::Retire(_)) => Ok(PriceItem {
            retired: true,
            ..item.clone()
        }),
    }
}

/// The version the history has reached (the first list's when empty).
pub fn current_version(history: &[PriceRow]) -> u32 {
    history
        .iter()
        .map(|row| row.version)
        .max()
        .unwrap_or(doorstep_core::prices::LEGACY_PRICE_LIST_VERSION)
}

/// The list as it stood at `version`: each code's latest row at or before
/// it, retired items included (flagged), by code.
pub fn price_list_at(history: &[PriceRow], version: u32) -> PriceList {
    let mut rows: Vec<&PriceRow> = history
        .iter()
        .filter(|row| row.version <= version)
        .collect();
    rows.sort_by_key(|row| row.version);
    let mut items: Vec<PriceItem> = Vec::new();
    for row in rows {
        match items.iter_mut().find(|item| item.code == row.item.code) {
            Some(item) => *item = row.item.clone(),
            None => items.push(row.item.clone()),
        }
    }
    items.sort_by(|a, b| a.code.cmp(&b.code));
    PriceList {
        version: version.min(current_version(history)),
        items,
    }
}

/// Whether every fee line was on the price list the device held when it
/// recorded the line: chargeable at that version, at the recorded price and
/// names. A line from before lists came from HQ is judged against the first
/// list. A version HQ does not hold (the device synced with an HQ since
/// restored from an older backup) is judged against HQ's current list.
pub fn fees_on_price_list(lines: &[FeeLine], history: &[PriceRow]) -> bool {
    let latest = current_version(history);
    lines.iter().all(|line| {
        let Some(priced) = line.pricing() else {
            return false;
        };
        let version = if priced.list_version > latest {
            latest
        } else {
            priced.list_version
        };
        price_list_at(history, version).prices_line_as_recorded(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::{legacy_price_list, PricedAt};

    fn seeded() -> Vec<PriceRow> {
        legacy_price_list()
            .items
            .into_iter()
            .map(|item| PriceRow { version: 1, item })
            .collect()
    }

    fn item(code: &str, fen: u32) -> PriceItem {
        PriceItem {
            code: code.into(),
            name_zh: "壁挂支架".into(),
            name_en: "Wall mount".into(),
            unit_price_fen: fen,
            retired: false,
        }
    }

    fn priced(version: u32, item: &PriceItem) -> Option<PricedAt> {
        Some(item.priced_at(version))
    }

    /// A code keeps one meaning: adding it again (even after retiring it) is
    /// refused, a retired item stays as it was, and an unknown code cannot
    /// be changed or retired.
    #[test]
    fn a_code_is_added_once_and_a_retired_item_stays_as_it_was() {
        let remote = legacy_price_list().items[0].clone();
        assert_eq!(
            item_after_edit(Some(&remote), &PriceEdit::Add(remote.clone())),
            Err(Refusal::PriceCodeTaken("remote".into()))
        );
        let retired = item_after_edit(Some(&remote), &PriceEdit::Retire("remote".into())).unwrap();
        assert!(retired.retired);
        assert_eq!(
            item_after_edit(Some(&retired), &PriceEdit::Add(remote.clone())),
            Err(Refusal::PriceCodeTaken("remote".into()))
        );
        assert_eq!(
            item_after_edit(Some(&retired), &PriceEdit::Change(remote.clone())),
            Err(Refusal::PriceItemRetired("remote".into()))
        );
        assert_eq!(
            item_after_edit(None, &PriceEdit::Retire("nope".into())),
            Err(Refusal::UnknownPriceItem("nope".into()))
        );
        let dearer = PriceItem {
            unit_price_fen: 4000,
            ..remote.clone()
        };
        assert_eq!(
            item_after_edit(Some(&remote), &PriceEdit::Change(dearer.clone())),
            Ok(dearer)
        );
    }

    /// Any version's list can be rebuilt from the history, so a line is
    /// judged against the list the device held.
    #[test]
    fn the_list_of_any_version_is_rebuilt_from_the_history() {
        let mut history = seeded();
        history.push(PriceRow {
            version: 2,
            item: item("wall_mount", 8000),
        });
        history.push(PriceRow {
            version: 3,
            item: item("wall_mount", 9000),
        });
        assert_eq!(price_list_at(&history, 1).items.len(), 6);
        assert_eq!(
            price_list_at(&history, 2)
                .item("wall_mount")
                .unwrap()
                .unit_price_fen,
            8000
        );
        let now = price_list_at(&history, current_version(&history));
        assert_eq!(now.version, 3);
        assert_eq!(now.item("wall_mount").unwrap().unit_price_fen, 9000);
        assert_eq!(now.items.len(), 7, "one row per code");
    }

    /// Standard item 11 at HQ: a fee recorded at the price the laptop's list
    /// had is accepted even after HQ changed the price (that is what the
    /// customer saw and signed); a price no version had, a code not on the
    /// list, or an item already retired at the line's version is not.
    #[test]
    fn a_fee_line_is_judged_against_the_list_the_laptop_held() {
        let mut history = seeded();
        let v2 = item("wall_mount", 8000);
        history.push(PriceRow {
            version: 2,
            item: v2.clone(),
        });
        history.push(PriceRow {
            version: 3,
            item: item("wall_mount", 9000),
        });
        let mut retired_splitter = legacy_price_list().item("splitter").unwrap().clone();
        retired_splitter.retired = true;
        history.push(PriceRow {
            version: 4,
            item: retired_splitter,
        });
        let line = |code: &str, priced| FeeLine {
            code: code.into(),
            quantity: 1,
            priced,
        };
        assert!(fees_on_price_list(
            &[line("wall_mount", priced(2, &v2))],
            &history
        ));
        assert!(
            !fees_on_price_list(&[line("wall_mount", priced(3, &v2))], &history),
            "version 3 charged 90 yuan"
        );
        assert!(
            !fees_on_price_list(&[line("wall_mount", priced(1, &v2))], &history),
            "not on the list before version 2"
        );
        assert!(
            fees_on_price_list(&[line("splitter", None)], &history),
            "an old app's line is judged against the first list"
        );
        let splitter = legacy_price_list().item("splitter").unwrap().clone();
        assert!(!fees_on_price_list(
            &[line("splitter", priced(4, &splitter))],
            &history
        ));
        assert!(
            fees_on_price_list(
                &[line("wall_mount", priced(9, &item("wall_mount", 9000)))],
                &history
            ),
            "a version HQ lost in a restore is judged against its current list"
        );
    }
}
