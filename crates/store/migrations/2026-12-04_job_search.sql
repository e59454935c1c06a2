-- The job search's index (issue 15: under 20 ms with 100,000 jobs, a
-- search that matches nothing included). An FTS5 table over
-- jobs.search_text with the trigram tokenizer, so any substring of three
-- characters or more is found through the index rather than by reading
-- every job. case_sensitive 1: search_text and the query are both
-- lower-cased by the store (Rust's full Unicode lower-casing), so the index
-- matches exactly what instr() on the same text matches. It indexes the
-- jobs table's own column (content='jobs'), so the text is not stored
-- twice, and it lives in the encrypted file like every table.
CREATE VIRTUAL TABLE job_search USING fts5(
    search_text,
    content = 'jobs',
    content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 1'
);

-- A job removed (retention, a revoked device) or a customer renamed takes
-- its terms out of the index at once, rather than leaving them behind a
-- delete marker until segments merge: the laptop keeps no trace of a
-- customer it no longer holds.
INSERT INTO job_search (job_search, rank) VALUES ('secure-delete', 1);

-- The store indexes a job's text where it writes it (src/search.rs); a
-- job removed, by whatever path (retention, a revoked device), leaves the
-- index here.
CREATE TRIGGER job_search_delete AFTER DELETE ON jobs BEGIN
    INSERT INTO job_search (job_search, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
END;

-- Jobs already stored are indexed now.
INSERT INTO job_search (job_search) VALUES ('rebuild');
