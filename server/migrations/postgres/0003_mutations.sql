-- Idempotent updates, deletes, approvals and rejections: each write that
-- carries a `client_mutation_id` is recorded here in the same transaction
-- as the change, with the row it returned. A replay of it (its response was
-- lost; the client sends it again) is answered with that result instead of
-- being applied twice or refused with a false 409. Pruned with the events.
CREATE TABLE mutations (
    org_id              TEXT COLLATE "C" NOT NULL REFERENCES orgs(id),
    client_mutation_id  TEXT COLLATE "C" NOT NULL,
    op                  TEXT COLLATE "C" NOT NULL,   -- update | delete | approve | reject
    target_id           TEXT COLLATE "C" NOT NULL,
    result              TEXT COLLATE "C",            -- the Transaction JSON returned; NULL for a delete
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (org_id, client_mutation_id)
);
CREATE INDEX mutations_created ON mutations (created_at);
