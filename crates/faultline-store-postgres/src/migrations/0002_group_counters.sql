-- Version 2: the group figures every event changes get columns of their
-- own, so an ingest commit adds to them with one UPDATE (`count = count +
-- n`, first and last seen, latest event, releases, environments) instead
-- of reading and rewriting the whole `body`. The columns are the truth for
-- these figures; the body's copies are only written by whole-group writes
-- (status changes, merges, new groups) and are overlaid on reading.
ALTER TABLE groups
    ADD COLUMN last_event_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_message text,
    ADD COLUMN first_release text,
    ADD COLUMN last_release text;

UPDATE groups SET
    last_event_seq = coalesce((body ->> 'last_event_seq')::bigint, 0),
    last_message = body ->> 'last_message',
    first_release = body ->> 'first_release',
    last_release = body ->> 'last_release';
