-- What changed in the preview's snapshot (devices with their facts, groups with their rules, members and nesting,
-- policies, the tenant switches), so that the admin center fetches the snapshot once and then only what changed
-- since the generation it holds (GET /api/v1/snapshot?since=G). One row per object: its kind, its id and the
-- generation of its last change (a deleted object keeps its row, so that a delta can say it is gone). Generations
-- rise with every change. Kept by triggers, so every write path is covered, in the transaction of the change.
-- See ARCHITECTURE.md, "The snapshot and its deltas".
CREATE TABLE snapshot_changes (
    kind       TEXT NOT NULL CHECK (kind IN ('device', 'group', 'policy', 'tenant')),
    id         TEXT NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE INDEX snapshot_changes_by_generation ON snapshot_changes (generation);

CREATE TRIGGER snapshot_device_devices_insert AFTER INSERT ON devices
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('device', NEW.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_device_devices_update AFTER UPDATE OF hostname, os, edition, os_build, required_update_installed, downlevel_agent_installed, join_type, managed_by, support ON devices
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('device', NEW.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_device_devices_delete AFTER DELETE ON devices
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('device', OLD.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_groups_insert AFTER INSERT ON groups
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', NEW.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_groups_update AFTER UPDATE ON groups
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', NEW.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_groups_delete AFTER DELETE ON groups
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', OLD.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_group_members_insert AFTER INSERT ON group_members
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', NEW.group_id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_group_members_delete AFTER DELETE ON group_members
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', OLD.group_id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_group_nesting_insert AFTER INSERT ON group_nesting
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', NEW.parent_id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_group_group_nesting_delete AFTER DELETE ON group_nesting
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('group', OLD.parent_id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_policy_policies_insert AFTER INSERT ON policies
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('policy', NEW.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_policy_policies_update AFTER UPDATE ON policies
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('policy', NEW.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_policy_policies_delete AFTER DELETE ON policies
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('policy', OLD.id, (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER snapshot_tenant_tenant_update AFTER UPDATE OF security_settings_management, enforce_security_configuration ON tenant
BEGIN
    INSERT INTO snapshot_changes (kind, id, generation)
    VALUES ('tenant', '', (SELECT COALESCE(MAX(generation), 0) + 1 FROM snapshot_changes))
    ON CONFLICT (kind, id) DO UPDATE SET generation = excluded.generation;
END;
