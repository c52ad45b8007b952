-- Finance integrity: why a row was rejected (shown beside it), and each
-- row's history as last fetched, so it stays readable offline.
ALTER TABLE rows ADD COLUMN rejection_reason TEXT;

CREATE TABLE history (
    transaction_id TEXT PRIMARY KEY NOT NULL,
    body           TEXT NOT NULL,  -- the server's History JSON
    fetched_at     TEXT NOT NULL
) WITHOUT ROWID;
