-- A dispatcher's decision on a conflict, as HQ sends it with a later pull.
ALTER TABLE sync_conflicts ADD COLUMN resolution TEXT;
ALTER TABLE sync_conflicts ADD COLUMN note TEXT;
ALTER TABLE sync_conflicts ADD COLUMN resolved_at TEXT;
