//! The job search on a real store file: through its trigram index (three
//! characters or more) or a scan (fewer), it finds exactly the jobs whose
//! customer's name, address or phone holds the query, whatever the case,
//! newest first, a page at a time; it follows a customer renamed or a job
//! moved to another customer; and a store from before the index gets it.

mod common;
use chrono::{DateTime, Duration, Utc};
use common::scheduled_job;
use doorstep_core::*;
use doorstep_store::{connect, JobFilter, ListCursor, Store, StoreKey, Tab, LIST_PAGE};
use rusqlite::{Connection, OpenFlags};

const KEY: StoreKey = StoreKey::from_bytes([0x77; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(customer: &Customer, start: DateTime<Utc>) -> Job {
    scheduled_job(customer.clone(), SubCase::Indoor, start)
}

fn customer(name: &str, address: &str, phone: &str) -> Customer {
    Customer {
        id: CustomerId::new(),
        name: name.into(),
        phone: phone.into(),
        address: address.into(),
        account_number: None,
    }
}

/// Every page of a search for `query`: the job ids in the order listed,
/// and the size of each page.
fn search(store: &Store, query: &str) -> (Vec<JobId>, Vec<usize>) {
    let filter = JobFilter {
        tab: Tab::Today,
        query: query.into(),
    };
    let now = at("2026-11-23T08:00:00+08:00");
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut after: Option<ListCursor> = None;
    loop {
        let page = store.list_jobs(&filter, now, now, after.as_ref()).unwrap();
        sizes.push(page.jobs.len());
        ids.extend(page.jobs.iter().map(|j| j.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return (ids, sizes),
        }
    }
}

fn found(store: &Store, query: &str) -> Vec<JobId> {
    search(store, query).0
}

/// What a search must list, written out plainly: the jobs whose
/// customer's name, address and phone, lower-cased, hold the query
/// (trimmed, lower-cased), newest window first, then by id.
fn expected(jobs: &[Job], query: &str) -> Vec<JobId> {
    let query = query.trim().to_lowercase();
    let mut hits: Vec<&Job> = jobs
        .iter()
        .filter(|j| {
            let c = &j.customer;
            format!("{} {} {}", c.name, c.address, c.phone)
                .to_lowercase()
                .contains(&query)
        })
        .collect();
    hits.sort_by_key(|j| std::cmp::Reverse((j.window_start, j.id)));
    hits.into_iter().map(|j| j.id).collect()
}

/// FTS5's own check of the index against the jobs it indexes (rank 1: the
/// text in the jobs table too); fails when the two are out of step.
fn index_in_step(path: &std::path::Path) {
    connect(path, &KEY, OpenFlags::default())
        .unwrap()
        .execute(
            "INSERT INTO job_search (job_search, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the search index matches the jobs");
}

/// Customers whose text tries what could set a substring search apart
/// from the index: FTS5's own syntax, quotes, LIKE's wildcards, spaces,
/// letters whose lower case is longer (İ) or hangs on its place (final Σ).
fn awkward_customers() -> Vec<Customer> {
    vec![
        customer(
            "陈美玲",
            "福州市鼓楼区五四路168号华林新村5栋221室",
            "13581590830",
        ),
        customer("林 秋萍", "  厦门市 思明区 莲前西路 ", "1390000 0001"),
        customer(
            "O'Brien \"Ace\"",
            "12 NEAR(Main) St AND -x OR y*",
            "+86 591 8888",
        ),
        customer("Müller ÄÖÜ", "Straße 5, İstanbul", "0049-30-1234"),
        customer("ΟΔΟΣ Σοφία", "Αθήνα ΟΔΟΣ", "210 555"),
        customer("100% 满意_客户", "泉州*市^丰泽区:东海", "1:2(3)"),
        customer("ＡＢＣ全角", "龙岩市新罗区九一北路180号", "18677741215"),
    ]
}

#[test]
fn a_search_finds_exactly_the_jobs_whose_text_holds_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let mut jobs: Vec<Job> = awkward_customers()
        .iter()
        .enumerate()
        .map(|(n, c)| job(c, start + Duration::hours(n as i64)))
        .collect();
    // 500 jobs in one district, on shared start times: searches that match
    // many (so the store walks the list) as well as few (it reads them).
    for n in 0..500 {
        let c = customer(
            &format!("客户{n:03}"),
            &format!("福州市仓山区上渡路{n}号"),
            &format!("1385{n:07}"),
        );
        jobs.push(job(&c, start + Duration::hours((n % 3) as i64)));
    }
    store.upsert_jobs(&jobs).unwrap();

    let mut queries: Vec<String> = vec![
        "不存在的客户".into(),
        "无此".into(),
        "仓山区".into(),
        "上渡路1".into(),
        "客户".into(),
        "1385".into(),
        "客户0".into(),
        "\"".into(),
        "\"\"".into(),
        "*".into(),
        "NEAR".into(),
        " and ".into(),
        "%".into(),
        "_".into(),
        "^".into(),
        ":".into(),
        "玲 福州".into(),
        "  美玲  ".into(),
    ];
    // Every substring of up to six characters of every awkward text,
    // as written and in upper and lower case.
    for c in awkward_customers() {
        let text: Vec<char> = format!("{} {} {}", c.name, c.address, c.phone)
            .chars()
            .collect();
        for len in 1..=6 {
            for window in text.windows(len) {
                let piece: String = window.iter().collect();
                queries.push(piece.to_uppercase());
                queries.push(piece.to_lowercase());
                queries.push(piece);
            }
        }
    }
    queries.retain(|q| !q.trim().is_empty());
    queries.sort();
    queries.dedup();
    for query in &queries {
        assert_eq!(
            found(&store, query),
            expected(&jobs, query),
            "search for {query:?}"
        );
    }
    assert!(
        queries
            .iter()
            .any(|q| expected(&jobs, q).len() > 2 * LIST_PAGE),
        "some searches page"
    );
    index_in_step(&path);
}

/// A two-character name cannot use trigrams; it is found all the same, by
/// its scan, and only where it is.
#[test]
fn a_two_character_chinese_query_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let meiling = job(
        &customer("陈美玲", "福州市鼓楼区五四路168号", "13581590830"),
        start,
    );
    let other = job(
        &customer("林建华", "福州市台江区工业路126号", "18913909960"),
        start,
    );
    store.upsert_jobs(&[meiling.clone(), other]).unwrap();
    assert_eq!(found(&store, "美玲"), vec![meiling.id]);
    assert_eq!(found(&store, "玲"), vec![meiling.id]);
    assert_eq!(found(&store, "美林"), vec![]);
}

/// The phone is searched like the name: digits found nowhere else.
#[test]
fn a_query_matching_only_the_phone_finds_its_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let by_phone = job(
        &customer("陈美玲", "福州市鼓楼区五四路168号", "13581590830"),
        start,
    );
    let other = job(
        &customer("林建华", "福州市台江区工业路126号", "18913909960"),
        start,
    );
    store.upsert_jobs(&[by_phone.clone(), other]).unwrap();
    assert_eq!(found(&store, "1590830"), vec![by_phone.id]);
    assert_eq!(found(&store, "59083"), vec![by_phone.id]);
    assert_eq!(
        found(&store, "15908301"),
        vec![],
        "past the end of the phone"
    );
}

