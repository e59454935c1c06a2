-- HQ's history has an identity, its epoch. Restoring a backup starts a new
-- one (`doorstep-hq admin restore`, or `admin mark-restored` after a restore
-- by other means). A device keeps the epoch it last saw: a new one tells it
-- that HQ's history is no longer the one it synced with, even once HQ's
-- change counter has passed its cursor again. Every epoch is kept, so an
-- operator can see when HQ was restored; the latest is the current one.
CREATE TABLE epochs (
    n          INTEGER PRIMARY KEY,
    epoch      TEXT NOT NULL UNIQUE,
    started_at TEXT NOT NULL,
    reason     TEXT NOT NULL
);
INSERT INTO epochs (epoch, started_at, reason)
VALUES (lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now'), 'created');
