//! Words (standard item 17): banned phrases in what the customer reads are
//! found, with the approved wording; a hint, never a refusal.

use doorstep_core::change::Change;
use doorstep_core::words::{banned_phrases_in, word_hints, BANNED_PHRASES};
use doorstep_core::*;

fn phrases(text: &str) -> Vec<&'static str> {
    banned_phrases_in(text)
        .into_iter()
        .map(|banned| banned.phrase)
        .collect()
}

/// Every phrase the standard bans (DOMAIN.md: standard phrases [001],
/// etiquette [000], complaints [004]) is in the table with a replacement,
/// so none can slip through unnoticed or be flagged without help.
#[test]
fn the_table_holds_every_banned_phrase_of_the_standard() {
    for phrase in [
        "喂",
        "什么",
        "不知道",
        "应该",
        "好像",
        "不可能",
        "这不归我管",
        "你弄错了",
        "这是我们公司的规定",
        "这不关我的事",
        "你没有填对",
        "随便你找哪个",
    ] {
        let entry = BANNED_PHRASES
            .iter()
            .find(|banned| banned.phrase == phrase)
            .unwrap_or_else(|| panic!("{phrase} is in the table"));
        assert!(!entry.instead_zh.is_empty() && !entry.instead_en.is_empty());
        assert_eq!(phrases(&format!("师傅说:{phrase}。")), vec![phrase]);
    }
}

/// A hint names each phrase once, the longest match only (我不知道 is
/// 不知道, not also something shorter), and the standard's own approved
/// wording that contains a banned word (请问还有什么可以帮您吗?) is left alone.
#[test]
fn phrases_are_found_once_and_approved_wording_is_not_flagged() {
    assert_eq!(
        phrases("我不知道,应该是线的问题,不知道"),
        vec!["不知道", "应该"]
    );
    assert_eq!(phrases("请问还有什么可以帮您吗?"), Vec::<&str>::new());
    assert_eq!(
        phrases("请问还有什么可以帮您吗?你说什么"),
        vec!["什么"],
        "an approved phrase hides only itself"
    );
    assert_eq!(phrases("重做 F 头,信号恢复"), Vec::<&str>::new());
    assert_eq!(phrases(""), Vec::<&str>::new());
}

/// The visit's hints cover the fault point and work description the customer
/// signs, in the UI's language, and never stop the text being saved.
#[test]
fn the_work_the_customer_reads_gets_hints_and_is_still_saved() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00+08:00")
        .unwrap()
        .to_utc();
    let mut visit = VisitRecord::new(Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "陈美玲".into(),
            phone: "13581590830".into(),
            address: "福州市鼓楼区五四路168号".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "机顶盒无信号".into(),
        window_start: start,
        window_end: start + chrono::Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    });
    visit.kit.mat_cloth = true;
    visit.kit.cover_cloth = true;
    visit.kit.wiping_cloth = true;
    visit.kit.shoe_covers = true;
    let work = Work {
        indoor: true,
        fault_point: "好像是入户线".into(),
        description: "这不归我管,你弄错了".into(),
        ..Work::default()
    };
    Change::SaveWork(work.clone())
        .apply(&mut visit, start)
        .expect("a hint is not a refusal");
    assert_eq!(visit.work, work);
    let zh = word_hints(&visit, Lang::Zh);
    assert_eq!(
        zh.iter()
            .map(|hint| (hint.field, hint.phrase))
            .collect::<Vec<_>>(),
        vec![
            ("fault_point", "好像"),
            ("description", "这不归我管"),
            ("description", "你弄错了"),
        ]
    );
    assert_eq!(zh[1].instead, "这件事由我负责跟进,会尽快给您答复");
    let en = word_hints(&visit, Lang::En);
    assert!(en[1].instead.starts_with("first contact is responsible"));
}
