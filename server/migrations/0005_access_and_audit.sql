-- Roles for admin accounts, the one-time password flag, and the append-only audit log.

ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'administrator';
ALTER TABLE admins ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    address     TEXT NOT NULL,
    -- shared::audit::AuditAction code.
    action      TEXT NOT NULL,
    -- shared::audit::ObjectType code.
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    object_name TEXT NOT NULL,
    -- JSON, or NULL when there was nothing before (creation) or after (deletion).
    before      TEXT,
    after       TEXT
);

CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE INDEX audit_log_by_actor ON audit_log (actor, at);
CREATE INDEX audit_log_by_object ON audit_log (object_type, object_id, at);

-- Entries cannot be changed or removed, through the product or otherwise through SQL on this database.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be deleted');
END;
