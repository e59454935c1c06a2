-- Request support (standard item 23): the job stays open and its row keeps
-- the latest request the technician made (rules::support_after_push), so the
-- console lists the jobs awaiting support without replaying their ops.
-- Cleared when the job closes or a dispatcher re-books it.
ALTER TABLE jobs ADD COLUMN support_problem TEXT;
ALTER TABLE jobs ADD COLUMN support_requested_at TEXT;
CREATE INDEX jobs_awaiting_support ON jobs (support_requested_at) WHERE support_requested_at IS NOT NULL;
