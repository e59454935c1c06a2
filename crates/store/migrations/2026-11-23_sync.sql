-- What HQ answered: a receipt per job, conflicts it reported, and which
-- blobs it already holds (so each is sent once).

CREATE TABLE sync_receipts (
    job_id       TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    server_time  TEXT NOT NULL,
    content_hash TEXT NOT NULL
) STRICT;

CREATE TABLE sync_conflicts (
    conflict_id TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    reason      TEXT NOT NULL,
    reported_at TEXT NOT NULL
) STRICT;

CREATE TABLE sync_blobs_sent (
    hash TEXT PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE
) STRICT;

CREATE INDEX outbox_pending ON outbox(seq) WHERE sent_at IS NULL;
