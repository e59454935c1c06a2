//! Charges on the laptop (standard item 11), against a real SQLite file:
//! the price list a pull brings is kept, the fee picker's list is that one,
//! a fee off it is refused, and the receipt is kept with the visit.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::wire::PullResponse;
use doorstep_core::*;
use doorstep_store::{Store, StoreKey};

const KEY: StoreKey = StoreKey::from_bytes([0x37; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job() -> Job {
    let start = at("2026-12-02T09:00:00+08:00");
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "林建华".into(),
            phone: "18913909960".into(),
            address: "福州市鼓楼区五四路1号".into(),
            account_number: None,
        },
        job_type: JobType::Install,
        sub_case: SubCase::Indoor,
        fault_description: String::new(),
        window_start: start,
        window_end: start + Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    }
}

fn pulled(jobs: Vec<Job>, price_list: Option<PriceList>) -> PullResponse {
    PullResponse {
        cursor: "3".into(),
        jobs,
        removed: vec![],
        outcomes: vec![],
        server_time: None,
        hq_epoch: None,
        customers: vec![],
        documents: vec![],
        time_zone: None,
        price_list,
    }
}

fn list(version: u32, mount_fen: u32) -> PriceList {
    let mut list = legacy_price_list();
    list.version = version;
    list.items.push(PriceItem {
        code: "wall_mount".into(),
        name_zh: "壁挂支架".into(),
        name_en: "Wall mount".into(),
        unit_price_fen: mount_fen,
        retired: false,
    });
    list
}

fn fee(list: &PriceList, code: &str, quantity: u32) -> FeeLine {
    FeeLine {
        code: code.into(),
        quantity,
        priced: Some(list.item(code).unwrap().priced_at(list.version)),
    }
}

/// The laptop keeps the list its pull brought (until a pull brings another:
/// a pull without one leaves it), offers it, and refuses a fee off it; a
/// line already recorded keeps its price when a later list changes it,
/// since the customer was shown that price.
#[test]
fn fees_come_from_the_list_the_last_pull_brought() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    assert_eq!(
        store.price_list().unwrap(),
        legacy_price_list(),
        "before any pull: the list apps always carried"
    );
    let job = job();
    let now = at("2026-12-02T09:10:00+08:00");
    let v2 = list(2, 8000);
    store
        .apply_dispatch(&pulled(vec![job.clone()], Some(v2.clone())))
        .unwrap();
    store.apply_dispatch(&pulled(vec![], None)).unwrap();
    assert_eq!(store.price_list().unwrap(), v2, "kept until another comes");

    store
        .apply(
            job.id,
            &Change::SetFees(vec![fee(&v2, "wall_mount", 1)]),
            now,
        )
        .expect("priced from the list the laptop holds");

    let mut cheaper = fee(&v2, "wall_mount", 1);
    cheaper.priced.as_mut().unwrap().unit_price_fen = 5000;
    let refused = store.apply(job.id, &Change::SetFees(vec![cheaper]), now);
    assert!(
        matches!(&refused, Err(e) if e.code() == "unknown_fee"),
        "{refused:?}"
    );
    let made_up = store.apply(
        job.id,
        &Change::SetFees(vec![FeeLine {
            code: "tip".into(),
            quantity: 1,
            priced: Some(PricedAt {
                list_version: 2,
                name_zh: "小费".into(),
                name_en: "Tip".into(),
                unit_price_fen: 1000,
            }),
        }]),
        now,
    );
    assert!(
        matches!(&made_up, Err(e) if e.code() == "unknown_fee"),
        "{made_up:?}"
    );
    assert_eq!(
        store.visit(job.id).unwrap().fees,
        vec![fee(&v2, "wall_mount", 1)],
        "a refused change writes nothing"
    );

    let v3 = list(3, 9000);
    store
        .apply_dispatch(&pulled(vec![], Some(v3.clone())))
        .unwrap();
    let visit = store
        .apply(
            job.id,
            &Change::SetFees(vec![fee(&v2, "wall_mount", 2), fee(&v3, "remote", 1)]),
            now,
        )
        .expect("the recorded line keeps its price, a new one takes the new list's");
    assert_eq!(fees_total_fen(&visit.fees), 2 * 8000 + 3500);
}

/// The receipt is kept with the visit and read back with it.
#[test]
fn the_receipt_is_kept_with_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let job = job();
    store
        .apply_dispatch(&pulled(vec![job.clone()], None))
        .unwrap();
    let receipt = PaymentReceipt {
        receipt_no: "FJ-2026-000123".into(),
        amount_fen: 3500,
        method: PaymentMethod::Alipay,
    };
    store
        .apply(
            job.id,
            &Change::SavePayment(receipt.clone()),
            at("2026-12-02T09:20:00+08:00"),
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path, &KEY).unwrap();
    assert_eq!(store.visit(job.id).unwrap().payment, Some(receipt));
}
