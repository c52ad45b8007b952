-- The desktop cache: the rows windows list, where the event stream is at,
-- and the outbox of writes not yet confirmed by the server.

CREATE TABLE rows (
    id                 TEXT PRIMARY KEY NOT NULL,
    kind               TEXT NOT NULL,
    property_id        TEXT NOT NULL,
    amount_minor       INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    category           TEXT NOT NULL,
    memo               TEXT NOT NULL,
    occurred_on        TEXT NOT NULL,  -- YYYY-MM-DD, sorts as text
    status             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    client_mutation_id TEXT,
    created_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    pending_sync       INTEGER NOT NULL DEFAULT 0,
    sync_error         TEXT
) WITHOUT ROWID;

-- Lists are newest first (occurred_on DESC, id DESC) and filtered by
-- property, kind, status and a date range. Three indexes serve the common
-- shapes as index walks in list order (kind is a cheap residual filter on
-- the property walk); each index costs every write, so there are no more.
CREATE INDEX rows_by_date ON rows (occurred_on DESC, id DESC);
CREATE INDEX rows_by_property ON rows (property_id, occurred_on DESC, id DESC);
CREATE INDEX rows_by_status ON rows (status, occurred_on DESC, id DESC);

-- 'seq' (the event seq the rows are at), 'identity' (whose rows these are).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Writes in the order they were made; replayed in that order.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    client_mutation_id TEXT NOT NULL UNIQUE,
    op                 TEXT NOT NULL,  -- create | update | delete | approve | reject
    target_id          TEXT NOT NULL,  -- the row; local-<cmid> until its create is confirmed
    body               TEXT,           -- JSON request body (NewTransaction or TransactionPatch)
    prior              TEXT,           -- JSON Row before the optimistic change, for rollback
    created_at         TEXT NOT NULL
);
CREATE INDEX outbox_by_target ON outbox (target_id);
