-- A journal entry must balance when its transaction commits: total debit equals total credit.
-- Deferred, so the lines of one entry can be inserted one by one inside a transaction.
CREATE FUNCTION journal_entry_must_balance() RETURNS trigger AS $$
DECLARE
  entry uuid := COALESCE(NEW.entry_id, OLD.entry_id);
  unbalanced numeric;
BEGIN
  SELECT COALESCE(SUM(debit), 0) - COALESCE(SUM(credit), 0) INTO unbalanced
    FROM journal_lines WHERE entry_id = entry;
  IF unbalanced <> 0 THEN
    RAISE EXCEPTION 'journal entry % does not balance (debit - credit = %)', entry, unbalanced
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER journal_lines_balanced
  AFTER INSERT OR UPDATE OR DELETE ON journal_lines
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance();
--> statement-breakpoint
-- Posted journals are never changed or deleted; corrections are new entries.
CREATE FUNCTION journal_is_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'journal rows are append-only' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
--> statement-breakpoint
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
