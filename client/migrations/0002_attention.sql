-- Writes the server refused (or found in conflict) stay in the outbox, held,
-- with the server's reason, until the user resends or discards them: the
-- "Needs attention" list. A held entry also holds the later writes queued
-- for the same row (they were made on top of it).
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'queued'; -- queued | refused | conflict
ALTER TABLE outbox ADD COLUMN error TEXT;                           -- the server's reason
