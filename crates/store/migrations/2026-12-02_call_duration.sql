-- How long each call lasted (standard item 20); calls logged before this
-- have none.
ALTER TABLE call_logs ADD COLUMN duration_seconds INTEGER;
