-- CAS (PROTOCOLS §4): each service ticket validated in a session, with the service URL it was
-- validated for, so ending the session sends one SAML logoutRequest per ticket.
CREATE TABLE cas_tickets (
    ticket TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX cas_tickets_session ON cas_tickets (session_id);

-- The ticket a `cas_logout_request` delivery names (its SAML SessionIndex).
ALTER TABLE logout_deliveries ADD COLUMN session_index TEXT;
