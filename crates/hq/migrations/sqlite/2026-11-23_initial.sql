-- HQ schema, SQLite. Ids are UUID text, times RFC 3339 UTC text with
-- microseconds (fixed width, so they sort as text), JSON as text.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('job_change', 0);

CREATE TABLE technicians (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE dispatchers (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    dispatcher_id TEXT NOT NULL REFERENCES dispatchers(id),
    expires_at    TEXT NOT NULL
);

CREATE TABLE enrollment_codes (
    code_hash     TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    device_id     TEXT
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    last_seq      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL,
    customer_name     TEXT NOT NULL,
    phone             TEXT NOT NULL,
    address           TEXT NOT NULL,
    job_type          TEXT NOT NULL,
    sub_case          TEXT NOT NULL,
    fault_description TEXT NOT NULL,
    window_start      TEXT NOT NULL,
    window_end        TEXT NOT NULL,
    status            TEXT NOT NULL,
    earlier_visits    TEXT NOT NULL,
    technician_id     TEXT REFERENCES technicians(id),
    change_seq        INTEGER NOT NULL,
    content_hash      TEXT,
    receipt_at        TEXT,
    created_at        TEXT NOT NULL
);
CREATE INDEX jobs_by_technician ON jobs (technician_id, change_seq);
CREATE INDEX jobs_by_window ON jobs (window_start);

-- Every technician a job was ever given to; unassigned_seq is the change
-- counter value at which it was taken away (NULL while it is theirs).
CREATE TABLE job_assignments (
    job_id         TEXT NOT NULL REFERENCES jobs(id),
    technician_id  TEXT NOT NULL REFERENCES technicians(id),
    assigned_seq   INTEGER NOT NULL,
    unassigned_seq INTEGER,
    PRIMARY KEY (job_id, technician_id)
);
CREATE INDEX job_assignments_removed ON job_assignments (technician_id, unassigned_seq);

-- The full op log: every outbox entry HQ applied, with both clocks.
CREATE TABLE ops (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id       TEXT NOT NULL UNIQUE,
    device_id   TEXT NOT NULL REFERENCES devices(id),
    seq         INTEGER NOT NULL,
    job_id      TEXT NOT NULL REFERENCES jobs(id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    device_time TEXT NOT NULL,
    server_time TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX ops_by_job ON ops (job_id, id);

-- The latest state of each technician record of a job.
CREATE TABLE tech_records (
    job_id      TEXT NOT NULL REFERENCES jobs(id),
    record_key  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    op_id       TEXT NOT NULL,
    device_time TEXT NOT NULL,
    server_time TEXT NOT NULL,
    removed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, record_key)
);

CREATE TABLE conflicts (
    id            TEXT PRIMARY KEY,
    job_id        TEXT NOT NULL REFERENCES jobs(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    reason        TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    resolved_at   TEXT,
    resolution    TEXT,
    note          TEXT,
    resolved_by   TEXT
);
CREATE INDEX conflicts_by_job ON conflicts (job_id);

CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
