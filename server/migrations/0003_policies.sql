-- Policies and every version of them. The current version's document is kept on the policy row as well, so that
-- reading a policy is one row; `policy_versions` holds the history, including the current version.

CREATE TABLE policies (
    id         TEXT PRIMARY KEY,
    profile    TEXT NOT NULL,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    version    INTEGER NOT NULL CHECK (version >= 1),
    -- shared::policy::PolicyDraft as JSON.
    document   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE policy_versions (
    policy_id  TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (policy_id, version)
) WITHOUT ROWID;
