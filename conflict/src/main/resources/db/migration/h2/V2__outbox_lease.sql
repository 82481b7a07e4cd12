-- The relay lease: one node relays the outbox at a time, so one document's changes keep their
-- order on Kafka; another node takes over when the holder stops renewing.
CREATE TABLE outbox_lease (
    name        VARCHAR(64)              PRIMARY KEY,
    holder      VARCHAR(128),
    expires_at  TIMESTAMP WITH TIME ZONE
);
INSERT INTO outbox_lease (name, holder, expires_at) VALUES ('relay', NULL, NULL);
