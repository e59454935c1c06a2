-- A supervisor reviews calls by time (standard item 20). Only call-log ops
-- enter this index, so pushes of every other change pay nothing for it.
CREATE INDEX ops_calls_by_time ON ops (device_time) WHERE kind = 'log_call';
