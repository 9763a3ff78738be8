//! What an operator gives to register a partner (PROTOCOLS §2), checked once for the CLI, the
//! admin JSON API and the console alike: each mode's own fields, and none of another's.

use super::callback::{CallbackRule, CallbackUrl};
use super::mode::ClientMode;
use super::redirect_uri::RedirectUri;
use crate::tokens::ClientAlg;

/// How an OpenID Connect partner authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// HTTP Basic with the form-url-encoded id and secret (RFC 6749 §2.3.1).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
    /// A public client: no secret, PKCE S256 required.
    None,
}

impl AuthMethod {
    /// In the order discovery lists them.
    pub const ALL: [AuthMethod; 3] = [AuthMethod::Basic, AuthMethod::Post, AuthMethod::None];

    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Basic => "client_secret_basic",
            AuthMethod::Post => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        AuthMethod::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether the partner holds a secret.
    pub fn confidential(self) -> bool {
        self != AuthMethod::None
    }
}

display_as_str!(AuthMethod);

/// A registration as received; [`NewClient::validate`] turns it into a [`Registration`].
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub mode: ClientMode,
    pub callbacks: Vec<String>,
    pub logout_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
}

/// A checked registration: each field only where its mode uses it.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub mode: ClientMode,
    /// Normalised callback rules (token and ticket modes).
    pub callbacks: Vec<String>,
    pub logout_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Connect partners only.
    pub auth_method: Option<AuthMethod>,
    pub alg: Option<ClientAlg>,
}

impl Registration {
    /// Whether the partner gets a secret: every one but a public OpenID Connect client and a
    /// CAS service.
    pub fn has_secret(&self) -> bool {
        holds_secret(self.mode, self.auth_method)
    }
}

/// Whether a partner of `mode` registered with `auth_method` holds a secret.
pub(super) fn holds_secret(mode: ClientMode, auth_method: Option<AuthMethod>) -> bool {
    mode != ClientMode::Cas && auth_method.is_none_or(AuthMethod::confidential)
}

/// A field that cannot be registered, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    /// The request field (JSON name).
    pub field: &'static str,
    /// Starts with the field, as the CLI prints it.
    pub message: String,
}

fn refuse(field: &'static str, why: impl std::fmt::Display) -> ClientError {
    ClientError {
        field,
        message: format!("{field}: {why}"),
    }
}

/// At most this many redirect URIs per partner (PROTOCOLS §2).
const MAX_REDIRECT_URIS: usize = 20;

fn exact_urls(field: &'static str, raw: &[String]) -> Result<Vec<String>, ClientError> {
    raw.iter()
        .map(|u| {
            RedirectUri::parse(u)
                .map(|r| r.as_str().to_owned())
                .map_err(|e| refuse(field, format!("`{u}`: {e}")))
        })
        .collect()
}

