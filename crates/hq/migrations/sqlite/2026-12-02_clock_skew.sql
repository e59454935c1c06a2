-- A device whose clock ran more than five minutes off HQ's when it sent a
-- batch: each change of that batch carries how far ahead (seconds, negative
-- when behind), so its device_time is not read as the real time.
ALTER TABLE ops ADD COLUMN clock_skew_seconds INTEGER;
ALTER TABLE refused_ops ADD COLUMN clock_skew_seconds INTEGER;
