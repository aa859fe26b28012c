-- Reporting copies of recorded sessions, kept in the same transaction as the session (see
-- host/src/domain/reporting.rs), clustered by organisation and date: one organisation's quarter
-- is then a contiguous range of a few hundred pages instead of ~60,000 probes scattered over
-- the whole history (sessions are keyed by random UUIDs and every partner's rows are
-- interleaved in time). On the national data set this is what brings one organisation's report
-- under 300 ms. Withdrawn sessions have no rows here. Cadre and sex are not copied: reports use
-- the provider's current values, read from `providers`.
-- Keep in step with migrations/{sqlite,postgres}/0007_reporting_tables.sql.
CREATE TABLE report_mentees (
    organisation_id  INTEGER NOT NULL,
    session_date     TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    provider_id      INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, session_date, session_id, provider_id)
) WITHOUT ROWID;

CREATE TABLE report_observations (
    organisation_id  INTEGER NOT NULL,
    observed_on      TEXT NOT NULL,
    observation_id   INTEGER NOT NULL,
    session_id       TEXT NOT NULL,
    provider_id      INTEGER NOT NULL,
    facility_id      INTEGER NOT NULL,
    checklist_id     TEXT NOT NULL,
    checklist_kind   TEXT NOT NULL,
    PRIMARY KEY (organisation_id, observed_on, observation_id)
) WITHOUT ROWID;

CREATE TABLE report_metrics (
    organisation_id  INTEGER NOT NULL,
    observed_on      TEXT NOT NULL,
    observation_id   INTEGER NOT NULL,
    name             TEXT NOT NULL,
    value            REAL NOT NULL,
    PRIMARY KEY (organisation_id, observed_on, observation_id, name)
) WITHOUT ROWID;

-- The report's sessions query reads only this index (it replaces 0003's index on the first
-- two columns, of which it is an extension).
DROP INDEX sessions_org_date;
CREATE INDEX sessions_org_date ON sessions (organisation_id, session_date, status, facility_id, session_type, id);

INSERT INTO report_mentees (organisation_id, session_date, session_id, provider_id)
SELECT s.organisation_id, s.session_date, s.id, sm.provider_id
FROM sessions s JOIN session_mentees sm ON sm.session_id = s.id
WHERE s.status = 'recorded';

INSERT INTO report_observations (organisation_id, observed_on, observation_id, session_id,
    provider_id, facility_id, checklist_id, checklist_kind)
SELECT s.organisation_id, o.observed_on, o.id, s.id, o.provider_id, s.facility_id, o.checklist_id,
    o.checklist_kind
FROM sessions s JOIN observations o ON o.session_id = s.id
WHERE s.status = 'recorded';

INSERT INTO report_metrics (organisation_id, observed_on, observation_id, name, value)
SELECT s.organisation_id, o.observed_on, o.id, m.name, m.value
FROM sessions s JOIN observations o ON o.session_id = s.id
    JOIN observation_metrics m ON m.observation_id = o.id
WHERE s.status = 'recorded';
