//! How a partner gets the person back: the one place a mode's name is read or written.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the browser carries back to a partner's callback. The protocol modules add their own
/// variants; every `match` on a mode is exhaustive so the compiler lists what a new one needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientMode {
    /// `callback_url?token=<JWT>`: the token itself, audience-bound to the partner.
    #[default]
    Token,
    /// `callback_url?ticket=<opaque>`: a single-use ticket the partner redeems server-to-server,
    /// so no bearer token travels in a URL.
    Ticket,
    /// OpenID Connect (PROTOCOLS §3): found by `client_id` at `/oauth2/*`, never by a
    /// callback URL.
    Oidc,
    /// CAS 3.0 (PROTOCOLS §4): found by `service` at `/cas/*`, never by a callback URL; it
    /// holds no secret (CAS clients validate tickets without one).
    Cas,
}

impl ClientMode {
    pub const ALL: [ClientMode; 4] = [
        ClientMode::Token,
        ClientMode::Ticket,
        ClientMode::Oidc,
        ClientMode::Cas,
    ];
    /// The names, as the contract spells them (for the CLI's list of possible values).
    pub const NAMES: [&'static str; 4] = [
        ClientMode::Token.as_str(),
        ClientMode::Ticket.as_str(),
        ClientMode::Oidc.as_str(),
        ClientMode::Cas.as_str(),
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ClientMode::Token => "token",
            ClientMode::Ticket => "ticket",
            ClientMode::Oidc => "oidc",
            ClientMode::Cas => "cas",
        }
    }

    /// Whether the partner is found by its callback URL (`/login`, `/logout`, `POST /token`).
    pub const fn by_callback(self) -> bool {
        match self {
            ClientMode::Token | ClientMode::Ticket => true,
            ClientMode::Oidc | ClientMode::Cas => false,
        }
    }

    /// Whether partners of this mode have callback rules: the seed modes' callbacks, CAS's
    /// service URLs.
    pub const fn has_callbacks(self) -> bool {
        match self {
            ClientMode::Token | ClientMode::Ticket | ClientMode::Cas => true,
            ClientMode::Oidc => false,
        }
    }

    /// A stored mode. Every writer validates, so an unreadable value means the row was edited
    /// by hand: it is taken as `Ticket`, the mode that never puts a bearer token in a URL.
    pub fn from_stored(stored: &str) -> ClientMode {
        stored.parse().unwrap_or_else(|_| {
            tracing::warn!(
                mode = stored,
                "unknown partner mode in the database, using ticket"
            );
            ClientMode::Ticket
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mode: must be `token`, `ticket`, `oidc` or `cas`")]
pub struct UnknownMode;

impl FromStr for ClientMode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(UnknownMode)
    }
}

display_as_str!(ClientMode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips_through_its_name_and_json() {
        for (mode, name) in ClientMode::ALL.into_iter().zip(ClientMode::NAMES) {
            assert_eq!(mode.as_str(), name);
            assert_eq!(name.parse::<ClientMode>(), Ok(mode));
            assert_eq!(serde_json::to_value(mode).unwrap(), name);
            assert_eq!(ClientMode::from_stored(name), mode);
        }
    }

    #[test]
    fn names_are_exact() {
        for bad in ["", "Token", "TICKET", " token", "OIDC", "CAS", "saml"] {
            assert_eq!(bad.parse::<ClientMode>(), Err(UnknownMode), "{bad:?}");
        }
        assert_eq!(ClientMode::from_stored("garbled"), ClientMode::Ticket);
    }
}
