-- Accounts: a dispatcher can be disabled (no log-in, no session).
ALTER TABLE dispatchers ADD COLUMN disabled_at TIMESTAMPTZ;

-- An outstanding enrollment code is revoked by an id the console can show;
-- the code itself is kept only as its hash.
ALTER TABLE enrollment_codes ADD COLUMN id UUID;
UPDATE enrollment_codes SET id = gen_random_uuid();
ALTER TABLE enrollment_codes ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX enrollment_codes_by_id ON enrollment_codes (id);
CREATE INDEX enrollment_codes_by_expiry ON enrollment_codes (expires_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_dispatcher ON sessions (dispatcher_id);

-- The audit log: every dispatcher action, written in the transaction of the
-- action itself. actor is the dispatcher's username (NULL: the command
-- line); the targets reference nothing, so an entry outlives what it names.
CREATE TABLE audit_log (
    id            BIGSERIAL PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    actor         TEXT,
    action        TEXT NOT NULL,
    job_id        UUID,
    technician_id UUID,
    device_id     UUID,
    username      TEXT,
    detail        TEXT NOT NULL
);
CREATE INDEX audit_log_by_job ON audit_log (job_id, id);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_at ON audit_log (at);
