-- What devices report: one row per device and policy (the latest version reported), and the device's resulting
-- local preferences.

CREATE TABLE device_policy_reports (
    device_id   TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    policy_id   TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    -- shared::report::PolicyState code.
    state       TEXT NOT NULL,
    -- Vec<shared::report::SettingResult> as JSON.
    settings    TEXT NOT NULL,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, policy_id)
) WITHOUT ROWID;

CREATE INDEX device_policy_reports_by_policy ON device_policy_reports (policy_id, state);

CREATE TABLE device_preferences (
    device_id   TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    -- BTreeMap<String, String> as JSON.
    preferences TEXT NOT NULL,
    reported_at INTEGER NOT NULL
);
