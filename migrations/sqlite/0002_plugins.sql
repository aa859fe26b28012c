-- Partner plugins. Keep in step with migrations/postgres/0002_plugins.sql.
-- A version is immutable once stored: its bytes, hash and what it declared at upload. Only its
-- status (and quarantine) changes. The bytes live here so every host process sees the same
-- plugins.

CREATE TABLE plugin_versions (
    id                 INTEGER PRIMARY KEY,
    organisation_id    INTEGER NOT NULL REFERENCES organisations (id),
    plugin_key         TEXT NOT NULL,
    version            TEXT NOT NULL,
    name               TEXT NOT NULL,
    contract_version   TEXT NOT NULL,
    sha256             TEXT NOT NULL,
    size_bytes         INTEGER NOT NULL,
    component          BLOB NOT NULL,
    manifest_json      TEXT NOT NULL,
    checklists_json    TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('inactive', 'active', 'retired')),
    uploaded_by        INTEGER REFERENCES users (id),
    uploaded_at        TEXT NOT NULL,
    status_changed_at  TEXT NOT NULL,
    quarantined_at     TEXT,
    quarantine_reason  TEXT,
    UNIQUE (organisation_id, plugin_key, version)
);
CREATE INDEX plugin_versions_status ON plugin_versions (status);

-- Bumped by every change to plugin_versions, so every host process notices and reloads.
CREATE TABLE plugin_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO plugin_state (id, generation) VALUES (1, 0);
