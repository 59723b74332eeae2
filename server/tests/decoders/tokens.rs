//! Tokens: junk, forged, tampered and truncated tokens are refused `unauthorized` at verify and
//! at the handshake; signed claims are accepted exactly as the rules of `chat::auth` say; minted
//! tokens read back their identity; guests get a sane name or a `bad_request`.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::{collection::vec, option, prelude::*, sample::select};
use serde_json::{Map, Value, json};
use server::{
    chat::auth::{self, Identity, Tokens, valid_name},
    clock::now_secs,
    wire::{Auth, ErrorCode},
};

use crate::generate::{any_json, any_string};

const SECRET: &[u8] = b"decoders-test-secret-0123456789";

fn tokens() -> Tokens {
    Tokens::new(SECRET)
}

/// URL-safe base64 without padding, as JWTs write their segments.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// A display name as the rules say: trimmed, 1 to 64 characters, no control characters.
fn display_name(name: &str) -> Option<String> {
    let name = name.trim();
    let ok = !name.is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

/// A user id as the rules say: 1 to 128 bytes, and not the bot's.
fn valid_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id != "bot"
}

/// `token` is refused `unauthorized` by verify and by the handshake, guests allowed or not.
fn refused(tokens: &Tokens, token: &str) -> Result<(), TestCaseError> {
    match tokens.verify(token) {
        Ok(id) => prop_assert!(false, "{token:?} accepted as {id:?}"),
        Err(e) => prop_assert_eq!(e.code, ErrorCode::Unauthorized, "{}", e.message),
    }
    for allow_guests in [true, false] {
        let auth = Auth {
            token: Some(token.to_owned()),
            name: Some("Ada".to_owned()),
            ..Auth::default()
        };
        let code = auth::authenticate(&auth, tokens, allow_guests)
            .err()
            .map(|e| e.code);
        prop_assert_eq!(
            code,
            Some(ErrorCode::Unauthorized),
            "{:?} at the handshake",
            token
        );
    }
    Ok(())
}

fn user_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_-]{1,20}",
        3 => any_string(),
        1 => select(vec!["bot", "", "Bot", "bot ", " bot", "guest-x", "u:bot"]).prop_map(str::to_owned),
        1 => (120usize..136).prop_map(|n| "x".repeat(n)),
        1 => (40usize..46).prop_map(|n| "é".repeat(n)),
    ]
}

fn identity() -> impl Strategy<Value = Identity> {
    (user_id(), any_string(), any::<bool>()).prop_map(|(user_id, name, guest)| Identity {
        user_id,
        name,
        guest,
    })
}

/// A valid identity, and a valid token of it.
fn minted() -> impl Strategy<Value = String> {
    ("[a-z0-9]{1,12}", "[A-Za-z ]{1,20}", any::<bool>()).prop_map(|(user_id, name, guest)| {
        let id = Identity {
            user_id,
            name,
            guest,
        };
        tokens().mint(&id, 3600).expect("mint")
    })
}

/// Dot-separated segments: base64 of bytes, of JSON, of headers naming any algorithm, or junk.
fn segments() -> impl Strategy<Value = String> {
    let header = select(vec!["HS256", "none", "None", "HS512", "RS256", "ES256", ""])
        .prop_map(|alg| b64url(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes()));
    let segment = prop_oneof![
        vec(any::<u8>(), 0..64).prop_map(|b| b64url(&b)),
        any_json().prop_map(|v| b64url(v.to_string().as_bytes())),
        header,
        "[A-Za-z0-9_=+/-]{0,48}",
        any_string(),
    ];
    vec(segment, 1..5).prop_map(|s| s.join("."))
}

