//! How SQLite is built (`.cargo/config.toml` passes the flags to
//! libsqlite3-sys): the app's store and HQ's SQLite backend share the build.

/// Each connection keeps a page cache of its own and SQLite counts no
/// memory globally. libsqlite3-sys's bundled build turns on
/// `SQLITE_ENABLE_MEMORY_MANAGEMENT`, which puts every connection's pages in
/// one cache behind one process-wide mutex, and memory accounting takes a
/// second such mutex on every allocation: HQ's readers, its writer and the
/// app's connections would queue on them under load. Nothing here uses what
/// they buy (a soft heap limit, `sqlite3_release_memory`).
#[test]
fn connections_share_no_page_cache_or_memory_counter() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let options: Vec<String> = conn
        .prepare("PRAGMA compile_options")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "one page cache for every connection: {options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "memory counted under a global mutex: {options:?}"
    );
}
