-- The local store of one technician's laptop.
-- Timestamps are RFC 3339 in UTC, so text order is time order.

CREATE TABLE customers (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    phone   TEXT NOT NULL,
    address TEXT NOT NULL
) STRICT;

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    job_type          TEXT NOT NULL CHECK (job_type IN ('install', 'fault')),
    sub_case          TEXT NOT NULL,
    fault_description TEXT NOT NULL,
    window_start      TEXT NOT NULL,
    window_end        TEXT NOT NULL,
    status            TEXT NOT NULL,
    step              TEXT NOT NULL DEFAULT 'phone',
    completed_at      TEXT,
    -- lower-cased name, address and phone: what the job search matches
    search_text       TEXT NOT NULL
) STRICT;
CREATE INDEX jobs_by_window ON jobs(window_start);
CREATE INDEX jobs_by_customer ON jobs(customer_id);

CREATE TABLE earlier_visits (
    job_id   TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    date     TEXT NOT NULL,
    summary  TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
) STRICT;

-- One row per on-site form section (departure, arrival, kit, work, fees,
-- communicate, feedback, cleanup, reschedule), its body the section as JSON.
CREATE TABLE visit_sections (
    job_id     TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    section    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, section)
) STRICT;

-- When the technician moved to each of the six steps.
CREATE TABLE step_log (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    step   TEXT NOT NULL,
    at     TEXT NOT NULL
) STRICT;
CREATE INDEX step_log_by_job ON step_log(job_id);

CREATE TABLE call_logs (
    id      TEXT PRIMARY KEY,
    job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note    TEXT NOT NULL
) STRICT;
CREATE INDEX call_logs_by_job ON call_logs(job_id);

CREATE TABLE replacements (
    id              TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    item            TEXT NOT NULL,
    old_serial      TEXT NOT NULL,
    new_serial      TEXT NOT NULL,
    told_in_advance INTEGER NOT NULL,
    consent         INTEGER NOT NULL
) STRICT;
CREATE INDEX replacements_by_job ON replacements(job_id);

CREATE TABLE leads (
    id        TEXT PRIMARY KEY,
    job_id    TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    product   TEXT NOT NULL,
    interest  TEXT NOT NULL,
    follow_up TEXT,
    note      TEXT NOT NULL
) STRICT;
CREATE INDEX leads_by_job ON leads(job_id);

-- Content-addressed bytes: signature PNGs and strokes, photos.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE photos (
    id        TEXT PRIMARY KEY,
    job_id    TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('before', 'after')),
    blob_hash TEXT NOT NULL REFERENCES blobs(hash),
    width     INTEGER NOT NULL,
    height    INTEGER NOT NULL,
    added_at  TEXT NOT NULL
) STRICT;
CREATE INDEX photos_by_job ON photos(job_id);

CREATE TABLE signatures (
    job_id              TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    signed_content_hash TEXT NOT NULL,
    png_hash            TEXT NOT NULL REFERENCES blobs(hash),
    strokes_hash        TEXT NOT NULL REFERENCES blobs(hash),
    width               INTEGER NOT NULL,
    height              INTEGER NOT NULL,
    signed_at           TEXT NOT NULL
) STRICT;

-- Every local change, in order, for the sync client to push. op_id makes a
-- replay idempotent: HQ applies each op_id once.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id       TEXT NOT NULL UNIQUE,
    job_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    device_time TEXT NOT NULL,
    sent_at     TEXT
) STRICT;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
