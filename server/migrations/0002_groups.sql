-- Device groups: static members, dynamic rules, nesting. "All devices" is virtual and not stored.

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('static', 'dynamic')),
    -- The rule's text for dynamic groups (parsed with shared::groups::Rule), NULL for static ones.
    rule        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK ((kind = 'dynamic') = (rule IS NOT NULL))
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;

CREATE TABLE group_nesting (
    parent_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    child_id  TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (parent_id, child_id),
    CHECK (parent_id <> child_id)
) WITHOUT ROWID;

CREATE INDEX group_nesting_by_child ON group_nesting (child_id);
