-- Finance integrity: the org's lock date (no change on or before it), the
-- reason of a rejection, and the history of every row.

-- 'YYYY-MM-DD'; NULL = no lock date.
ALTER TABLE orgs ADD COLUMN lock_date TEXT;

-- Set only on a rejected row, when the approver gave one.
ALTER TABLE transactions ADD COLUMN rejection_reason TEXT;

-- One entry per change to a row, written in the same transaction as the
-- change and keyed by its event seq (commit order). Not pruned: an audit
-- trail outlives the event log's retention.
CREATE TABLE history (
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    seq             BIGINT NOT NULL,
    transaction_id  TEXT NOT NULL,
    -- Where the row is after the change (before it, for a delete): whose
    -- readers may see this entry once the row itself is gone.
    property_id     TEXT NOT NULL,
    actor_id        TEXT NOT NULL REFERENCES users(id),
    action          TEXT NOT NULL CHECK (action IN ('created', 'updated', 'deleted', 'approved', 'rejected')),
    -- JSON: {"field": [from, to], ...}
    changes         TEXT NOT NULL,
    at              BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX history_row ON history (org_id, transaction_id, seq);
