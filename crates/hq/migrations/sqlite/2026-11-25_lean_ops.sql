-- The op log, leaner to append to: a push inserts thousands of ops in one
-- transaction, and each constraint below cost a b-tree lookup per op.
-- - Ops are never deleted, so plain rowids only grow; AUTOINCREMENT's
--   bookkeeping row bought nothing.
-- - device_id and job_id are checked by the push itself (the device is the
--   one that authenticated; every job is loaded before its ops go in).
-- - (device_id, seq) is kept unique by the push's last_seq rule.
CREATE TABLE ops_lean (
    id          INTEGER PRIMARY KEY,
    op_id       TEXT NOT NULL UNIQUE,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    job_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    device_time TEXT NOT NULL,
    server_time TEXT NOT NULL
);
INSERT INTO ops_lean SELECT id, op_id, device_id, seq, job_id, kind, payload, device_time,
    server_time FROM ops ORDER BY id;
DROP TABLE ops;
ALTER TABLE ops_lean RENAME TO ops;
CREATE INDEX ops_by_job ON ops (job_id, id);
