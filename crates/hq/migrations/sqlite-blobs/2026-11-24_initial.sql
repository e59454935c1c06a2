-- HQ's blob file: signatures and photos by SHA-256, beside the database.
-- Its pages are 64 KiB (set when the file is created), so a signature sits
-- in one page.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
