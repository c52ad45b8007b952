-- Ledgerline schema, Postgres edition of migrations/sqlite/0001_init.sql.
-- Every TEXT column is COLLATE "C" so that comparisons and ORDER BY are
-- byte-wise, as SQLite's BINARY collation is: no behaviour differs.
-- Portable SQL: TEXT ids, dates as TEXT 'YYYY-MM-DD',
-- timestamps as BIGINT milliseconds since the epoch, money as BIGINT minor units.

CREATE TABLE orgs (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    currency    TEXT COLLATE "C" NOT NULL DEFAULT 'USD',
    -- Head of the org's event log; bumped with UPDATE … RETURNING inside every
    -- write transaction, so seq is gap-free and writes serialize per org.
    event_seq   BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE properties (
    id          TEXT COLLATE "C" PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(id),
    name        TEXT COLLATE "C" NOT NULL
);
CREATE INDEX properties_org ON properties (org_id, name);

CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    org_id         TEXT COLLATE "C" NOT NULL REFERENCES orgs(id),
    email          TEXT COLLATE "C" NOT NULL UNIQUE,
    name           TEXT COLLATE "C" NOT NULL,
    role           TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'manager', 'accountant', 'staff')),
    password_hash  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX users_org ON users (org_id);

-- Which properties a staff user may see. Other roles see the whole org.
CREATE TABLE user_properties (
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    property_id  TEXT COLLATE "C" NOT NULL REFERENCES properties(id),
    PRIMARY KEY (user_id, property_id)
);

-- Bearer tokens, stored only as their sha256.
CREATE TABLE sessions (
    id          TEXT COLLATE "C" PRIMARY KEY,
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE transactions (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    org_id              TEXT COLLATE "C" NOT NULL REFERENCES orgs(id),
    property_id         TEXT COLLATE "C" NOT NULL REFERENCES properties(id),
    kind                TEXT COLLATE "C" NOT NULL CHECK (kind IN ('revenue', 'expense')),
    amount_minor        BIGINT NOT NULL CHECK (amount_minor > 0),
    currency            TEXT COLLATE "C" NOT NULL,
    category            TEXT COLLATE "C" NOT NULL,
    memo                TEXT COLLATE "C" NOT NULL,
    occurred_on         TEXT COLLATE "C" NOT NULL,
    status              TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    version             BIGINT NOT NULL,
    client_mutation_id  TEXT COLLATE "C",
    created_by          TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
-- The list's keyset order, and the reports' range scans.
CREATE INDEX transactions_org_day ON transactions (org_id, occurred_on, id);
CREATE INDEX transactions_property_day ON transactions (property_id, occurred_on, id);
-- Idempotent create: one row per (org, client_mutation_id), whatever the race.
CREATE UNIQUE INDEX transactions_mutation ON transactions (org_id, client_mutation_id);

-- The transactional outbox: one row per committed change, written in the
-- same database transaction as the change itself.
CREATE TABLE events (
    org_id       TEXT COLLATE "C" NOT NULL REFERENCES orgs(id),
    seq          BIGINT NOT NULL,
    property_id  TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,
    payload      TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX events_property ON events (property_id);
CREATE INDEX events_created ON events (created_at);
