-- Reports split in two: a small row per device and policy (version, state, time, hash), rewritten by every report,
-- and the setting results (JSON, about a kilobyte), written only when they change. A device re-reporting unchanged
-- results — nearly every policy of every report once a fleet is steady — rewrites the small row only, and reading a
-- report's state or time never walks the results' pages.
CREATE TABLE device_policy_reports_new (
    device_id    TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    policy_id    TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    -- shared::report::PolicyState code.
    state        TEXT NOT NULL,
    reported_at  INTEGER NOT NULL,
    -- The first 8 bytes of the SHA-256 of the results' JSON; NULL for reports stored before it was kept.
    results_hash INTEGER,
    PRIMARY KEY (device_id, policy_id)
) WITHOUT ROWID;

-- The results of each stored report, at the report's version.
CREATE TABLE report_results (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    version   INTEGER NOT NULL,
    -- Vec<shared::report::SettingResult> as JSON.
    settings  TEXT NOT NULL,
    PRIMARY KEY (device_id, policy_id)
) WITHOUT ROWID;

CREATE INDEX report_results_by_policy ON report_results (policy_id);

INSERT INTO device_policy_reports_new (device_id, policy_id, version, state, reported_at, results_hash)
SELECT device_id, policy_id, version, state, reported_at, results_hash FROM device_policy_reports;

INSERT INTO report_results (device_id, policy_id, version, settings)
SELECT device_id, policy_id, version, settings FROM device_policy_reports;

DROP TABLE device_policy_reports;
ALTER TABLE device_policy_reports_new RENAME TO device_policy_reports;
CREATE INDEX device_policy_reports_by_policy ON device_policy_reports (policy_id);

-- A setting's devices: the results of stored reports that are not Succeeded, one row per device, policy and setting.
-- Most results succeed, so this stays small: a setting's Succeeded devices are those whose counted report of the
-- policy's current version has no row here (a report of the current version carries one result per configured
-- setting: the device API refuses one that misses a setting or repeats one). Kept by the triggers below from the
-- stored results themselves, so it always matches `report_results`; a report that repeats its results writes
-- nothing. See ARCHITECTURE.md, "Report aggregates".
CREATE TABLE setting_exceptions (
    device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    policy_id  TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    setting_id TEXT NOT NULL,
    -- shared::report::SettingState code, never 'succeeded'.
    state      TEXT NOT NULL,
    code       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    PRIMARY KEY (device_id, policy_id, setting_id)
) WITHOUT ROWID;

CREATE INDEX setting_exceptions_by_setting ON setting_exceptions (policy_id, setting_id, state);

CREATE TRIGGER setting_exceptions_on_insert AFTER INSERT ON report_results
BEGIN
    INSERT INTO setting_exceptions (device_id, policy_id, setting_id, state, code, detail)
    SELECT NEW.device_id, NEW.policy_id, j.value ->> '$.setting_id', j.value ->> '$.state',
           COALESCE(j.value ->> '$.code', ''), COALESCE(j.value ->> '$.detail', '')
    FROM json_each(NEW.settings) j
    WHERE j.value ->> '$.state' <> 'succeeded'
    GROUP BY j.value ->> '$.setting_id';
END;

CREATE TRIGGER setting_exceptions_on_update AFTER UPDATE OF settings ON report_results
WHEN OLD.settings IS NOT NEW.settings
BEGIN
    DELETE FROM setting_exceptions WHERE device_id = OLD.device_id AND policy_id = OLD.policy_id;
    INSERT INTO setting_exceptions (device_id, policy_id, setting_id, state, code, detail)
    SELECT NEW.device_id, NEW.policy_id, j.value ->> '$.setting_id', j.value ->> '$.state',
           COALESCE(j.value ->> '$.code', ''), COALESCE(j.value ->> '$.detail', '')
    FROM json_each(NEW.settings) j
    WHERE j.value ->> '$.state' <> 'succeeded'
    GROUP BY j.value ->> '$.setting_id';
END;

INSERT INTO setting_exceptions (device_id, policy_id, setting_id, state, code, detail)
SELECT r.device_id, r.policy_id, j.value ->> '$.setting_id', j.value ->> '$.state',
       COALESCE(j.value ->> '$.code', ''), COALESCE(j.value ->> '$.detail', '')
FROM report_results r, json_each(r.settings) j
WHERE j.value ->> '$.state' <> 'succeeded'
GROUP BY r.device_id, r.policy_id, j.value ->> '$.setting_id';
