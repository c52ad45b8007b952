-- Poll answers applied but not yet folded into `rows` (client/src/cache/
-- journal.rs): one row per applied answer (`n` in the order they were
-- committed), its body the rows' final states and deletions, or the ids a
-- later write settled (codec.rs). No secondary index: appending is what
-- makes applying cheap; the fold maintains rows' list indexes later, in
-- large transactions.
CREATE TABLE journal (
    n    INTEGER PRIMARY KEY NOT NULL,
    body BLOB NOT NULL
);
