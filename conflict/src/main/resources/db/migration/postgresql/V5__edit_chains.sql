-- Edit chains: an operation may name its author's previous edit of the document (afterOpId) and
-- is then judged by what became of that one. base_version is the version an operation was judged
-- against (what its author is known to have seen; NULL for rows written before); a predecessor
-- that met a manual conflict is found by its author and opId, as is a replayed operation's.
ALTER TABLE applied_ops ADD COLUMN base_version BIGINT;
CREATE INDEX conflicts_by_op ON conflicts (tenant, author, op_id);
