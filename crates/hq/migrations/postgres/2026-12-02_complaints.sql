-- Complaints a dispatcher takes at HQ (standard item 19). Those taken on
-- site are technician changes in `ops`, read through the index below.
CREATE TABLE complaints (
    id              UUID PRIMARY KEY,
    job_id          UUID NOT NULL REFERENCES jobs(id),
    taken_by        TEXT NOT NULL,
    issue           TEXT NOT NULL,
    reply_by        TIMESTAMPTZ NOT NULL,
    raised_at       TIMESTAMPTZ NOT NULL,
    callback_at     TIMESTAMPTZ,
    callback_result TEXT,
    satisfied       BOOLEAN
);
CREATE INDEX complaints_by_job ON complaints (job_id);
CREATE INDEX ops_complaints ON ops (id) WHERE kind IN ('raise_complaint', 'log_complaint_callback');
