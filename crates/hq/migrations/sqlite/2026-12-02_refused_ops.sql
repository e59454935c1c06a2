-- A change HQ cannot apply (a job it does not know, or one never the
-- pushing technician's) is kept, never dropped, but apart from the op log:
-- it must not replay into a job's visit, receipt or records. Its job may be
-- one HQ does not hold, so job_id references nothing.
CREATE TABLE refused_ops (
    id          INTEGER PRIMARY KEY,
    op_id       TEXT NOT NULL UNIQUE,
    device_id   TEXT NOT NULL REFERENCES devices(id),
    seq         INTEGER NOT NULL,
    job_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    device_time TEXT NOT NULL,
    server_time TEXT NOT NULL,
    visit       INTEGER NOT NULL
);
CREATE INDEX refused_ops_by_job ON refused_ops (job_id, id);

-- A dispatcher learns of such a change as a conflict on its job, which HQ
-- may not hold: conflicts.job_id no longer references jobs. SQLite drops a
-- foreign key only by rebuilding the table.
CREATE TABLE conflicts_any_job (
    id            TEXT PRIMARY KEY,
    job_id        TEXT NOT NULL,
    device_id     TEXT NOT NULL REFERENCES devices(id),
    technician_id TEXT NOT NULL REFERENCES technicians(id),
    reason        TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    resolved_at   TEXT,
    resolution    TEXT,
    note          TEXT,
    resolved_by   TEXT,
    resolved_seq  INTEGER
);
INSERT INTO conflicts_any_job (id, job_id, device_id, technician_id, reason, op_id,
    created_at, resolved_at, resolution, note, resolved_by, resolved_seq)
    SELECT id, job_id, device_id, technician_id, reason, op_id, created_at, resolved_at,
        resolution, note, resolved_by, resolved_seq FROM conflicts;
DROP TABLE conflicts;
ALTER TABLE conflicts_any_job RENAME TO conflicts;
CREATE INDEX conflicts_by_job ON conflicts (job_id);
CREATE INDEX conflicts_resolved ON conflicts (technician_id, resolved_seq)
    WHERE resolved_seq IS NOT NULL;
