-- HQ schema, PostgreSQL.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('job_change', 0);

CREATE TABLE technicians (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dispatchers (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    dispatcher_id UUID NOT NULL REFERENCES dispatchers(id),
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE enrollment_codes (
    code_hash     TEXT PRIMARY KEY,
    technician_id UUID NOT NULL REFERENCES technicians(id),
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ,
    device_id     UUID
);

CREATE TABLE devices (
    id            UUID PRIMARY KEY,
    technician_id UUID NOT NULL REFERENCES technicians(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    last_seq      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE jobs (
    id                UUID PRIMARY KEY,
    customer_id       UUID NOT NULL,
    customer_name     TEXT NOT NULL,
    phone             TEXT NOT NULL,
    address           TEXT NOT NULL,
    job_type          TEXT NOT NULL,
    sub_case          TEXT NOT NULL,
    fault_description TEXT NOT NULL,
    window_start      TIMESTAMPTZ NOT NULL,
    window_end        TIMESTAMPTZ NOT NULL,
    status            TEXT NOT NULL,
    earlier_visits    TEXT NOT NULL,
    technician_id     UUID REFERENCES technicians(id),
    change_seq        BIGINT NOT NULL,
    content_hash      TEXT,
    receipt_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_by_technician ON jobs (technician_id, change_seq);
CREATE INDEX jobs_by_window ON jobs (window_start);

-- Every technician a job was ever given to; unassigned_seq is the change
-- counter value at which it was taken away (NULL while it is theirs).
CREATE TABLE job_assignments (
    job_id         UUID NOT NULL REFERENCES jobs(id),
    technician_id  UUID NOT NULL REFERENCES technicians(id),
    assigned_seq   BIGINT NOT NULL,
    unassigned_seq BIGINT,
    PRIMARY KEY (job_id, technician_id)
);
CREATE INDEX job_assignments_removed ON job_assignments (technician_id, unassigned_seq);

-- The full op log: every outbox entry HQ applied, with both clocks.
CREATE TABLE ops (
    id          BIGSERIAL PRIMARY KEY,
    op_id       UUID NOT NULL UNIQUE,
    device_id   UUID NOT NULL REFERENCES devices(id),
    seq         BIGINT NOT NULL,
    job_id      UUID NOT NULL REFERENCES jobs(id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    device_time TIMESTAMPTZ NOT NULL,
    server_time TIMESTAMPTZ NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX ops_by_job ON ops (job_id, id);

-- The latest state of each technician record of a job.
CREATE TABLE tech_records (
    job_id      UUID NOT NULL REFERENCES jobs(id),
    record_key  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    op_id       UUID NOT NULL,
    device_time TIMESTAMPTZ NOT NULL,
    server_time TIMESTAMPTZ NOT NULL,
    removed     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (job_id, record_key)
);

CREATE TABLE conflicts (
    id            UUID PRIMARY KEY,
    job_id        UUID NOT NULL REFERENCES jobs(id),
    device_id     UUID NOT NULL REFERENCES devices(id),
    technician_id UUID NOT NULL REFERENCES technicians(id),
    reason        TEXT NOT NULL,
    op_id         UUID NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    resolved_at   TIMESTAMPTZ,
    resolution    TEXT,
    note          TEXT,
    resolved_by   TEXT
);
CREATE INDEX conflicts_by_job ON conflicts (job_id);

CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    bytes      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
