-- The op log, leaner to append to, as SQLite's has been since its
-- 2026-11-25_lean_ops.sql: a push inserts thousands of ops in one
-- statement, and each constraint below cost a lookup per op (a foreign-key
-- check run through SPI, which also locks the row it finds; a unique
-- b-tree probe), about half of the insert's time.
-- - device_id and job_id are checked by the push itself: the device is the
--   one that authenticated, its row locked; every job is locked and read
--   before its ops go in; neither is ever deleted.
-- - (device_id, seq) is kept unique by the push's last_seq rule, under the
--   device's row lock, whichever server applies the batch.
ALTER TABLE ops
    DROP CONSTRAINT IF EXISTS ops_device_id_fkey,
    DROP CONSTRAINT IF EXISTS ops_job_id_fkey,
    DROP CONSTRAINT IF EXISTS ops_device_id_seq_key;
