//! Who a socket is: a JWT (HS256) or, when allowed, a guest with a fresh id and its own token.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    clock::now_secs,
    ids::new_id,
    store::{Store, StoreError},
    wire::{Auth, ErrorBody, ErrorCode},
};

/// The identity a socket acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user id (a token's `sub`, or `guest-…`).
    pub user_id: String,
    /// The display name.
    pub name: String,
    /// Whether the server made this user up.
    pub guest: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    exp: u64,
    #[serde(default)]
    guest: bool,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<secret>)")
    }
}

impl Tokens {
    /// Tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // A token not valid yet is refused like an expired one.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for `user`, valid for `ttl_secs`.
    pub fn mint(
        &self,
        user: &Identity,
        ttl_secs: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: user.user_id.clone(),
            name: Some(user.name.clone()),
            // A lifetime too long to add is "for ever", not a wrap into the past.
            exp: now_secs().saturating_add(ttl_secs),
            guest: user.guest,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The identity a valid token names.
    pub fn verify(&self, token: &str) -> Result<Identity, ErrorBody> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                let why = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired",
                    jsonwebtoken::errors::ErrorKind::ImmatureSignature => "token not valid yet",
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "token signature is invalid"
                    }
                    _ => "token is invalid",
                };
                ErrorBody::new(ErrorCode::Unauthorized, why)
            })?;
        let claims = data.claims;
        // `bot` is the chatbot's id: no token may speak as it.
        if claims.sub.is_empty() || claims.sub.len() > 128 || claims.sub == "bot" {
            return Err(ErrorBody::new(
                ErrorCode::Unauthorized,
                "token subject is invalid",
            ));
        }
        // The name as `valid_name` leaves it (trimmed), the same rule as for guests.
        let name = claims
            .name
            .and_then(|n| valid_name(&n).ok())
            .unwrap_or_else(|| claims.sub.clone());
        Ok(Identity {
            user_id: claims.sub,
            name,
            guest: claims.guest,
        })
    }
}

/// The key under which the database keeps the token secret when none is configured.
pub const SECRET_SETTING: &str = "jwt_secret";

/// The token secret in force: `configured`, else the one kept in the database, which every node
/// sharing it reads (the first start writes it: the secret an earlier version kept in the data
/// folder, or a random one). An in-memory database (`data_dir` `None`) gets a random one.
pub async fn resolve_secret(
    configured: Option<&str>,
    data_dir: Option<&Path>,
    store: &Store,
) -> Result<Vec<u8>, StoreError> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let Some(dir) = data_dir else {
        return Ok(random_secret().into_bytes());
    };
    let candidate = legacy_secret(dir).unwrap_or_else(random_secret);
    Ok(store
        .setting_or_insert(SECRET_SETTING, &candidate)
        .await?
        .into_bytes())
}

/// The token secret an earlier version kept in `jwt-secret` in the data folder, if there is one:
/// it seeds the database's secret, so tokens issued before stay valid.
pub fn legacy_secret(data_dir: &Path) -> Option<String> {
    let secret = std::fs::read_to_string(data_dir.join("jwt-secret")).ok()?;
    let secret = secret.trim();
    (secret.len() >= 16).then(|| secret.to_owned())
}

/// 256 random bits, in hex.
pub fn random_secret() -> String {
    (0..4)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect()
}

/// A display name: 1 to 64 characters after trimming, no control characters.
pub fn valid_name(name: &str) -> Result<String, ErrorBody> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ErrorBody::new(
            ErrorCode::BadRequest,
            "name must be 1 to 64 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Decides who a connecting socket is. A guest gets a new id and a token for it.
pub fn authenticate(
    auth: &Auth,
    tokens: &Tokens,
    allow_guests: bool,
) -> Result<Identity, ErrorBody> {
    if let Some(token) = &auth.token {
        return tokens.verify(token);
    }
    if !allow_guests {
        return Err(ErrorBody::new(
            ErrorCode::Unauthorized,
            "a token is required",
        ));
    }
    let Some(name) = &auth.name else {
        return Err(ErrorBody::new(
            ErrorCode::BadRequest,
            "give a token or a name",
        ));
    };
    Ok(Identity {
        user_id: new_id("guest-", 12),
        name: valid_name(name)?,
        guest: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity {
            user_id: "alice".into(),
            name: "Alice".into(),
            guest: false,
        }
    }

    #[test]
    fn a_minted_token_names_its_user_and_another_secret_refuses_it() {
        let tokens = Tokens::new(b"0123456789abcdef0123");
        let token = tokens.mint(&alice(), 60).expect("mint");
        assert_eq!(tokens.verify(&token), Ok(alice()));
        let other = Tokens::new(b"another-secret-of-20b");
        let err = other.verify(&token).expect_err("wrong secret");
        assert_eq!(err.code, ErrorCode::Unauthorized);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let tokens = Tokens::new(b"0123456789abcdef0123");
        let claims = Claims {
            sub: "alice".into(),
            name: None,
            exp: now_secs() - 10,
            guest: false,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
            .expect("encode");
        let err = tokens.verify(&token).expect_err("expired");
        assert_eq!(err.message, "token expired");
    }

    #[test]
    fn tokens_not_valid_yet_are_refused_and_valid_ones_accepted() {
        let tokens = Tokens::new(b"0123456789abcdef0123");
        let token = |nbf: u64| {
            let claims = serde_json::json!({ "sub": "alice", "exp": now_secs() + 600, "nbf": nbf });
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
                .expect("encode")
        };
        let err = tokens
            .verify(&token(now_secs() + 3600))
            .expect_err("not valid for an hour");
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert_eq!(err.message, "token not valid yet");
        assert!(tokens.verify(&token(now_secs() - 10)).is_ok());
    }

    #[test]
    fn guests_need_a_sane_name_and_get_fresh_ids() {
        let tokens = Tokens::new(b"0123456789abcdef0123");
        let auth = |name: &str| Auth {
            name: Some(name.into()),
            ..Auth::default()
        };
        let a = authenticate(&auth(" Ada "), &tokens, true).expect("guest");
        let b = authenticate(&auth("Ada"), &tokens, true).expect("guest");
        assert_eq!(a.name, "Ada");
        assert_ne!(a.user_id, b.user_id);
        assert!(authenticate(&auth(""), &tokens, true).is_err());
        assert!(authenticate(&auth(&"x".repeat(65)), &tokens, true).is_err());
        let refused = authenticate(&auth("Ada"), &tokens, false).expect_err("guests off");
        assert_eq!(refused.code, ErrorCode::Unauthorized);
    }
}
