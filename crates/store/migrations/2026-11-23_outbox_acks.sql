-- HQ acknowledges the outbox in seq order, so what it holds is a prefix:
-- one row per answer ("every entry through this seq, at this time") replaces
-- a sent_at on every entry, which rewrote each row as its answer came.
CREATE TABLE outbox_acks (
    through_seq INTEGER PRIMARY KEY,
    acked_at    TEXT NOT NULL
) STRICT;

INSERT INTO outbox_acks (through_seq, acked_at)
SELECT max(seq), sent_at FROM outbox WHERE sent_at IS NOT NULL GROUP BY sent_at;

DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN sent_at;

CREATE VIEW pending_outbox AS
SELECT * FROM outbox
WHERE seq > (SELECT COALESCE(max(through_seq), 0) FROM outbox_acks);
