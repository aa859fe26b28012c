-- Foundation schema (SQLite). Keep in step with migrations/postgres/0001_foundation.sql:
-- the same tables, the same columns, the same constraints; tests/tests/migrations.rs checks.
-- Timestamps are ISO-8601 UTC text and flags are 0/1 integers, so that one query text and
-- one row type serve both engines.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('professional_association', 'ngo', 'project_management', 'ministry')),
    country     TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    email            TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'org_admin', 'mentor')),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    language         TEXT NOT NULL DEFAULT 'en',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE org_units (
    id             INTEGER PRIMARY KEY,
    parent_id      INTEGER REFERENCES org_units (id),
    level          TEXT NOT NULL CHECK (level IN ('country', 'province', 'district', 'facility')),
    facility_type  TEXT CHECK (facility_type IN ('hospital', 'health_centre', 'health_post')),
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    -- Materialised path of ancestor ids ("/1/4/19/"), so a district's facilities are one prefix scan.
    path           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK ((level = 'facility') = (facility_type IS NOT NULL)),
    CHECK ((level = 'country') = (parent_id IS NULL))
);
CREATE INDEX org_units_parent ON org_units (parent_id);
CREATE INDEX org_units_path ON org_units (path);

CREATE TABLE providers (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    facility_id      INTEGER NOT NULL REFERENCES org_units (id),
    code             TEXT NOT NULL,
    name             TEXT NOT NULL,
    cadre            TEXT NOT NULL CHECK (cadre IN ('midwife', 'nurse', 'doctor', 'clinical_officer', 'community_health_worker', 'village_health_volunteer', 'village_health_support_group', 'traditional_birth_attendant', 'other')),
    sex              TEXT CHECK (sex IN ('female', 'male')),
    phone            TEXT,
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (organisation_id, code)
);
CREATE INDEX providers_facility ON providers (facility_id);
CREATE INDEX providers_org_name ON providers (organisation_id, name);

CREATE TABLE mentor_assignments (
    id           INTEGER PRIMARY KEY,
    mentor_id    INTEGER NOT NULL REFERENCES users (id),
    facility_id  INTEGER NOT NULL REFERENCES org_units (id),
    created_at   TEXT NOT NULL,
    UNIQUE (mentor_id, facility_id)
);
CREATE INDEX mentor_assignments_facility ON mentor_assignments (facility_id);

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    actor_id         INTEGER REFERENCES users (id),
    organisation_id  INTEGER REFERENCES organisations (id),
    action           TEXT NOT NULL,
    entity           TEXT NOT NULL,
    entity_id        TEXT NOT NULL,
    before_json      TEXT,
    after_json       TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_organisation ON audit_log (organisation_id, at);

CREATE TABLE auth_sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE login_failures (
    id     INTEGER PRIMARY KEY,
    email  TEXT NOT NULL,
    ip     TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);
