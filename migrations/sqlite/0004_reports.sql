-- Quarterly reporting: the indicator catalogue, death reviews, QI projects and action plans,
-- community teams with quarterly targets, quarterly reports and their approval, DHIS2 mappings.
-- Keep in step with migrations/postgres/0004_reports.sql.

-- The harmonised indicator catalogue. `numerator` and `denominator` are formulas in the small
-- language of host/src/domain/indicators (a source, optionally filtered); a NULL denominator
-- makes the indicator a plain count or mean.
CREATE TABLE indicators (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    definition        TEXT NOT NULL,
    numerator         TEXT NOT NULL,
    denominator       TEXT,
    unit              TEXT NOT NULL CHECK (unit IN ('count', 'percent', 'mean', 'ratio')),
    data_source       TEXT NOT NULL,
    frequency         TEXT NOT NULL CHECK (frequency IN ('monthly', 'quarterly', 'annual')),
    -- Comma-separated subset of district, facility, facility_type, cadre, sex.
    disaggregations   TEXT NOT NULL,
    -- The programme's target for one organisation in one quarter, in the indicator's unit.
    target            REAL,
    position          INTEGER NOT NULL,
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- Metric names plugins emitted in their dry runs at upload, so a formula naming a metric no
-- plugin produces can be refused (names seen in stored observations count too).
CREATE TABLE plugin_metrics (
    plugin_version_id  INTEGER NOT NULL REFERENCES plugin_versions (id),
    checklist_id       TEXT NOT NULL,
    name               TEXT NOT NULL,
    PRIMARY KEY (plugin_version_id, checklist_id, name)
);
CREATE INDEX plugin_metrics_name ON plugin_metrics (name);
-- Replaces 0003's (name) index: covering (name, observation_id) serves metric look-ups from the index alone.
DROP INDEX observation_metrics_name;
CREATE INDEX observation_metrics_name ON observation_metrics (name, observation_id);
CREATE INDEX observations_observed_on ON observations (observed_on);
-- The programme-wide report reads every organisation's sessions of a quarter.
CREATE INDEX sessions_date ON sessions (session_date);

-- Maternal and perinatal death surveillance and response. Sensitive: only the reviewing
-- organisation and project management read these.
CREATE TABLE death_reviews (
    id                       INTEGER PRIMARY KEY,
    organisation_id          INTEGER NOT NULL REFERENCES organisations (id),
    facility_id              INTEGER NOT NULL REFERENCES org_units (id),
    death_type               TEXT NOT NULL CHECK (death_type IN ('maternal', 'perinatal')),
    notified_on              TEXT NOT NULL,
    died_on                  TEXT NOT NULL,
    reviewed_on              TEXT,
    committee                TEXT,
    -- ICD-MM group 1..8 (8 = unknown); NULL until the review classifies it.
    cause_group              INTEGER CHECK (cause_group BETWEEN 1 AND 8),
    underlying_cause         TEXT,
    contributing_conditions  TEXT,
    delay_seeking            INTEGER NOT NULL DEFAULT 0 CHECK (delay_seeking IN (0, 1)),
    delay_reaching           INTEGER NOT NULL DEFAULT 0 CHECK (delay_reaching IN (0, 1)),
    delay_receiving          INTEGER NOT NULL DEFAULT 0 CHECK (delay_receiving IN (0, 1)),
    avoidable                TEXT CHECK (avoidable IN ('yes', 'no', 'undetermined')),
    notes                    TEXT,
    revision                 INTEGER NOT NULL DEFAULT 1,
    created_by               INTEGER REFERENCES users (id),
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX death_reviews_org_reviewed ON death_reviews (organisation_id, reviewed_on);
CREATE INDEX death_reviews_facility ON death_reviews (facility_id);

CREATE TABLE death_review_recommendations (
    id           INTEGER PRIMARY KEY,
    review_id    INTEGER NOT NULL REFERENCES death_reviews (id),
    position     INTEGER NOT NULL,
    description  TEXT NOT NULL,
    owner        TEXT NOT NULL,
    deadline     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'not_done')),
    -- When it was marked done, so "followed up by the end of the quarter" can be computed.
    done_on      TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX death_review_recommendations_review ON death_review_recommendations (review_id);

-- A facility's quality-improvement project and its PDSA cycles.
CREATE TABLE qi_projects (
    id                INTEGER PRIMARY KEY,
    organisation_id   INTEGER NOT NULL REFERENCES organisations (id),
    facility_id       INTEGER NOT NULL REFERENCES org_units (id),
    title             TEXT NOT NULL,
    problem           TEXT NOT NULL,
    aim               TEXT NOT NULL,
    indicator_id      INTEGER REFERENCES indicators (id),
    change_ideas      TEXT,
    status            TEXT NOT NULL CHECK (status IN ('planned', 'active', 'completed', 'stopped')),
    started_on        TEXT NOT NULL,
    ended_on          TEXT,
    revision          INTEGER NOT NULL DEFAULT 1,
    created_by        INTEGER REFERENCES users (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX qi_projects_org ON qi_projects (organisation_id, started_on);
CREATE INDEX qi_projects_facility ON qi_projects (facility_id);

CREATE TABLE pdsa_cycles (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES qi_projects (id),
    position     INTEGER NOT NULL,
    change_idea  TEXT NOT NULL,
    plan         TEXT NOT NULL,
    started_on   TEXT NOT NULL,
    ended_on     TEXT,
    -- Do and study: what happened and what the data showed.
    result       TEXT,
    decision     TEXT CHECK (decision IN ('adopt', 'adapt', 'abandon')),
    updated_at   TEXT NOT NULL
);
CREATE INDEX pdsa_cycles_project ON pdsa_cycles (project_id);

-- Action points agreed in a session (or at a facility), followed until done.
CREATE TABLE action_items (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    facility_id      INTEGER NOT NULL REFERENCES org_units (id),
    session_id       TEXT REFERENCES sessions (id),
    description      TEXT NOT NULL,
    owner            TEXT NOT NULL,
    due_on           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
    done_on          TEXT,
    created_by       INTEGER REFERENCES users (id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX action_items_org_due ON action_items (organisation_id, due_on);
CREATE INDEX action_items_session ON action_items (session_id);

-- Village or facility teams (a midwife, Village Health Support Group members, traditional
-- birth attendants) with quarterly targets, assessed each quarter by a partner's plugin.
CREATE TABLE teams (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    -- The health centre the team works with.
    facility_id      INTEGER NOT NULL REFERENCES org_units (id),
    name             TEXT NOT NULL,
    village          TEXT,
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Optimistic concurrency: 1 when created, one more for every change.
    revision         INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (organisation_id, name)
);
CREATE INDEX teams_facility ON teams (facility_id);

CREATE TABLE team_members (
    team_id      INTEGER NOT NULL REFERENCES teams (id),
    provider_id  INTEGER NOT NULL REFERENCES providers (id),
    PRIMARY KEY (team_id, provider_id)
);
CREATE INDEX team_members_provider ON team_members (provider_id);

-- One row per team, quarter and measure (households_mapped, education_sessions, home_visits,
-- referrals, escorts); `achieved` is filled in at the quarterly assessment.
CREATE TABLE team_targets (
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    quarter     TEXT NOT NULL,
    measure     TEXT NOT NULL,
    target      INTEGER NOT NULL CHECK (target >= 0),
    achieved    INTEGER CHECK (achieved >= 0),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (team_id, quarter, measure)
);

-- A team's quarterly assessment, scored by a team-assessment checklist; the award is the
-- incentive the plugin's rule yields, recorded as paid out.
CREATE TABLE team_assessments (
    id                 INTEGER PRIMARY KEY,
    team_id            INTEGER NOT NULL REFERENCES teams (id),
    quarter            TEXT NOT NULL,
    assessed_on        TEXT NOT NULL,
    plugin_version_id  INTEGER NOT NULL REFERENCES plugin_versions (id),
    plugin_key         TEXT NOT NULL,
    plugin_version     TEXT NOT NULL,
    plugin_sha256      TEXT NOT NULL,
    checklist_id       TEXT NOT NULL,
    responses_json     TEXT NOT NULL,
    percentage         REAL,
    outcome_code       TEXT NOT NULL,
    outcome_level      TEXT NOT NULL,
    card_json          TEXT NOT NULL,
    award_amount       REAL NOT NULL,
    assessed_by        INTEGER REFERENCES users (id),
    -- Re-assessing replaces the row under optimistic concurrency.
    revision           INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (team_id, quarter)
);

-- One report per organisation per quarter, and its approval history.
CREATE TABLE reports (
    id                   INTEGER PRIMARY KEY,
    organisation_id      INTEGER NOT NULL REFERENCES organisations (id),
    quarter              TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'returned', 'approved')),
    achievements         TEXT,
    challenges           TEXT,
    next_quarter_plan    TEXT,
    revision             INTEGER NOT NULL DEFAULT 1,
    submitted_at         TEXT,
    submitted_by         INTEGER REFERENCES users (id),
    approved_at          TEXT,
    approved_by          INTEGER REFERENCES users (id),
    -- The figures as approved (JSON) and their hash; approval freezes them.
    approved_figures     TEXT,
    approved_sha256      TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (organisation_id, quarter)
);
CREATE INDEX reports_quarter ON reports (quarter, status);

CREATE TABLE report_events (
    id         INTEGER PRIMARY KEY,
    report_id  INTEGER NOT NULL REFERENCES reports (id),
    action     TEXT NOT NULL CHECK (action IN ('created', 'edited', 'submitted', 'returned', 'approved')),
    comment    TEXT,
    actor_id   INTEGER REFERENCES users (id),
    at         TEXT NOT NULL
);
CREATE INDEX report_events_report ON report_events (report_id, id);

-- DHIS2 mappings admins maintain: which data element an indicator feeds, which org unit a
-- facility is.
CREATE TABLE dhis2_data_elements (
    indicator_id              INTEGER PRIMARY KEY REFERENCES indicators (id),
    data_element              TEXT NOT NULL,
    category_option_combo     TEXT,
    updated_at                TEXT NOT NULL
);

CREATE TABLE dhis2_org_units (
    org_unit_id  INTEGER PRIMARY KEY REFERENCES org_units (id),
    dhis2_uid    TEXT NOT NULL UNIQUE,
    updated_at   TEXT NOT NULL
);