/// A customer renamed on one of their jobs is found, on all of them, by
/// the new name and no longer by the old: the list shows the customer as
/// they are now, so the search must match that. A job moved to another
/// customer is found by that customer's name alone.
#[test]
fn a_renamed_customer_is_found_by_the_new_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let mut wang = customer("王秀英", "厦门市湖里区江头北路80号", "13589555979");
    let first = job(&wang, start);
    let second = job(&wang, start + Duration::days(1));
    store.upsert_jobs(&[first.clone(), second.clone()]).unwrap();
    assert_eq!(found(&store, "王秀英"), vec![second.id, first.id]);

    // HQ sends the first job again with the customer's new name.
    wang.name = "王秀华".into();
    let renamed = Job {
        customer: wang.clone(),
        ..first.clone()
    };
    store.upsert_jobs(std::slice::from_ref(&renamed)).unwrap();
    for old in ["王秀英", "秀英"] {
        assert_eq!(found(&store, old), vec![], "{old}: the old name is gone");
    }
    for new in ["王秀华", "秀华"] {
        assert_eq!(
            found(&store, new),
            vec![second.id, first.id],
            "{new}: both jobs by the new name"
        );
    }

    // The second job moves to another customer.
    let moved = Job {
        customer: customer("李建国", "泉州市鲤城区中山中路62号", "13836671276"),
        ..second.clone()
    };
    store.upsert_jobs(std::slice::from_ref(&moved)).unwrap();
    assert_eq!(found(&store, "王秀华"), vec![first.id]);
    assert_eq!(found(&store, "李建国"), vec![second.id]);
    assert_eq!(found(&store, "江头北路"), vec![first.id]);
    index_in_step(&path);
}

/// A search pages like the list: pages of 200, each job once, newest
/// first, however many match (a few hundred, or more than the store reads
/// through the index before it walks the list instead), on start times
/// many jobs share.
#[test]
fn a_search_pages_past_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let jobs: Vec<Job> = (0..700)
        .map(|n| {
            let district = if n < 250 { "甲片区" } else { "乙片区" };
            let c = customer(
                &format!("分页客户{n:03}"),
                &format!("福州市{district}{n}号"),
                "13800000000",
            );
            job(&c, start + Duration::hours((n % 2) as i64))
        })
        .collect();
    store.upsert_jobs(&jobs).unwrap();
    for (query, sizes) in [
        ("甲片区", vec![200, 50]),
        ("乙片区", vec![200, 200, 50]),
        ("分页客户", vec![200, 200, 200, 100]),
        ("客户", vec![200, 200, 200, 100]),
    ] {
        let (ids, pages) = search(&store, query);
        assert_eq!(pages, sizes, "{query}: pages of 200");
        assert_eq!(
            ids,
            expected(&jobs, query),
            "{query}: each job once, in order"
        );
    }
}

/// A store from before the index (its jobs stored, no index) has them
/// indexed when it opens, and found.
#[test]
fn a_store_from_before_the_index_gets_its_jobs_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let start = at("2026-11-23T09:00:00+08:00");
    let jobs: Vec<Job> = (0..30)
        .map(|n| {
            let c = customer(
                &format!("老客户{n:02}"),
                "福州市晋安区福马路52号",
                &format!("1359378{n:04}"),
            );
            job(&c, start + Duration::minutes(n))
        })
        .collect();
    let version = {
        let mut store = Store::open(&path, &KEY).unwrap();
        store.upsert_jobs(&jobs).unwrap();
        store.schema_version().unwrap()
    };
    // As the release before left it: the same rows, no index.
    let conn: Connection = connect(&path, &KEY, OpenFlags::default()).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER job_search_delete;
         DROP TABLE job_search;
         PRAGMA user_version = {};",
        version - 1
    ))
    .unwrap();
    drop(conn);

    let store = Store::open(&path, &KEY).unwrap();
    assert_eq!(store.schema_version().unwrap(), version);
    for query in ["老客户07", "福马路", "13593780012", "老客户"] {
        assert_eq!(found(&store, query), expected(&jobs, query), "{query}");
    }
    index_in_step(&path);
}
