DROP INDEX logout_deliveries_backlog;
