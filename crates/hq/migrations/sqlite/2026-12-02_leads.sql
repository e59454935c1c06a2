-- Leads (standard item 16): the latest state of each lead a technician
-- recorded, written at push from the visit HQ rebuilds (rules::leads_after_push),
-- so the console lists and exports the leads due for follow-up without
-- replaying ops. Whom to call is copied from the job when the lead is written.
CREATE TABLE leads (
    id             TEXT PRIMARY KEY,
    job_id         TEXT NOT NULL REFERENCES jobs(id),
    technician_id  TEXT NOT NULL,
    customer_name  TEXT NOT NULL,
    phone          TEXT NOT NULL,
    product        TEXT NOT NULL,
    interest       TEXT NOT NULL,
    -- a follow-up call is still owed (doorstep_core::leads::is_open)
    open           INTEGER NOT NULL,
    -- the reminder as an instant, for order and the due filter
    follow_up_at   TEXT,
    -- the Lead as the technician's app holds it (JSON): note, local reminder, calls
    body           TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX leads_open_by_due ON leads (follow_up_at) WHERE open = 1;
CREATE INDEX leads_by_job ON leads (job_id);
