-- Technical documents from HQ (standard item 24). `documents` holds only
-- what the laptop can open: a row is written with its whole content in one
-- transaction, so a download cut short is never listed. `documents_wanted`
-- keeps what a pull announced and is not downloaded yet (the notice as
-- JSON), so the pull cursor can move on and the next sync fetches it.
-- content is the last column: listing and searching never read it.
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    title_zh     TEXT NOT NULL,
    title_en     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB NOT NULL
) STRICT;

CREATE TABLE documents_wanted (
    id     TEXT PRIMARY KEY,
    notice TEXT NOT NULL
) STRICT;
