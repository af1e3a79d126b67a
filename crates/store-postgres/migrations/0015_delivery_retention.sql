-- Retention of raw webhook bodies (WADESK_DELIVERY_RETENTION_DAYS): the cursor of the walk that
-- empties processed deliveries' bodies, one row shared by every process.
-- Keep this file's name and numbering in step with the other adapter's migrations.

CREATE TABLE delivery_retention (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    -- The last delivery the walk moved past.
    last_id BIGINT  NOT NULL
);

INSERT INTO delivery_retention (id, last_id) VALUES (1, 0);
