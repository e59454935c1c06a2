-- The customer's story (standard items 15 and 22), from HQ's history: the
-- customer's account number, their story as HQ sent it with the last pull
-- that named them (CustomerStory as JSON; NULL until one does), and on
-- each job the earlier fault job that makes it a repeat fault.
ALTER TABLE customers ADD COLUMN account_number TEXT;
ALTER TABLE customers ADD COLUMN story TEXT;
ALTER TABLE jobs ADD COLUMN repeat_of TEXT;
