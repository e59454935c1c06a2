-- Repair-time targets (standard item 21): HQ sends when the customer
-- reported each job and when it is due; the job list flags a job past it
-- and not done (rules::is_past_target). NULL: no target, or an older HQ.
ALTER TABLE jobs ADD COLUMN reported_at TEXT;
ALTER TABLE jobs ADD COLUMN due_by TEXT;
