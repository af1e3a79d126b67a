-- PostgreSQL's 0014 turns the queue triggers into statement-level ones over transition tables.
-- SQLite has no statement-level triggers, and its row triggers run in-process at little cost
-- (0004_ticket_queue.sql, 0008_billing.sql keep them). Nothing changes here; the file keeps
-- the two adapters' migrations numbered alike.
SELECT 1;
