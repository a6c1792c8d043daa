-- +goose Up
-- Several Parley nodes may share one PostgreSQL. Each node records itself
-- with a heartbeat and records which visitors and agents have a connection
-- open on it, so presence stays right when a node dies.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL,
    started_at   BIGINT NOT NULL
);

CREATE TABLE presence (
    node_id    TEXT NOT NULL,
    kind       TEXT NOT NULL, -- 'visitor' or 'agent'
    subject_id TEXT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (node_id, kind, subject_id)
);
CREATE INDEX presence_subject ON presence (kind, subject_id);

-- Events too large for a NOTIFY payload travel through this table.
CREATE TABLE bus_events (
    id         TEXT PRIMARY KEY,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE bus_events;
DROP TABLE presence;
DROP TABLE nodes;
