-- Rampart's first schema: admins and their sessions, the tenant, directory registrations and devices.

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Exactly one row.
CREATE TABLE tenant (
    id                             INTEGER PRIMARY KEY CHECK (id = 1),
    security_settings_management   INTEGER NOT NULL DEFAULT 0,
    enforce_security_configuration INTEGER NOT NULL DEFAULT 0,
    licence_defender_for_endpoint  INTEGER NOT NULL DEFAULT 0,
    licence_directory_premium_p1   INTEGER NOT NULL DEFAULT 0,
    onboarding_token               TEXT NOT NULL
);

CREATE TABLE directory_devices (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    -- 1 when Rampart created the registration at onboarding (the device had none).
    synthetic  INTEGER NOT NULL
);

CREATE TABLE devices (
    id                        TEXT PRIMARY KEY,
    secret_hash               TEXT NOT NULL,
    directory_device_id       TEXT NOT NULL UNIQUE REFERENCES directory_devices(id),
    registration              TEXT NOT NULL,
    hostname                  TEXT NOT NULL,
    os                        TEXT NOT NULL,
    edition                   TEXT NOT NULL,
    os_build                  TEXT NOT NULL,
    required_update_installed INTEGER NOT NULL,
    downlevel_agent_installed INTEGER NOT NULL,
    join_type                 TEXT NOT NULL,
    managed_by                TEXT NOT NULL,
    -- shared::eligibility::device_support, stored so that the list sorts and filters by it.
    support                   TEXT NOT NULL,
    onboarded_at              INTEGER NOT NULL,
    last_check_in             INTEGER,
    n_check_ins               INTEGER NOT NULL DEFAULT 0,
    sync_requested            INTEGER NOT NULL DEFAULT 0
);

-- One index per sortable column, ending in the tie-breakers, so that every page is an index range scan.
CREATE INDEX devices_by_hostname      ON devices (hostname COLLATE NOCASE, id);
CREATE INDEX devices_by_os            ON devices (os, hostname COLLATE NOCASE, id);
CREATE INDEX devices_by_managed_by    ON devices (managed_by, hostname COLLATE NOCASE, id);
CREATE INDEX devices_by_join_type     ON devices (join_type, hostname COLLATE NOCASE, id);
CREATE INDEX devices_by_support       ON devices (support, hostname COLLATE NOCASE, id);
CREATE INDEX devices_by_last_check_in ON devices (last_check_in, hostname COLLATE NOCASE, id);

-- The tenant row, with a first onboarding token from SQLite's OS-seeded CSPRNG (rotated through the API later).
INSERT INTO tenant (id, onboarding_token) VALUES (1, lower(hex(randomblob(32))));
