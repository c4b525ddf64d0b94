-- Named onboarding tokens (stored hashed, with an expiry, a use limit and revocation) replace the tenant's single
-- token, which an upgrade carries over as one of them (in Rust: SQLite has no SHA-256). Devices keep the directory
-- registration they claimed when another device already held it.

CREATE TABLE onboarding_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    ends_with  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER,
    max_uses   INTEGER,
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER
);

ALTER TABLE devices ADD COLUMN claimed_directory_device_id TEXT;
ALTER TABLE devices ADD COLUMN onboarding_token_id TEXT;

-- Re-onboarding finds the device by the secret it presents.
CREATE INDEX devices_by_secret_hash ON devices (secret_hash);
