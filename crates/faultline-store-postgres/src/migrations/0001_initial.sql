-- Faultline's schema, version 1. Every table the PostgreSQL engine and the
-- multi-node features use, so later work builds on one numbered schema.
-- Times the domain keeps to the nanosecond (event, group and run times)
-- are bigint nanoseconds since the Unix epoch, exactly as the API serves
-- them; times the database itself reasons about (partitions, leases) are
-- timestamptz.

-- Ids from sequences: unique across every node sharing the database
-- without a single writer. A sequence is not rolled back with a failed
-- transaction, so ids may have gaps; they are never reused.
CREATE SEQUENCE event_ids AS bigint;
CREATE SEQUENCE group_ids AS bigint;

-- The event log, partitioned by day of arrival (`stored_at`, the writing
-- node's clock at commit) so retention drops whole partitions. Partitions
-- (events_YYYYMMDD) are created ahead by maintenance and on demand.
-- An event's group is found through its fingerprint (fingerprints table):
-- merge and unmerge move fingerprints, never event rows.
CREATE TABLE events (
    id bigint NOT NULL,
    stored_at timestamptz NOT NULL,
    fingerprint text NOT NULL,
    service text NOT NULL,
    -- The event's own time (`timestamp`), nanoseconds.
    occurred_at bigint NOT NULL,
    -- The whole event as the API serves it (serde JSON of ErrorEvent).
    body json NOT NULL,
    -- The committing transaction: a per-node index tails the log by it
    -- (rows become visible in commit order of their xid8 snapshot, not id order).
    committed_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (id, stored_at)
) PARTITION BY RANGE (stored_at);
CREATE INDEX events_by_fingerprint ON events (fingerprint, id);
CREATE INDEX events_by_commit ON events (committed_xid);
CREATE INDEX events_by_time ON events (occurred_at);

-- Groups (issues). The listing's filter and sort fields are columns; the
-- whole group as the API serves it is `body` (serde JSON of Group), kept
-- in step with the columns by the engine, which changes a group only
-- under its row lock.
CREATE TABLE groups (
    id bigint PRIMARY KEY,
    service text NOT NULL,
    status text NOT NULL,
    merged_into bigint,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    count bigint NOT NULL,
    environments text[] NOT NULL DEFAULT '{}',
    -- When its latest event arrived: group retention (`retention.groups`).
    last_arrival timestamptz NOT NULL DEFAULT now(),
    body json NOT NULL
);
CREATE INDEX groups_by_last_seen ON groups (last_seen DESC, id DESC) WHERE merged_into IS NULL;
CREATE INDEX groups_by_first_seen ON groups (first_seen DESC, id DESC) WHERE merged_into IS NULL;
CREATE INDEX groups_by_count ON groups (count DESC, id DESC) WHERE merged_into IS NULL;
CREATE INDEX groups_by_service ON groups (service, last_seen DESC) WHERE merged_into IS NULL;
CREATE INDEX groups_by_arrival ON groups (last_arrival);

-- Fingerprint -> group. The primary key is what makes two nodes that see
-- the same new fingerprint at once make one group (INSERT ... ON CONFLICT).
CREATE TABLE fingerprints (
    fingerprint text PRIMARY KEY,
    group_id bigint NOT NULL,
    grouping_version integer NOT NULL,
    title text NOT NULL,
    culprit text NOT NULL,
    method text NOT NULL
);
CREATE INDEX fingerprints_by_group ON fingerprints (group_id);

-- New groups made per service per clock hour, against
-- limits.max_new_groups_per_service_per_hour (shared by all nodes).
CREATE TABLE new_groups_per_hour (
    service text NOT NULL,
    hour bigint NOT NULL,
    made bigint NOT NULL,
    PRIMARY KEY (service, hour)
);

-- API health: one bucket per endpoint and minute, rolled up into hours.
-- Counts are added by upsert; `latency` is the DDSketch (faultline-store's
-- HealthRecord protobuf encoding of the whole bucket).
CREATE TABLE health_minutes (
    minute bigint NOT NULL,
    service text NOT NULL,
    environment text NOT NULL,
    route text NOT NULL,
    method text NOT NULL,
    requests bigint NOT NULL,
    errors bigint NOT NULL,
    client_errors bigint NOT NULL,
    latency bytea NOT NULL,
    PRIMARY KEY (minute, service, environment, route, method)
);
CREATE TABLE health_hours (
    hour bigint NOT NULL,
    service text NOT NULL,
    environment text NOT NULL,
    route text NOT NULL,
    method text NOT NULL,
    requests bigint NOT NULL,
    errors bigint NOT NULL,
    client_errors bigint NOT NULL,
    latency bytea NOT NULL,
    PRIMARY KEY (hour, service, environment, route, method)
);
-- Endpoints each service has, against health.max_endpoints_per_service.
CREATE TABLE endpoints (
    service text NOT NULL,
    route text NOT NULL,
    method text NOT NULL,
    PRIMARY KEY (service, route, method)
);

-- Active checks: runs and the definitions created through the API.
CREATE TABLE check_runs (
    check_id text NOT NULL,
    at bigint NOT NULL,
    ok boolean NOT NULL,
    latency_ms double precision NOT NULL,
    status_code integer,
    error text,
    tls_days_left double precision,
    tls_not_after bigint,
    PRIMARY KEY (check_id, at)
);
CREATE INDEX check_runs_by_time ON check_runs (at);
CREATE TABLE check_definitions (
    id text PRIMARY KEY,
    definition text NOT NULL
);

-- Alerting: components' saved state (opaque documents) and delivery attempts.
CREATE TABLE alert_state (
    name text PRIMARY KEY,
    body bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE alert_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX alert_deliveries_newest ON alert_deliveries (at DESC, id DESC);

-- Access tokens (secrets only as SHA-256).
CREATE TABLE tokens (
    id text PRIMARY KEY,
    name text NOT NULL,
    scope text NOT NULL,
    services text[] NOT NULL,
    created_at bigint NOT NULL,
    secret_sha256 bytea NOT NULL,
    events_per_second bigint
);

-- Retention: arrival marks (a pass's time -> the next event id then), as
-- the embedded engine keeps them: events below the newest mark at or
-- before now - retention.events are expired, whatever clock they claim.
CREATE TABLE arrival_marks (
    at bigint NOT NULL,
    next_event_id bigint NOT NULL,
    PRIMARY KEY (at, next_event_id)
);
-- Small named counters of the store as a whole (deleted_below).
CREATE TABLE store_state (
    name text PRIMARY KEY,
    value bigint NOT NULL
);

-- Multi-node: leader election (one holder per name until expires_at) and
-- notifications sent exactly once across nodes.
CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);
-- A notification is claimed here (key: its transition and channel) in
-- the transaction that consumed the facts it came from, then moves
-- pending -> sending -> done (see cluster.rs).
CREATE TABLE notifications_sent (
    key text PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    body bytea NOT NULL,
    state text NOT NULL DEFAULT 'pending'
);
CREATE INDEX notifications_unfinished ON notifications_sent (state, at) WHERE state IN ('pending', 'sending');
-- Facts for the alert leader, written by any node in the transaction
-- that committed them (events, kind 0..2) or after a status change (3);
-- the leader deletes them in the transaction that saves their outcome.
CREATE TABLE alert_facts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind smallint NOT NULL,
    group_id bigint NOT NULL,
    event_id bigint,
    collapsed boolean NOT NULL DEFAULT false,
    at bigint NOT NULL
);
