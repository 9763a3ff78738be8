DROP TABLE session_clients;
DROP TABLE sessions;
DROP TABLE clients;
DROP TABLE users;
