-- Complaints a dispatcher takes at HQ (standard item 19). Those taken on
-- site are technician changes in `ops`, read through the index below.
CREATE TABLE complaints (
    id              TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL REFERENCES jobs(id),
    taken_by        TEXT NOT NULL,
    issue           TEXT NOT NULL,
    reply_by        TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    callback_at     TEXT,
    callback_result TEXT,
    satisfied       INTEGER
);
CREATE INDEX complaints_by_job ON complaints (job_id);
CREATE INDEX ops_complaints ON ops (id) WHERE kind IN ('raise_complaint', 'log_complaint_callback');