/// Tokens signed other than with our secret and algorithm.
fn forged() -> impl Strategy<Value = String> {
    let claims = json!({ "sub": "alice", "name": "Alice", "exp": now_secs() + 3600 });
    let other_secret = vec(any::<u8>(), 0..40).prop_filter("not ours", |s| s.as_slice() != SECRET);
    let body = b64url(claims.to_string().as_bytes());
    prop_oneof![
        other_secret.prop_map(move |secret| {
            let key = EncodingKey::from_secret(&secret);
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("encode")
        }),
        select(vec![Algorithm::HS384, Algorithm::HS512]).prop_map(move |alg| {
            let claims = json!({ "sub": "alice", "exp": now_secs() + 3600 });
            let key = EncodingKey::from_secret(SECRET);
            jsonwebtoken::encode(&Header::new(alg), &claims, &key).expect("encode")
        }),
        Just(format!(
            "{}.{body}.",
            b64url(br#"{"alg":"none","typ":"JWT"}"#)
        )),
    ]
}

/// What verify must do with signed claims.
#[derive(Debug, PartialEq)]
enum Verdict {
    Accept(Identity),
    Refuse,
    Either,
}

/// The rules of `chat::auth` for claims signed with our key, at time `now`: a string `sub` of 1
/// to 128 bytes other than `bot`; an integer `exp` not past; no `nbf` in the future; `name` a
/// string or nothing (a bad one gives way to `sub`); `guest` a boolean or nothing.
fn verdict(claims: &Value, now: u64) -> Verdict {
    let Some(c) = claims.as_object() else {
        return Verdict::Refuse;
    };
    let Some(sub) = c
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| valid_user_id(s))
    else {
        return Verdict::Refuse;
    };
    if c.get("exp")
        .and_then(Value::as_u64)
        .is_none_or(|exp| exp < now)
    {
        return Verdict::Refuse;
    }
    if c.get("nbf")
        .and_then(Value::as_f64)
        .is_some_and(|nbf| nbf > now as f64)
    {
        return Verdict::Refuse;
    }
    let name = match c.get("name") {
        None | Some(Value::Null) => sub.to_owned(),
        Some(Value::String(n)) => display_name(n).unwrap_or_else(|| sub.to_owned()),
        Some(_) => return Verdict::Refuse,
    };
    let guest = match c.get("guest") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Verdict::Refuse,
    };
    let identity = Identity {
        user_id: sub.to_owned(),
        name,
        guest,
    };
    match c.get("nbf") {
        // A past `nbf` that is not an unsigned integer: the JWT library may not read it.
        Some(nbf) if nbf.as_u64().is_none() => Verdict::Either,
        _ => Verdict::Accept(identity),
    }
}

/// Claims of every kind, with times two minutes or more from `now` (any leeway is smaller).
fn claims(now: u64) -> impl Strategy<Value = Value> {
    let json = || any_json().boxed();
    let sub = prop_oneof![4 => user_id().prop_map(Value::from), 1 => json()];
    let exp = prop_oneof![
        3 => (now + 120..now + 1_000_000_000).prop_map(Value::from),
        2 => (0..now - 120).prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => Just(Value::from((now + 3600) as f64 + 0.5)),
        1 => json(),
    ];
    let nbf = prop_oneof![
        (0..now).prop_map(Value::from),
        (now + 3600..now + 1_000_000_000).prop_map(Value::from),
        Just(Value::from((now + 3600) as f64 + 0.5)),
        Just(Value::from(-5)),
    ];
    let name = prop_oneof![4 => any_string().prop_map(Value::from), 1 => json()];
    let guest = prop_oneof![4 => any::<bool>().prop_map(Value::from), 1 => json()];
    let extra = vec(("[a-z]{1,6}", json()), 0..3);
    let object = (
        option::weighted(0.9, sub),
        option::weighted(0.9, exp),
        option::weighted(0.3, nbf),
        option::weighted(0.7, name),
        option::weighted(0.5, guest),
        extra,
    )
        .prop_map(|(sub, exp, nbf, name, guest, extra)| {
            let reserved = ["sub", "exp", "nbf", "name", "guest", "aud", "iss"];
            let mut c: Map<String, Value> = extra
                .into_iter()
                .filter(|(k, _)| !reserved.contains(&k.as_str()))
                .collect();
            for (k, v) in [
                ("sub", sub),
                ("exp", exp),
                ("nbf", nbf),
                ("name", name),
                ("guest", guest),
            ] {
                if let Some(v) = v {
                    c.insert(k.to_owned(), v);
                }
            }
            Value::Object(c)
        });
    prop_oneof![9 => object, 1 => json()]
}

