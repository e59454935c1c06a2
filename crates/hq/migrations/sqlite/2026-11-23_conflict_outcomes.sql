-- A resolved conflict takes a number from the job_change counter, so that
-- the technician's next pull brings the dispatcher's decision.
ALTER TABLE conflicts ADD COLUMN resolved_seq INTEGER;
CREATE INDEX conflicts_resolved ON conflicts (technician_id, resolved_seq)
    WHERE resolved_seq IS NOT NULL;
