//! The job search on a real store file: through its trigram index (three
//! characters or more) or the texts held in memory (fewer), it finds
//! exactly the jobs whose customer's name, address or phone holds the
//! query, whatever the case, newest first, a page at a time; it follows a
//! customer renamed, a job moved to another customer, jobs pulled or
//! removed, a write rolled back or made by another connection; and a store
//! from before the index gets it.

mod common;
use chrono::{DateTime, Duration, Utc};
use common::scheduled_job;
use doorstep_core::wire::PullResponse;
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

/// A two-character name cannot use trigrams; it is found all the same,
/// through the texts in memory, and only where it is.
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

/// What `instr` finds in the file for `query` (trimmed, lower-cased), in
/// the list's order: what a short query listed when it scanned the jobs,
/// and must list still.
fn instr_finds(file: &Connection, query: &str) -> Vec<JobId> {
    file.prepare_cached(
        "SELECT id FROM jobs WHERE instr(search_text, ?1) > 0
         ORDER BY window_start DESC, id DESC",
    )
    .unwrap()
    .query_map([query.trim().to_lowercase()], |row| row.get::<_, String>(0))
    .unwrap()
    .map(|id| id.unwrap().parse().unwrap())
    .collect()
}

/// Every one- and two-character query these texts hold, and a few they
/// do not: what the short queries below are checked with.
fn short_queries(customers: &[&Customer]) -> Vec<String> {
    let mut queries: Vec<String> = vec!["无".into(), "无此".into(), "Z".into()];
    for c in customers {
        let text: Vec<char> = format!("{} {} {}", c.name, c.address, c.phone)
            .chars()
            .collect();
        for len in 1..=2 {
            queries.extend(text.windows(len).map(|w| w.iter().collect::<String>()));
        }
    }
    queries.retain(|q| !q.trim().is_empty());
    queries.sort();
    queries.dedup();
    queries
}

