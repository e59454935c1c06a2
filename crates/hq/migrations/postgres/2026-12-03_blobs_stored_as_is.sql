-- Blobs are signatures (PNG), photos (JPEG) and their strokes: compressed
-- already, or small. PostgreSQL would try to compress each one as it
-- stores it out of line, and on a PNG that gives back a little, not enough
-- to keep, it runs to the end: the largest part of the server's CPU in
-- the depot bench. Stored as they come instead (rows written before keep
-- what they had).
ALTER TABLE blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;
