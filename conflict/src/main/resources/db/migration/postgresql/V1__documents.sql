-- Versioned documents (DESIGN section 7). Every accepted change writes, in one transaction:
-- documents (the head), document_versions (history, the merge base), applied_ops (idempotency),
-- client_sequences (per-device order), audit (merges, resolutions, rejections) and outbox.

CREATE TABLE documents (
    tenant      VARCHAR(128)             NOT NULL,
    doc_type    VARCHAR(128)             NOT NULL,
    doc_id      VARCHAR(128)             NOT NULL,
    version     BIGINT                   NOT NULL,
    data        JSONB                    NOT NULL,
    deleted     BOOLEAN                  NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by  VARCHAR(256)             NOT NULL,
    op_id       VARCHAR(256),
    PRIMARY KEY (tenant, doc_type, doc_id)
);

-- origin: the writing client device ("c:{clientId}"), operation ("op:{opId}") or resolution
CREATE TABLE document_versions (
    tenant      VARCHAR(128)             NOT NULL,
    doc_type    VARCHAR(128)             NOT NULL,
    doc_id      VARCHAR(128)             NOT NULL,
    version     BIGINT                   NOT NULL,
    data        JSONB                    NOT NULL,
    deleted     BOOLEAN                  NOT NULL,
    origin      VARCHAR(300)             NOT NULL,
    op_id       VARCHAR(256),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by  VARCHAR(256)             NOT NULL,
    PRIMARY KEY (tenant, doc_type, doc_id, version)
);

CREATE TABLE applied_ops (
    tenant      VARCHAR(128)             NOT NULL,
    op_id       VARCHAR(256)             NOT NULL,
    client_id   VARCHAR(256),
    seq         BIGINT,
    doc_type    VARCHAR(128)             NOT NULL,
    doc_id      VARCHAR(128)             NOT NULL,
    result      VARCHAR(16)              NOT NULL,
    version     BIGINT                   NOT NULL,
    applied_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant, op_id)
);
CREATE INDEX applied_ops_by_age ON applied_ops (applied_at);

-- pruned_through: the highest sequence whose applied_ops row was pruned; older replays are duplicates
CREATE TABLE client_sequences (
    tenant          VARCHAR(128)             NOT NULL,
    client_id       VARCHAR(256)             NOT NULL,
    last_seq        BIGINT                   NOT NULL,
    pruned_through  BIGINT                   NOT NULL,
    gaps            BIGINT                   NOT NULL,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant, client_id)
);

CREATE TABLE conflicts (
    id               VARCHAR(64)              NOT NULL PRIMARY KEY,
    tenant           VARCHAR(128)             NOT NULL,
    doc_type         VARCHAR(128)             NOT NULL,
    doc_id           VARCHAR(128)             NOT NULL,
    op_id            VARCHAR(256)             NOT NULL,
    author           VARCHAR(256)             NOT NULL,
    client_id        VARCHAR(256),
    base_version     BIGINT                   NOT NULL,
    server_version   BIGINT                   NOT NULL,
    base_data        JSONB                    NOT NULL,
    server_data      JSONB                    NOT NULL,
    local_data       JSONB                    NOT NULL,
    fields           VARCHAR(8000)            NOT NULL,
    status           VARCHAR(16)              NOT NULL,
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    resolution       VARCHAR(16),
    resolved_by      VARCHAR(256),
    resolved_at      TIMESTAMP WITH TIME ZONE,
    resolved_version BIGINT
);
CREATE INDEX conflicts_by_status ON conflicts (tenant, status, doc_type, created_at);

-- action: merge, resolve, reject, conflict
CREATE TABLE audit (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant          VARCHAR(128)             NOT NULL,
    doc_type        VARCHAR(128)             NOT NULL,
    doc_id          VARCHAR(128)             NOT NULL,
    action          VARCHAR(16)              NOT NULL,
    strategy        VARCHAR(32)              NOT NULL,
    fields          VARCHAR(8000)            NOT NULL,
    actor           VARCHAR(256)             NOT NULL,
    op_id           VARCHAR(256),
    conflict_id     VARCHAR(64),
    version_before  BIGINT                   NOT NULL,
    version_after   BIGINT                   NOT NULL,
    data_before     JSONB                    NOT NULL,
    data_after      JSONB                    NOT NULL,
    reason          VARCHAR(1000)            NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX audit_by_document ON audit (tenant, doc_type, doc_id, id);

-- relayed to Kafka by the outbox relay (issue 5); key orders one document's events
CREATE TABLE outbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant        VARCHAR(128)             NOT NULL,
    event_key     VARCHAR(400)             NOT NULL,
    event_type    VARCHAR(64)              NOT NULL,
    payload       JSONB                    NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    published_at  TIMESTAMP WITH TIME ZONE
);
CREATE INDEX outbox_unpublished ON outbox (published_at, id);
