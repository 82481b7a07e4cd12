-- Webhooks (issue 11.3): the document changes of the outbox are also delivered to the
-- application's webhook, with their own cursor (hooked_at) and their own lease, independent of
-- the Kafka relay (published_at). A stream that is off marks its column when the row is written;
-- a row is pruned once both are done with it.
ALTER TABLE outbox ADD COLUMN hooked_at TIMESTAMP WITH TIME ZONE;
UPDATE outbox SET hooked_at = created_at;
CREATE INDEX outbox_unhooked ON outbox (hooked_at, id);
INSERT INTO outbox_lease (name, holder, expires_at) VALUES ('webhooks', NULL, NULL);
