-- Customers (standard items 15 and 22): a customer outlives a job. HQ
-- matches a new job's customer by the operator's account number, or by
-- phone (phone_key: its digits) when there is none (rules::match_customer),
-- and jobs.customer_id names the row. The job keeps the name, phone and
-- address it was dispatched with.
CREATE TABLE customers (
    id             UUID PRIMARY KEY,
    account_number TEXT UNIQUE,
    name           TEXT NOT NULL,
    phone          TEXT NOT NULL,
    phone_key      TEXT NOT NULL,
    address        TEXT NOT NULL,
    vip_grade      TEXT NOT NULL DEFAULT 'regular',
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX customers_by_phone ON customers (phone_key);

-- Every existing job's customer becomes a row under the id it has.
INSERT INTO customers (id, name, phone, phone_key, address, created_at)
SELECT customer_id, MIN(customer_name), MIN(phone),
       regexp_replace(MIN(phone), '[^0-9]', '', 'g'), MIN(address), MIN(created_at)
FROM jobs GROUP BY customer_id;

ALTER TABLE jobs ADD CONSTRAINT jobs_customer FOREIGN KEY (customer_id) REFERENCES customers (id);
-- A customer's history and the repeat-fault check read their jobs by time.
CREATE INDEX jobs_by_customer ON jobs (customer_id, window_start);
