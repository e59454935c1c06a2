-- A job can take more than one visit: rescheduled, then re-booked by a
-- dispatcher, it comes back as its next visit. The job holds HQ's visit
-- number, each outbox entry the visit it was made in (so a change still
-- pending from an earlier visit goes up as that visit's), and each earlier
-- visit stays as a snapshot of what was recorded. What existed before is
-- the first visit.
ALTER TABLE jobs ADD COLUMN visit INTEGER NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN visit INTEGER NOT NULL DEFAULT 1;

CREATE TABLE past_visits (
    job_id    TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    visit     INTEGER NOT NULL,
    -- the VisitRecord as it stood when the next visit began, as JSON
    record    TEXT NOT NULL,
    closed_at TEXT,
    PRIMARY KEY (job_id, visit)
) STRICT;
