ALTER TABLE logout_deliveries DROP COLUMN session_index;
DROP TABLE cas_tickets;
