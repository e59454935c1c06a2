-- Blobs moved to the blob file beside the database; the storage copies any
-- held here into it, committed, before this runs.
DROP TABLE blobs;
