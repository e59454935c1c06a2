-- A change HQ cannot apply (a job it does not know, or one never the
-- pushing technician's) is kept, never dropped, but apart from the op log:
-- it must not replay into a job's visit, receipt or records. Its job may be
-- one HQ does not hold, so job_id references nothing.
CREATE TABLE refused_ops (
    id          BIGSERIAL PRIMARY KEY,
    op_id       UUID NOT NULL UNIQUE,
    device_id   UUID NOT NULL REFERENCES devices(id),
    seq         BIGINT NOT NULL,
    job_id      UUID NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    device_time TIMESTAMPTZ NOT NULL,
    server_time TIMESTAMPTZ NOT NULL,
    visit       INTEGER NOT NULL
);
CREATE INDEX refused_ops_by_job ON refused_ops (job_id, id);

-- A dispatcher learns of such a change as a conflict on its job, which HQ
-- may not hold.
ALTER TABLE conflicts DROP CONSTRAINT conflicts_job_id_fkey;
