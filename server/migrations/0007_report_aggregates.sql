-- Report aggregates, maintained in the transaction of every change that moves them (a report, an onboarding, a
-- deletion, a policy, group or tenant switch change), so that the policy list and a report page read a few rows
-- instead of resolving the whole fleet per request. See ARCHITECTURE.md, "Report aggregates".

-- One row per policy and device it targets (included minus excluded groups, eligible or not). Keyed device first:
-- reports arrive by device, so the rows a report batch changes lie together; the one index is by policy and name,
-- which a report never changes.
CREATE TABLE policy_devices (
    device_id        TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    policy_id        TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    -- The device's host name, lower-cased: the report's default order and its search.
    name_key         TEXT NOT NULL,
    -- The device's own support allows policies (the tenant switches apply when this is read).
    eligible         INTEGER NOT NULL,
    -- What the device last reported of the policy: the version and the policy's state in that report (both NULL
    -- before its first report). The state shown is derived with the policy's current version
    -- (shared::report::targeted_state), so a new version moves no row here.
    reported_version INTEGER,
    reported_state   TEXT,
    -- The hash of that report's setting results (device_policy_reports.results_hash).
    reported_hash    INTEGER,
    PRIMARY KEY (device_id, policy_id)
) WITHOUT ROWID;

CREATE INDEX policy_devices_by_name ON policy_devices (policy_id, name_key);

-- Reports by policy, without the state: a report that changes a state no longer moves an index entry elsewhere.
-- A hash of the stored setting results (the first 8 bytes of the SHA-256 of their JSON), so that a report repeating
-- them is known as such without reading them back; NULL for reports stored before.
ALTER TABLE device_policy_reports ADD COLUMN results_hash INTEGER;

DROP INDEX device_policy_reports_by_policy;
CREATE INDEX device_policy_reports_by_policy ON device_policy_reports (policy_id);

-- Per policy: its targeted devices, eligible by their own support and not, and among the eligible those whose report of the policy's
-- current version is in each state (the rest of the eligible are Pending; not_applicable here is only what devices
-- reported, the ineligible are Not applicable too); and its targeted devices by their last check-in.
CREATE TABLE policy_status_counts (
    policy_id      TEXT PRIMARY KEY REFERENCES policies(id) ON DELETE CASCADE,
    eligible       INTEGER NOT NULL,
    ineligible     INTEGER NOT NULL,
    succeeded      INTEGER NOT NULL,
    error          INTEGER NOT NULL,
    conflict       INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    -- Targeted devices that never checked in, and those whose last check-in is at or after the policy's last change.
    never          INTEGER NOT NULL,
    since_change   INTEGER NOT NULL
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

-- Moves in every transaction that changes what decides a policy's devices (policies, the groups they reach, the
-- tenant switches): the key of the writer's cache of those inputs, read by each onboarding.
CREATE TABLE targeting_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO targeting_generation (id, generation) VALUES (1, 0);
