-- Issue 11: opIds and client sequences belong to their author (one user can no longer spend
-- another's opId), documents remember who created them (the 'author' access rule), open
-- conflicts are counted per author, and the audit trail is pruned by age.
-- Existing rows stay valid: the author of an applied op is taken from the version, conflict or
-- audit entry it produced; where none is kept any more it stays '' (a legacy row, which the
-- store still treats as a duplicate for anyone, as before).

ALTER TABLE applied_ops ADD COLUMN author VARCHAR(256) DEFAULT '' NOT NULL;
UPDATE applied_ops a SET author = COALESCE(
    (SELECT MAX(v.updated_by) FROM document_versions v WHERE v.tenant = a.tenant AND v.doc_type = a.doc_type
        AND v.doc_id = a.doc_id AND v.op_id = a.op_id),
    (SELECT MAX(c.author) FROM conflicts c WHERE c.tenant = a.tenant AND c.doc_type = a.doc_type
        AND c.doc_id = a.doc_id AND c.op_id = a.op_id),
    (SELECT MAX(u.actor) FROM audit u WHERE u.tenant = a.tenant AND u.doc_type = a.doc_type
        AND u.doc_id = a.doc_id AND u.op_id = a.op_id),
    '');
ALTER TABLE applied_ops DROP CONSTRAINT applied_ops_pkey;
ALTER TABLE applied_ops ADD PRIMARY KEY (tenant, author, op_id);

ALTER TABLE client_sequences ADD COLUMN author VARCHAR(256) DEFAULT '' NOT NULL;
UPDATE client_sequences s SET author = COALESCE(
    (SELECT MAX(a.author) FROM applied_ops a WHERE a.tenant = s.tenant AND a.client_id = s.client_id), '');
ALTER TABLE client_sequences DROP CONSTRAINT client_sequences_pkey;
ALTER TABLE client_sequences ADD PRIMARY KEY (tenant, author, client_id);

-- the creator; '' when the first version was already pruned (then only role rules apply)
ALTER TABLE documents ADD COLUMN created_by VARCHAR(256) DEFAULT '' NOT NULL;
UPDATE documents d SET created_by = COALESCE(
    (SELECT v.updated_by FROM document_versions v WHERE v.tenant = d.tenant AND v.doc_type = d.doc_type
        AND v.doc_id = d.doc_id AND v.version = 1), '');

CREATE INDEX conflicts_by_author ON conflicts (tenant, author, status);
CREATE INDEX audit_by_age ON audit (created_at);

-- doc.query: equality on a top-level field is jsonb containment (data @> {"field": value})
CREATE INDEX documents_by_data ON documents USING GIN (data jsonb_path_ops);
