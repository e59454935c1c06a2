-- The latest state of each technician record is read off the op log when a
-- job is opened, so a push writes each change once.
DROP TABLE tech_records;
