-- HQ's history has an identity, its epoch. Restoring a backup (pg_restore)
-- is followed by `doorstep-hq admin mark-restored`, which starts a new one.
-- A device keeps the epoch it last saw: a new one tells it that HQ's history
-- is no longer the one it synced with, even once HQ's change counter has
-- passed its cursor again. Every epoch is kept, so an operator can see when
-- HQ was restored; the latest is the current one.
CREATE TABLE epochs (
    n          BIGSERIAL PRIMARY KEY,
    epoch      TEXT NOT NULL UNIQUE,
    started_at TIMESTAMPTZ NOT NULL,
    reason     TEXT NOT NULL
);
INSERT INTO epochs (epoch, started_at, reason)
VALUES (replace(gen_random_uuid()::text, '-', ''), now(), 'created');
