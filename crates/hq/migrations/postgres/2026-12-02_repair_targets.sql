-- Repair-time targets (standard item 21): per job type, the hours from the
-- report within which a job should be done. A type without a row has none.
CREATE TABLE repair_targets (
    job_type   TEXT PRIMARY KEY,
    hours      INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- When the customer reported the job (HQ's receipt of it unless the
-- dispatcher gave a time), and when it is due under the target in force
-- then (rules::repair_due_by). Jobs from before had no target.
ALTER TABLE jobs ADD COLUMN reported_at TIMESTAMPTZ;
ALTER TABLE jobs ADD COLUMN due_by TIMESTAMPTZ;
UPDATE jobs SET reported_at = created_at;
