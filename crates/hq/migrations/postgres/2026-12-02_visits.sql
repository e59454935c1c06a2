-- A job can take more than one visit: a job the technician rescheduled and a
-- dispatcher re-booked comes back as its next visit. Each op keeps the visit
-- it was made in; what existed before is the first visit.
ALTER TABLE jobs ADD COLUMN visit INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ops ADD COLUMN visit INTEGER NOT NULL DEFAULT 1;
