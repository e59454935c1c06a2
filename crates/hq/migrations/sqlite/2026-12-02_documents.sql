-- Technical documents (standard item 24): what dispatchers publish for
-- every laptop. The content is a blob (in the blobs file, by its SHA-256);
-- change_seq is the pull cursor's counter, so a pull brings the documents
-- published or retired since the device's cursor.
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    title_zh     TEXT NOT NULL,
    title_en     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    size         INTEGER NOT NULL,
    state        TEXT NOT NULL,
    published_at TEXT NOT NULL,
    retired_at   TEXT,
    change_seq   INTEGER NOT NULL
);
CREATE INDEX documents_by_change ON documents (change_seq);
