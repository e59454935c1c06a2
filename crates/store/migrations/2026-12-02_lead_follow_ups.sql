-- Leads are followed up by phone after the visit. The reminder is the
-- technician's local time with its offset (RFC 3339), so the call windows
-- can be judged from it alone; each follow-up call is kept with its lead,
-- as the JSON list of `LeadContact`. `follow_up` (a date, from before
-- reminders) is no longer read.
ALTER TABLE leads ADD COLUMN follow_up_at TEXT;
ALTER TABLE leads ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
