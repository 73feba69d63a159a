-- Health rows per writer (issue 15): every writer task folds its exports'
-- figures into rows of its own `shard`, so concurrent transactions, of
-- this node or another, never wait on each other's health row locks.
-- Reads add the shards up; maintenance rolls a minute's shards into
-- shard 0 of its hour. Rows written before this migration are shard 0.
--
-- A writer takes its shard from `health_shards` when it starts: unique
-- among live writers of every node without any other coordination, and
-- small, dense numbers. 0 is never handed out: it belongs to
-- maintenance's rollup and to imported rows. After 2^31 - 1 writer
-- starts the sequence cycles; a shard two live writers share would only
-- make them wait on each other again, the figures stay exact.
CREATE SEQUENCE health_shards AS integer MINVALUE 1 CYCLE;

ALTER TABLE health_minutes ADD COLUMN shard integer NOT NULL DEFAULT 0;
ALTER TABLE health_minutes DROP CONSTRAINT health_minutes_pkey;
ALTER TABLE health_minutes ADD PRIMARY KEY (minute, service, environment, route, method, shard);

ALTER TABLE health_hours ADD COLUMN shard integer NOT NULL DEFAULT 0;
ALTER TABLE health_hours DROP CONSTRAINT health_hours_pkey;
ALTER TABLE health_hours ADD PRIMARY KEY (hour, service, environment, route, method, shard);