proptest! {
    #![proptest_config(crate::cases(512))]

    #[test]
    fn junk_strings_are_refused(token in any_string()) {
        refused(&tokens(), &token)?;
    }

    #[test]
    fn junk_segments_are_refused(token in segments()) {
        refused(&tokens(), &token)?;
    }

    #[test]
    fn forged_tokens_are_refused(token in forged()) {
        refused(&tokens(), &token)?;
    }

    #[test]
    fn a_flipped_byte_is_refused(token in minted(), at in any::<prop::sample::Index>(), mask in 1u8..128) {
        let mut bytes = token.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let tampered = String::from_utf8(bytes).expect("tokens are ASCII");
        refused(&tokens(), &tampered)?;
    }

    #[test]
    fn cut_or_lengthened_tokens_are_refused(
        token in minted(),
        at in any::<prop::sample::Index>(),
        insert in option::of(prop_oneof!["[A-Za-z0-9_=.-]{1,4}", any_string().prop_filter("some", |s| !s.is_empty())]),
    ) {
        let i = at.index(token.len());
        let changed = match insert {
            Some(s) => format!("{}{s}{}", &token[..i], &token[i..]),
            None => token[..i].to_owned(),
        };
        refused(&tokens(), &changed)?;
    }

    #[test]
    fn signed_claims_are_judged_by_the_rules(claims in claims(now_secs())) {
        let key = EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("encode");
        let got = tokens().verify(&token);
        if let Err(e) = &got {
            prop_assert_eq!(e.code, ErrorCode::Unauthorized);
        }
        match verdict(&claims, now_secs()) {
            Verdict::Accept(id) => prop_assert_eq!(got.ok(), Some(id), "{}", claims),
            Verdict::Refuse => prop_assert!(got.is_err(), "{} accepted as {:?}", claims, got),
            Verdict::Either => {}
        }
    }

    #[test]
    fn minted_tokens_read_back(
        id in identity(),
        ttl in 1u64..100_000_000,
        secret in option::of(vec(any::<u8>(), 0..48)),
    ) {
        let tokens = secret.as_deref().map_or_else(tokens, Tokens::new);
        let token = tokens.mint(&id, ttl).expect("mint");
        let got = tokens.verify(&token);
        if valid_user_id(&id.user_id) {
            let name = display_name(&id.name).unwrap_or_else(|| id.user_id.clone());
            let expected = Identity { user_id: id.user_id.clone(), name, guest: id.guest };
            prop_assert_eq!(got, Ok(expected), "ttl {}", ttl);
        } else {
            prop_assert_eq!(got.err().map(|e| e.code), Some(ErrorCode::Unauthorized));
        }
    }

    /// Any lifetime an operator may configure (`--guest-token-ttl-secs`, `token --ttl-secs`):
    /// minting refuses it, or the token verifies (it never comes out already expired).
    #[test]
    fn long_lifetimes_never_mint_expired_tokens(ttl in prop_oneof![any::<u64>(), u64::MAX - 4_000_000_000..=u64::MAX, Just(u64::MAX)]) {
        let alice = Identity { user_id: "alice".into(), name: "Alice".into(), guest: false };
        if let Ok(token) = tokens().mint(&alice, ttl.max(1)) {
            prop_assert_eq!(tokens().verify(&token), Ok(alice), "ttl {}", ttl);
        }
    }

    #[test]
    fn guests_get_a_sane_name_or_bad_request(name in option::of(any_string()), allow in any::<bool>()) {
        let auth = Auth { name: name.clone(), ..Auth::default() };
        let got = auth::authenticate(&auth, &tokens(), allow);
        let sane = name.as_deref().and_then(display_name);
        prop_assert_eq!(name.as_deref().map(|n| valid_name(n).ok()), name.as_deref().map(display_name));
        match (allow, sane, got) {
            (false, _, got) => prop_assert_eq!(got.err().map(|e| e.code), Some(ErrorCode::Unauthorized)),
            (true, None, got) => prop_assert_eq!(got.err().map(|e| e.code), Some(ErrorCode::BadRequest)),
            (true, Some(sane), Ok(guest)) => {
                prop_assert!(guest.guest && guest.name == sane, "{:?}", guest);
                let rest = guest.user_id.strip_prefix("guest-").unwrap_or_default();
                prop_assert!(rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
                let token = tokens().mint(&guest, 60).expect("mint");
                prop_assert_eq!(tokens().verify(&token), Ok(guest));
            }
            (true, Some(_), Err(e)) => prop_assert!(false, "a sane guest name was refused: {e}"),
        }
    }

    #[test]
    fn any_auth_payload_is_answered(payload in any_json()) {
        if let Ok(auth) = serde_json::from_value::<Auth>(payload) {
            for allow in [true, false] {
                if let Ok(id) = auth::authenticate(&auth, &tokens(), allow) {
                    prop_assert!(auth.token.is_none() && id.guest, "{:?} let in as {:?}", auth, id);
                }
            }
        }
    }
}
