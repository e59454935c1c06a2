//! Technical documents on the laptop, on a real encrypted file: a pull
//! announces them, a download keeps one whole or not at all, a retirement
//! removes it, and the list searches titles offline.

use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{DocumentId, DocumentKind, DocumentNotice, DocumentState, PullResponse};
use doorstep_store::{Store, StoreError, StoreKey};

const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

fn notice(id: DocumentId, zh: &str, en: &str, content: &[u8], version: u32) -> DocumentNotice {
    DocumentNotice {
        id,
        title_zh: zh.into(),
        title_en: en.into(),
        kind: DocumentKind::Pdf,
        version,
        content_hash: sha256_hex(content),
        size: content.len() as u64,
        state: DocumentState::Published,
    }
}

fn pull(store: &mut Store, cursor: &str, documents: Vec<DocumentNotice>) {
    store
        .apply_dispatch(&PullResponse {
            cursor: cursor.into(),
            jobs: vec![],
            removed: vec![],
            outcomes: vec![],
            server_time: None,
            hq_epoch: None,
            customers: vec![],
            documents,
            time_zone: None,
            price_list: None,
        })
        .unwrap();
}

fn titles(store: &Store, query: &str) -> Vec<String> {
    store
        .documents(query)
        .unwrap()
        .into_iter()
        .map(|d| {
            if d.title_zh.is_empty() {
                d.title_en
            } else {
                d.title_zh
            }
        })
        .collect()
}

#[test]
fn a_document_is_listed_only_once_its_whole_content_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let stb = DocumentId::new();
    let modem = DocumentId::new();
    let stb_pdf = b"%PDF-1.4 set-top box".to_vec();
    let modem_pdf = b"%PDF-1.4 modem".to_vec();
    pull(
        &mut store,
        "3",
        vec![
            notice(stb, "机顶盒安装", "Set-top box set-up", &stb_pdf, 1),
            notice(modem, "", "Modem guide", &modem_pdf, 1),
        ],
    );
    assert!(
        titles(&store, "").is_empty(),
        "announced but not downloaded: nothing to open yet, so nothing listed"
    );
    assert_eq!(store.documents_to_fetch().unwrap().len(), 2);

    // A download that does not match its hash (cut short, or altered) is
    // refused and changes nothing.
    let wanted = store.documents_to_fetch().unwrap();
    let stb_notice = wanted.iter().find(|n| n.id == stb).unwrap().clone();
    let torn = store.keep_document(&stb_notice, &stb_pdf[..6]);
    assert!(matches!(torn, Err(StoreError::Corrupt(_))), "{torn:?}");
    assert!(titles(&store, "").is_empty());

    assert!(store.keep_document(&stb_notice, &stb_pdf).unwrap());
    let modem_notice = wanted.iter().find(|n| n.id == modem).unwrap().clone();
    assert!(store.keep_document(&modem_notice, &modem_pdf).unwrap());
    assert!(store.documents_to_fetch().unwrap().is_empty());
    drop(store);

    // Offline, after a restart: found by either title, any case, and opened.
    let mut store = Store::open(&path, &KEY).unwrap();
    assert_eq!(titles(&store, ""), vec!["Modem guide", "机顶盒安装"]);
    assert_eq!(titles(&store, "机顶盒"), vec!["机顶盒安装"]);
    assert_eq!(titles(&store, "set-top"), vec!["机顶盒安装"]);
    assert_eq!(titles(&store, "MODEM"), vec!["Modem guide"]);
    assert!(
        titles(&store, "%").is_empty(),
        "a typed % is a character, not a wildcard"
    );
    let (summary, content) = store.document(stb).unwrap();
    assert_eq!(
        (summary.kind, content),
        (DocumentKind::Pdf, stb_pdf.clone())
    );

    // A new version stays wanted until downloaded; the old one still opens.
    let stb_v2 = b"%PDF-1.4 set-top box, new remote".to_vec();
    pull(
        &mut store,
        "5",
        vec![notice(stb, "机顶盒安装", "", &stb_v2, 2)],
    );
    assert_eq!(store.document(stb).unwrap().1, stb_pdf);
    let v2 = store.documents_to_fetch().unwrap().pop().unwrap();
    assert_eq!(v2.version, 2);

    // Retired before the download finished: the download is dropped and
    // the document leaves the laptop.
    pull(
        &mut store,
        "6",
        vec![DocumentNotice {
            state: DocumentState::Retired,
            ..v2.clone()
        }],
    );
    assert!(
        !store.keep_document(&v2, &stb_v2).unwrap(),
        "a download for a document retired meanwhile is not kept"
    );
    assert!(matches!(store.document(stb), Err(StoreError::NotFound(_))));
    assert_eq!(titles(&store, ""), vec!["Modem guide"]);

    // A title change alone needs no download.
    pull(
        &mut store,
        "7",
        vec![notice(modem, "光猫指南", "Modem guide", &modem_pdf, 1)],
    );
    assert!(store.documents_to_fetch().unwrap().is_empty());
    assert_eq!(titles(&store, "光猫"), vec!["光猫指南"]);
}

/// A pull from no cursor (a new enrollment, or HQ restored) names every
/// document HQ publishes; one the laptop holds that it does not name was
/// retired meanwhile, or is another HQ's, and goes.
#[test]
fn a_pull_from_scratch_drops_documents_it_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("store.db"), &KEY).unwrap();
    let (old, kept) = (DocumentId::new(), DocumentId::new());
    let pdf = b"%PDF-1.4".to_vec();
    pull(
        &mut store,
        "4",
        vec![
            notice(old, "旧", "", &pdf, 1),
            notice(kept, "留", "", &pdf, 1),
        ],
    );
    for wanted in store.documents_to_fetch().unwrap() {
        store.keep_document(&wanted, &pdf).unwrap();
    }
    assert_eq!(titles(&store, "").len(), 2);
    store.rewind_to_hq(0, &chrono::Utc::now()).unwrap();
    pull(&mut store, "2", vec![notice(kept, "留", "", &pdf, 1)]);
    assert_eq!(titles(&store, ""), vec!["留"]);
    assert!(store.documents_to_fetch().unwrap().is_empty());
}
