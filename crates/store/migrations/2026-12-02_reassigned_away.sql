-- HQ took the job off this technician's list (reassigned it away). Such a
-- job is removed from the laptop once nothing of it waits to go up (see
-- retention.rs); a pull that brings it back clears the mark.
ALTER TABLE jobs ADD COLUMN reassigned_away INTEGER NOT NULL DEFAULT 0;