/// Each query finds, page after page, exactly what `instr` finds in the
/// file.
fn as_instr_finds(store: &Store, path: &std::path::Path, queries: &[String], when: &str) {
    let file = connect(path, &KEY, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    for query in queries {
        assert_eq!(
            found(store, query),
            instr_finds(&file, query),
            "{when}: search for {query:?}"
        );
    }
}

/// `n` customers of a few surnames (half of them 王), one of them the only
/// 欧阳, their phones all different.
fn many_customers(n: usize) -> Vec<Customer> {
    const SURNAMES: [&str; 4] = ["王", "李", "王", "张"];
    const GIVEN: [&str; 5] = ["秀英", "建国", "美玲", "志强", "丽娟"];
    (0..n)
        .map(|i| {
            let name = if i == n / 2 {
                "欧阳春晓".to_string()
            } else {
                format!("{}{}", SURNAMES[i % 4], GIVEN[i % 5])
            };
            customer(
                &name,
                &format!("福州市鼓楼区五四路{}号", i % 37),
                &format!("13{:09}", i * 7919),
            )
        })
        .collect()
}

/// One and two characters are answered from the texts held in memory; they
/// must find what `instr` finds in the file, and go on doing so as the
/// jobs change after the texts were read: a customer renamed, a job moved
/// to another customer, jobs pulled, jobs removed by retention.
#[test]
fn short_queries_find_what_instr_finds_as_the_jobs_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let customers = many_customers(600);
    // Three jobs to a start time: the list's order falls back on the id.
    let jobs: Vec<Job> = customers
        .iter()
        .enumerate()
        .map(|(n, c)| job(c, start + Duration::hours((n / 3) as i64)))
        .collect();
    store.upsert_jobs(&jobs).unwrap();
    let queries = short_queries(&customers.iter().collect::<Vec<_>>());
    as_instr_finds(&store, &path, &queries, "as pulled");
    assert!(
        found(&store, "王").len() > LIST_PAGE,
        "a surname spans pages"
    );
    assert_eq!(found(&store, "欧阳"), vec![jobs[300].id], "a rare name");

    // HQ renames the rare customer, and moves a 王's job to a new customer.
    let renamed = Customer {
        name: "司马光".into(),
        ..customers[300].clone()
    };
    let moved_to = customer("诸葛亮", "泉州市鲤城区中山中路62号", "18800000000");
    store
        .upsert_jobs(&[
            Job {
                customer: renamed.clone(),
                ..jobs[300].clone()
            },
            Job {
                customer: moved_to.clone(),
                ..jobs[4].clone()
            },
        ])
        .unwrap();
    assert_eq!(found(&store, "欧阳"), vec![], "the old name is gone");
    assert_eq!(found(&store, "司马"), vec![jobs[300].id], "the new name");
    assert_eq!(found(&store, "诸葛"), vec![jobs[4].id], "the job moved");
    let changed = short_queries(&[&customers[300], &renamed, &customers[4], &moved_to]);
    as_instr_finds(&store, &path, &changed, "after a rename and a move");

    // A later pull brings new jobs; then HQ takes a third away, and retention
    // removes them (nothing of them waits to go up).
    let pulled: Vec<Job> = many_customers(30)
        .iter()
        .map(|c| job(c, start - Duration::days(1)))
        .collect();
    store.upsert_jobs(&pulled).unwrap();
    as_instr_finds(&store, &path, &queries, "after a pull");
    let removed: Vec<JobId> = jobs.iter().step_by(3).map(|j| j.id).collect();
    store
        .apply_dispatch(&PullResponse {
            cursor: "2".into(),
            removed: removed.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.sweep_retention(start).unwrap(), removed.len());
    as_instr_finds(&store, &path, &queries, "after retention");
    assert!(
        removed.iter().all(|id| !found(&store, "13").contains(id)),
        "no removed job is found"
    );
}

/// A pull that fails half-way is rolled back whole; the texts in memory
/// must not keep what it wrote before it failed, nor lose what it touched.
#[test]
fn a_write_rolled_back_leaves_short_queries_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(Store::open(&path, &KEY).unwrap());
    // A job for a customer called 坏单 cannot be stored: it fails the pull.
    connect(&path, &KEY, OpenFlags::default())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_bad_job BEFORE INSERT ON jobs
             WHEN instr(NEW.search_text, '坏单') > 0
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let mut store = Store::open(&path, &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let wang = customer("王秀英", "厦门市湖里区江头北路80号", "13589555979");
    let first = job(&wang, start);
    store.upsert_jobs(std::slice::from_ref(&first)).unwrap();
    assert_eq!(found(&store, "秀英"), vec![first.id]);

    let renamed = Job {
        customer: Customer {
            name: "王秀华".into(),
            ..wang.clone()
        },
        ..first.clone()
    };
    let bad = job(&customer("坏单", "福州市", "1"), start);
    assert!(store.upsert_jobs(&[renamed, bad]).is_err());
    assert_eq!(
        found(&store, "秀英"),
        vec![first.id],
        "the rename rolled back"
    );
    assert_eq!(found(&store, "秀华"), vec![]);
    assert_eq!(found(&store, "坏单"), vec![]);
    let queries = short_queries(&[&wang]);
    as_instr_finds(&store, &path, &queries, "after the rollback");
}

/// The store is the file's only writer, but should another connection
/// write the jobs, short queries still find what the file holds.
#[test]
fn short_queries_follow_another_connections_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let start = at("2026-11-23T09:00:00+08:00");
    let (wang, li) = (
        customer("王秀英", "厦门市湖里区江头北路80号", "13589555979"),
        customer("李建国", "泉州市鲤城区中山中路62号", "13836671276"),
    );
    let (first, second) = (job(&wang, start), job(&li, start));
    store.upsert_jobs(&[first.clone(), second.clone()]).unwrap();
    assert_eq!(found(&store, "秀英"), vec![first.id]);

    let other = connect(&path, &KEY, OpenFlags::default()).unwrap();
    other
        .execute("DELETE FROM jobs WHERE id = ?1", [first.id.to_string()])
        .unwrap();
    other
        .execute(
            "UPDATE jobs SET search_text = '欧阳春晓' WHERE id = ?1",
            [second.id.to_string()],
        )
        .unwrap();
    assert_eq!(found(&store, "秀英"), vec![], "deleted elsewhere");
    assert_eq!(found(&store, "欧阳"), vec![second.id], "changed elsewhere");
}
