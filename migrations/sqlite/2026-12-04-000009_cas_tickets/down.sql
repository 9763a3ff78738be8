DROP TABLE cas_tickets;
