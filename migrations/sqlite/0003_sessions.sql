-- Mentorship sessions, their scored observations, and trainings with pre/post tests.
-- Keep in step with migrations/postgres/0003_sessions.sql.
--
-- Sessions and trainings are keyed by the UUID the client generated, so a phone that re-sends
-- a submission after losing its connection can never create a second record; create_sha256
-- is the hash of the canonical body first accepted under that id (an identical re-send gets
-- the stored record back, a different one is a conflict).

-- Which organisations may use another partner's plugin (by key, so new versions follow).
CREATE TABLE plugin_grants (
    id                         INTEGER PRIMARY KEY,
    publisher_organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    plugin_key                 TEXT NOT NULL,
    grantee_organisation_id    INTEGER NOT NULL REFERENCES organisations (id),
    granted_by                 INTEGER REFERENCES users (id),
    granted_at                 TEXT NOT NULL,
    UNIQUE (publisher_organisation_id, plugin_key, grantee_organisation_id)
);

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    organisation_id   INTEGER NOT NULL REFERENCES organisations (id),
    mentor_id         INTEGER NOT NULL REFERENCES users (id),
    facility_id       INTEGER NOT NULL REFERENCES org_units (id),
    session_date      TEXT NOT NULL,
    session_type      TEXT NOT NULL,
    topic             TEXT NOT NULL,
    duration_minutes  INTEGER NOT NULL,
    notes             TEXT,
    action_points     TEXT,
    create_sha256     TEXT NOT NULL,
    content_sha256    TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('recorded', 'withdrawn')),
    revision          INTEGER NOT NULL,
    withdrawn_reason  TEXT,
    withdrawn_at      TEXT,
    withdrawn_by      INTEGER REFERENCES users (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX sessions_org_date ON sessions (organisation_id, session_date);
CREATE INDEX sessions_facility_date ON sessions (facility_id, session_date);
CREATE INDEX sessions_mentor_date ON sessions (mentor_id, session_date);

CREATE TABLE session_mentees (
    session_id   TEXT NOT NULL REFERENCES sessions (id),
    provider_id  INTEGER NOT NULL REFERENCES providers (id),
    PRIMARY KEY (session_id, provider_id)
);
CREATE INDEX session_mentees_provider ON session_mentees (provider_id);

CREATE TABLE trainings (
    id                TEXT PRIMARY KEY,
    organisation_id   INTEGER NOT NULL REFERENCES organisations (id),
    title             TEXT NOT NULL,
    start_date        TEXT NOT NULL,
    end_date          TEXT NOT NULL,
    venue             TEXT,
    facility_id       INTEGER REFERENCES org_units (id),
    facilitators      TEXT NOT NULL,
    create_sha256     TEXT NOT NULL,
    content_sha256    TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('recorded', 'withdrawn')),
    revision          INTEGER NOT NULL,
    withdrawn_reason  TEXT,
    withdrawn_at      TEXT,
    withdrawn_by      INTEGER REFERENCES users (id),
    created_by        INTEGER NOT NULL REFERENCES users (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX trainings_org_date ON trainings (organisation_id, start_date);

-- One scored checklist: what was answered, what scored it, and the card it returned.
CREATE TABLE observations (
    id                 INTEGER PRIMARY KEY,
    session_id         TEXT REFERENCES sessions (id),
    training_id        TEXT REFERENCES trainings (id),
    phase              TEXT CHECK (phase IS NULL OR phase IN ('pre', 'post')),
    position           INTEGER NOT NULL,
    provider_id        INTEGER NOT NULL REFERENCES providers (id),
    observed_on        TEXT NOT NULL,
    plugin_version_id  INTEGER NOT NULL REFERENCES plugin_versions (id),
    plugin_key         TEXT NOT NULL,
    plugin_version     TEXT NOT NULL,
    plugin_sha256      TEXT NOT NULL,
    checklist_id       TEXT NOT NULL,
    checklist_version  TEXT NOT NULL,
    checklist_kind     TEXT NOT NULL,
    checklist_title    TEXT NOT NULL,
    responses_json     TEXT NOT NULL,
    percentage         REAL,
    outcome_code       TEXT NOT NULL,
    outcome_level      TEXT NOT NULL,
    card_json          TEXT NOT NULL,
    scored_at          TEXT NOT NULL,
    CHECK ((session_id IS NULL) <> (training_id IS NULL))
);
CREATE INDEX observations_session ON observations (session_id);
-- A participant has at most one pre-test and one post-test per training.
CREATE UNIQUE INDEX observations_training_test ON observations (training_id, provider_id, phase)
    WHERE training_id IS NOT NULL;
CREATE INDEX observations_provider ON observations (provider_id, observed_on);
CREATE INDEX observations_checklist ON observations (plugin_key, checklist_id, observed_on);

-- The score card's named figures, one row each, for indicators.
CREATE TABLE observation_metrics (
    observation_id  INTEGER NOT NULL REFERENCES observations (id),
    name            TEXT NOT NULL,
    value           REAL NOT NULL,
    PRIMARY KEY (observation_id, name)
);
CREATE INDEX observation_metrics_name ON observation_metrics (name);

CREATE TABLE training_participants (
    training_id  TEXT NOT NULL REFERENCES trainings (id),
    provider_id  INTEGER NOT NULL REFERENCES providers (id),
    PRIMARY KEY (training_id, provider_id)
);
CREATE INDEX training_participants_provider ON training_participants (provider_id);

CREATE TABLE training_attendance (
    training_id  TEXT NOT NULL REFERENCES trainings (id),
    provider_id  INTEGER NOT NULL REFERENCES providers (id),
    day          TEXT NOT NULL,
    PRIMARY KEY (training_id, provider_id, day)
);
