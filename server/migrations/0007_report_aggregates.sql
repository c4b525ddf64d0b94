-- Report aggregates, maintained in the transaction of every change that moves them (a report, an onboarding, a
-- deletion, a policy, group or tenant switch change), so that the policy list and a report page read a few rows
-- instead of resolving the whole fleet per request. See ARCHITECTURE.md, "Report aggregates".

-- One row per policy and device it targets (included minus excluded groups, eligible or not).
CREATE TABLE policy_devices (
    policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    -- The device's host name, lower-cased: the report's default order and its search.
    name_key  TEXT NOT NULL,
    -- shared::report::PolicyState code (the codes sort as the labels do).
    state     TEXT NOT NULL,
    -- The device can receive policies (its support and the tenant switches).
    eligible  INTEGER NOT NULL,
    -- The device's report of the current version counts in the per setting status.
    counted   INTEGER NOT NULL,
    PRIMARY KEY (policy_id, device_id)
) WITHOUT ROWID;

CREATE INDEX policy_devices_by_name ON policy_devices (policy_id, name_key, device_id);
CREATE INDEX policy_devices_by_state ON policy_devices (policy_id, state, name_key, device_id);
CREATE INDEX policy_devices_by_device ON policy_devices (device_id);

-- Per policy, its targeted devices by state.
CREATE TABLE policy_status_counts (
    policy_id      TEXT PRIMARY KEY REFERENCES policies(id) ON DELETE CASCADE,
    succeeded      INTEGER NOT NULL,
    error          INTEGER NOT NULL,
    conflict       INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    pending        INTEGER NOT NULL
);

-- Per policy and setting, the counted reports by the setting's state.
CREATE TABLE policy_setting_counts (
    policy_id      TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    setting_id     TEXT NOT NULL,
    succeeded      INTEGER NOT NULL,
    error          INTEGER NOT NULL,
    conflict       INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    PRIMARY KEY (policy_id, setting_id)
) WITHOUT ROWID;
