-- The ticket and billing queues are kept by statement-level triggers over transition tables
-- instead of row triggers: one set-based INSERT (or DELETE) per statement, not one PL/pgSQL
-- call and one INSERT per event. The inbox records a batch's events with one multi-row INSERT,
-- and the row triggers were most of its cost (the events INSERT took 5.5 ms for about 40 rows;
-- docs/benchmarks.md, session 9). Same effect, same transaction. Keep this file's name and
-- numbering in step with crates/store-sqlite/migrations.

DROP TRIGGER events_enqueue_for_tickets ON events;
DROP TRIGGER event_outcomes_dequeue ON event_outcomes;
DROP TRIGGER events_enqueue_for_billing ON events;
DROP FUNCTION ticket_queue_enqueue();
DROP FUNCTION ticket_queue_dequeue();
DROP FUNCTION billing_queue_enqueue();

CREATE FUNCTION ticket_queue_enqueue_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_queue (event_id, sort_at)
    SELECT id, COALESCE(wa_timestamp, recorded_at) FROM new_events
     WHERE kind IN ('message', 'status') AND account_id IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_enqueue_for_tickets AFTER INSERT ON events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION ticket_queue_enqueue_rows();

CREATE FUNCTION billing_queue_enqueue_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_queue (event_id)
    SELECT id FROM new_events
     WHERE kind IN ('message', 'status') AND account_id IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_enqueue_for_billing AFTER INSERT ON events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION billing_queue_enqueue_rows();

CREATE FUNCTION ticket_queue_dequeue_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- `= ANY (ARRAY(…))`: an index lookup per outcome whatever the planner guesses of the
    -- transition table (it has no statistics; a join could scan the whole queue).
    DELETE FROM ticket_queue WHERE event_id = ANY (ARRAY(SELECT event_id FROM new_outcomes));
    RETURN NULL;
END
$$;

CREATE TRIGGER event_outcomes_dequeue AFTER INSERT ON event_outcomes
REFERENCING NEW TABLE AS new_outcomes
FOR EACH STATEMENT EXECUTE FUNCTION ticket_queue_dequeue_rows();
