-- Quarterly reports read a quarter's observations through its sessions. This index holds what
-- they read of each observation (its date, provider and checklist), so reports never visit the
-- observation rows themselves, which carry the responses and the score card (kilobytes each):
-- on the national data set (a million observations) that halves the pages a report reads.
-- It replaces 0003's index on session_id alone, of which it is an extension.
-- Keep in step with migrations/{sqlite,postgres}/0006_report_indexes.sql.
DROP INDEX observations_session;
CREATE INDEX observations_session ON observations (session_id, observed_on, provider_id, checklist_id, checklist_kind);

-- One indicator per DHIS2 data element and category option combo (the default combo is NULL),
-- so that no two rows of an export overwrite each other in DHIS2. The mapping page checks this
-- in its transaction for a clear message; the index makes it hold when two admins save at once.
CREATE UNIQUE INDEX dhis2_data_elements_target
    ON dhis2_data_elements (data_element, COALESCE(category_option_combo, ''));
