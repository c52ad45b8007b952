-- Facts about this database itself. `epoch` names it: long-poll cursors
-- carry it (`epoch.seq`), so a cursor from another database, or from before
-- a restore (which runs `ledgerline-server new-epoch`), gets `reset: true`
-- instead of silently skipping events.
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Instances of a fleet look for revocations made elsewhere since a moment
-- (the safety net under the bus's revocation messages).
CREATE INDEX sessions_revoked ON sessions (revoked_at);
-- Pruning expired and revoked sessions.
CREATE INDEX sessions_expires ON sessions (expires_at);