impl NewClient {
    /// Checks and normalises the registration; the first bad field is the error.
    pub fn validate(self) -> Result<Registration, ClientError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(refuse("name", "must be 1 to 100 characters"));
        }
        let oidc = self.mode == ClientMode::Oidc;
        let foreign = |field: &'static str, present: bool| match present {
            true => Err(refuse(
                field,
                format!("not used by `{}` partners", self.mode),
            )),
            false => Ok(()),
        };
        let callbacks = if !self.mode.has_callbacks() {
            foreign("callbacks", !self.callbacks.is_empty())?;
            Vec::new()
        } else {
            if self.callbacks.is_empty() {
                return Err(refuse(
                    "callbacks",
                    "at least one callback rule is required",
                ));
            }
            self.callbacks
                .iter()
                .map(|c| {
                    CallbackRule::parse(c)
                        .map(|r| r.as_str().to_owned())
                        .map_err(|e| ClientError {
                            field: "callbacks",
                            message: format!("callback `{c}`: {e}"),
                        })
                })
                .collect::<Result<_, _>>()?
        };
        if let Some(url) = &self.logout_url
            && CallbackUrl::parse(url).is_none()
        {
            return Err(refuse(
                "logout_url",
                "must be an absolute http(s) URL without credentials or fragment",
            ));
        }
        if !oidc {
            foreign("redirect_uris", !self.redirect_uris.is_empty())?;
            foreign(
                "post_logout_redirect_uris",
                !self.post_logout_redirect_uris.is_empty(),
            )?;
            foreign(
                "token_endpoint_auth_method",
                self.token_endpoint_auth_method.is_some(),
            )?;
            foreign(
                "id_token_signed_response_alg",
                self.id_token_signed_response_alg.is_some(),
            )?;
            return Ok(Registration {
                name,
                mode: self.mode,
                callbacks,
                logout_url: self.logout_url,
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                auth_method: None,
                alg: None,
            });
        }
        if self.redirect_uris.is_empty() {
            return Err(refuse("redirect_uris", "at least one is required"));
        }
        if self.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(refuse(
                "redirect_uris",
                format!("at most {MAX_REDIRECT_URIS}"),
            ));
        }
        let redirect_uris = exact_urls("redirect_uris", &self.redirect_uris)?;
        if self.post_logout_redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(refuse(
                "post_logout_redirect_uris",
                format!("at most {MAX_REDIRECT_URIS}"),
            ));
        }
        let post_logout_redirect_uris =
            exact_urls("post_logout_redirect_uris", &self.post_logout_redirect_uris)?;
        let auth_method = match self.token_endpoint_auth_method.as_deref() {
            None => AuthMethod::default(),
            Some(raw) => AuthMethod::parse(raw).ok_or_else(|| {
                refuse(
                    "token_endpoint_auth_method",
                    "client_secret_basic, client_secret_post or none",
                )
            })?,
        };
        let alg = match self.id_token_signed_response_alg.as_deref() {
            None => ClientAlg::default(),
            Some(raw) => ClientAlg::parse(raw)
                .ok_or_else(|| refuse("id_token_signed_response_alg", "RS256 or EdDSA"))?,
        };
        Ok(Registration {
            name,
            mode: self.mode,
            callbacks,
            logout_url: self.logout_url,
            redirect_uris,
            post_logout_redirect_uris,
            auth_method: Some(auth_method),
            alg: Some(alg),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc() -> NewClient {
        NewClient {
            name: "Grafana".into(),
            mode: ClientMode::Oidc,
            redirect_uris: vec!["https://grafana.example/login/generic_oauth".into()],
            ..NewClient::default()
        }
    }

    #[test]
    fn an_oidc_registration_defaults_to_basic_and_rs256_with_a_secret() {
        let reg = oidc().validate().unwrap();
        assert_eq!(reg.auth_method, Some(AuthMethod::Basic));
        assert_eq!(reg.alg, Some(ClientAlg::Rs256));
        assert!(reg.has_secret());
        let public = NewClient {
            token_endpoint_auth_method: Some("none".into()),
            id_token_signed_response_alg: Some("EdDSA".into()),
            ..oidc()
        }
        .validate()
        .unwrap();
        assert!(!public.has_secret());
        assert_eq!(public.alg, Some(ClientAlg::EdDsa));
    }

    #[test]
    fn another_modes_field_names_the_field() {
        let cases: [(NewClient, &str); 6] = [
            (
                NewClient {
                    callbacks: vec!["https://a.example/cb".into()],
                    ..oidc()
                },
                "callbacks",
            ),
            (
                NewClient {
                    redirect_uris: vec![],
                    ..oidc()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    redirect_uris: vec!["https://a.example/cb#frag".into()],
                    ..oidc()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    token_endpoint_auth_method: Some("private_key_jwt".into()),
                    ..oidc()
                },
                "token_endpoint_auth_method",
            ),
            (
                NewClient {
                    name: "t".into(),
                    callbacks: vec!["https://a.example/cb".into()],
                    redirect_uris: vec!["https://a.example/cb".into()],
                    ..NewClient::default()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    name: "t".into(),
                    mode: ClientMode::Ticket,
                    callbacks: vec!["https://a.example/cb".into()],
                    id_token_signed_response_alg: Some("RS256".into()),
                    ..NewClient::default()
                },
                "id_token_signed_response_alg",
            ),
        ];
        for (new, field) in cases {
            let err = new.validate().unwrap_err();
            assert_eq!(err.field, field, "{}", err.message);
            assert!(err.message.starts_with(field), "{}", err.message);
        }
    }

    #[test]
    fn a_cas_service_needs_service_rules_and_gets_no_secret() {
        let cas = NewClient {
            name: "Library".into(),
            mode: ClientMode::Cas,
            callbacks: vec!["https://app.example/cas/*".into()],
            ..NewClient::default()
        };
        let reg = cas.clone().validate().unwrap();
        assert!(!reg.has_secret());
        assert_eq!(reg.auth_method, None);
        let none = NewClient {
            callbacks: vec![],
            ..cas.clone()
        };
        assert_eq!(none.validate().unwrap_err().field, "callbacks");
        let foreign = NewClient {
            post_logout_redirect_uris: vec!["https://app.example/".into()],
            ..cas
        };
        assert_eq!(
            foreign.validate().unwrap_err().field,
            "post_logout_redirect_uris"
        );
    }

    #[test]
    fn at_most_twenty_redirect_uris() {
        let many = (0..21)
            .map(|i| format!("https://a.example/cb{i}"))
            .collect();
        let err = NewClient {
            redirect_uris: many,
            ..oidc()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.field, "redirect_uris");
    }
}
