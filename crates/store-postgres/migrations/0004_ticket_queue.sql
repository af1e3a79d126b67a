-- The events still to be applied to tickets, so finding the next ones costs what is pending,
-- not what was ever recorded. Triggers keep it exact: an event is queued when it is first
-- recorded (a duplicate key inserts no row, so nothing is queued twice) and leaves the queue
-- when its outcome is recorded, in the same transaction.
CREATE TABLE ticket_queue (
    event_id BIGINT PRIMARY KEY REFERENCES events (id),
    -- WhatsApp's timestamp, else the time it was recorded: the order events are applied in.
    sort_at  BIGINT NOT NULL
);

CREATE INDEX ticket_queue_order_idx ON ticket_queue (sort_at, event_id);

INSERT INTO ticket_queue (event_id, sort_at)
SELECT id, COALESCE(wa_timestamp, recorded_at) FROM events
 WHERE kind IN ('message', 'status') AND account_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM event_outcomes o WHERE o.event_id = events.id);

CREATE FUNCTION ticket_queue_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind IN ('message', 'status') AND NEW.account_id IS NOT NULL THEN
        INSERT INTO ticket_queue (event_id, sort_at) VALUES (NEW.id, COALESCE(NEW.wa_timestamp, NEW.recorded_at));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_enqueue_for_tickets AFTER INSERT ON events
FOR EACH ROW EXECUTE FUNCTION ticket_queue_enqueue();

CREATE FUNCTION ticket_queue_dequeue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ticket_queue WHERE event_id = NEW.event_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER event_outcomes_dequeue AFTER INSERT ON event_outcomes
FOR EACH ROW EXECUTE FUNCTION ticket_queue_dequeue();
