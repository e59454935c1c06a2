//! Words (standard item 17): text the technician writes for the customer is
//! checked against the standard's banned phrases (禁语), and the approved
//! wording is suggested. A hint, never a refusal: the technician decides.
//!
//! Checked: the fault point and the work description, which the customer
//! reads on the service form they sign and on the service report. The
//! customer's own opinion is theirs, and call and visit notes stay in-house.

use serde::Serialize;

use crate::error::Lang;
use crate::model::VisitRecord;

/// A phrase the standard bans, with what to say instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BannedPhrase {
    pub phrase: &'static str,
    pub instead_zh: &'static str,
    pub instead_en: &'static str,
}

/// The banned phrases of the service standard, with its approved wording
/// where it gives one (phone etiquette, standard phrases, complaint handling).
pub const BANNED_PHRASES: &[BannedPhrase] = &[
    BannedPhrase {
        phrase: "喂",
        instead_zh: "您好",
        instead_en: "open with 您好 (hello), never 喂",
    },
    BannedPhrase {
        phrase: "什么",
        instead_zh: "请您再说一遍可以吗?",
        instead_en: "ask politely: 请您再说一遍可以吗? (could you say that again?)",
    },
    BannedPhrase {
        phrase: "不知道",
        instead_zh: "请您稍等,我帮您查一下",
        instead_en: "请您稍等,我帮您查一下 (one moment, I will look it up), or take the number and promise a reply",
    },
    BannedPhrase {
        phrase: "应该",
        instead_zh: "我帮您确认后给您答复",
        instead_en: "say what is certain, or 我帮您确认后给您答复 (I will confirm and reply)",
    },
    BannedPhrase {
        phrase: "好像",
        instead_zh: "我帮您确认后给您答复",
        instead_en: "say what is certain, or 我帮您确认后给您答复 (I will confirm and reply)",
    },
    BannedPhrase {
        phrase: "不可能",
        instead_zh: "是……而……(先认同,再说明)",
        instead_en: "disagree tactfully: 是……而…… (agree first, then explain)",
    },
    BannedPhrase {
        phrase: "这不归我管",
        instead_zh: "这件事由我负责跟进,会尽快给您答复",
        instead_en: "first contact is responsible: 这件事由我负责跟进 (I will follow this up and reply)",
    },
    BannedPhrase {
        phrase: "这不关我的事",
        instead_zh: "这件事由我负责跟进,会尽快给您答复",
        instead_en: "first contact is responsible: 这件事由我负责跟进 (I will follow this up and reply)",
    },
    BannedPhrase {
        phrase: "你弄错了",
        instead_zh: "是……而……(先认同,再说明)",
        instead_en: "disagree tactfully: 是……而…… (agree first, then explain)",
    },
    BannedPhrase {
        phrase: "你没有填对",
        instead_zh: "这张表格中还有一些东西需要我们填一下",
        instead_en: "这张表格中还有一些东西需要我们填一下 (there is a little more we need to fill in)",
    },
    BannedPhrase {
        phrase: "这是我们公司的规定",
        instead_zh: "我向您说明一下原因",
        instead_en: "explain the reason instead of citing the rules",
    },
    BannedPhrase {
        phrase: "随便你找哪个",
        instead_zh: "您的意见我已记录,会转交相关负责人",
        instead_en: "您的意见我已记录,会转交相关负责人 (it is recorded and will be passed on)",
    },
];

/// Approved phrases that contain a banned one: inside them it is fine
/// (the standard's own greeting and close ask "有什么可以帮…").
const APPROVED_CONTAINING_BANNED: &[&str] = &["有什么可以帮"];

/// A banned phrase found in a field, with what to say instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordHint {
    /// The field it was found in (`fault_point`, `description`).
    pub field: &'static str,
    pub phrase: &'static str,
    pub instead: &'static str,
}

/// Every banned phrase in `text`, once each, in the table's order; a longer
/// banned phrase hides the shorter ones inside it (不可能 is not also 可能),
/// and approved wording that contains one is not flagged.
pub fn banned_phrases_in(text: &str) -> Vec<&'static BannedPhrase> {
    let mut allowed = vec![false; text.len()];
    let cover = |allowed: &mut [bool], phrase: &str| {
        for (start, _) in text.match_indices(phrase) {
            allowed[start..start + phrase.len()].fill(true);
        }
    };
    for approved in APPROVED_CONTAINING_BANNED {
        cover(&mut allowed, approved);
    }
    let mut longest_first: Vec<&'static BannedPhrase> = BANNED_PHRASES.iter().collect();
    longest_first.sort_by_key(|banned| std::cmp::Reverse(banned.phrase.len()));
    let mut found = Vec::new();
    for banned in longest_first {
        let uncovered = text
            .match_indices(banned.phrase)
            .any(|(start, phrase)| !allowed[start..start + phrase.len()].iter().all(|a| *a));
        if uncovered {
            found.push(banned);
            cover(&mut allowed, banned.phrase);
        }
    }
    found.sort_by_key(|banned| {
        BANNED_PHRASES
            .iter()
            .position(|entry| entry.phrase == banned.phrase)
    });
    found
}

/// The hints for the customer-facing text of a visit, in `lang`.
pub fn word_hints(visit: &VisitRecord, lang: Lang) -> Vec<WordHint> {
    [
        ("fault_point", visit.work.fault_point.as_str()),
        ("description", visit.work.description.as_str()),
    ]
    .into_iter()
    .flat_map(|(field, text)| {
        banned_phrases_in(text)
            .into_iter()
            .map(move |banned| WordHint {
                field,
                phrase: banned.phrase,
                instead: match lang {
                    Lang::Zh => banned.instead_zh,
                    Lang::En => banned.instead_en,
                },
            })
    })
    .collect()
}
