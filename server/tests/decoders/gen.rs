//! Generators shared by the decoder properties: hostile strings and numbers, arbitrary JSON
//! values and texts, and their MessagePack forms.

use proptest::{collection::vec, prelude::*, sample::select};
use serde_json::{Map, Number, Value};

/// Field names of the wire types, so generated objects often hit a real field.
pub const FIELD_NAMES: &[&str] = &[
    "room",
    "text",
    "clientId",
    "client_id",
    "id",
    "name",
    "private",
    "since",
    "before",
    "after",
    "limit",
    "typing",
    "seq",
    "user",
    "token",
    "promptTokens",
    "completionTokens",
    "code",
    "message",
    "choices",
    "delta",
    "content",
    "finish_reason",
    "usage",
];

/// Characters that break naive code: controls, separators, quotes, escapes, BOM, surrogate
/// neighbours, combining marks, the last scalar value.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('\0', '\u{1f}'),
        select(vec![
            '\u{7f}',
            '\u{85}',
            '\u{a0}',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fffd}',
            '\u{d7ff}',
            '\u{e000}',
            '\u{10ffff}',
            '\u{301}',
            '"',
            '\\',
            '\'',
            '/',
            '=',
            '&',
            '.',
            '%',
            '@',
            ' ',
        ]),
    ]
}

/// Any string: short random text, unicode, control characters, or very long.
pub fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 _.-]{0,16}",
        3 => vec(any::<char>(), 0..24).prop_map(String::from_iter),
        3 => vec(prop_oneof![nasty_char(), any::<char>()], 0..24).prop_map(String::from_iter),
        1 => select(FIELD_NAMES).prop_map(str::to_owned),
        1 => (any::<char>(), 200..5_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// Any JSON number: extremes, ordinary integers, finite floats.
pub fn any_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        select(vec![
            Number::from(0),
            Number::from(-1),
            Number::from(i64::MIN),
            Number::from(i64::MAX),
            Number::from(u64::MAX),
            Number::from(u64::try_from(i64::MAX).unwrap_or(0) + 1),
        ]),
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (-1_000i64..1_000).prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        select(vec![0.5, -0.0, 1e300, -1e300, 1.0, 3.0, f64::MIN_POSITIVE])
            .prop_filter_map("finite", Number::from_f64),
    ]
}

/// Any JSON value, nested up to 8 levels deep.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number().prop_map(Value::Number),
        any_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((any_string(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An object whose keys are mostly `fields`, with arbitrary values: it reaches each field's own
/// decoding instead of failing on the first missing field.
pub fn shaped(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = prop_oneof![4 => select(fields).prop_map(str::to_owned), 1 => any_string()];
    vec((key, any_json()), 0..=fields.len() + 1)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
}

/// Number literals no `f64` or `u64` holds: huge, tiny, long, exponents that overflow.
pub fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{19,60}",
        "-?[1-9][0-9]{0,5}\\.[0-9]{1,40}",
        "-?[0-9]{1,3}[eE][+-]?[0-9]{1,6}",
        Just("18446744073709551616".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("1e400".to_owned()),
        Just("-0".to_owned()),
    ]
}

/// JSON text for an object of `fields`, some values written as number literals no value type
/// holds.
pub fn shaped_text(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    let value = prop_oneof![number_literal(), any_json().prop_map(|v| v.to_string()),];
    vec((select(fields), value), 0..=fields.len()).prop_map(|kv| {
        let body: Vec<String> = kv
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

/// Arbitrary bytes: random, or JSON text cut short or with a byte changed.
pub fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..256),
        (any_json(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let at = cut.index(text.len() + 1);
            text[..at].to_vec()
        }),
        (any_json(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, b)| {
            let mut text = v.to_string().into_bytes();
            if !text.is_empty() {
                let i = at.index(text.len());
                text[i] = b;
            }
            text
        }),
    ]
}

/// The MessagePack value a JSON value encodes to.
pub fn to_msgpack(v: &Value) -> rmpv::Value {
    match v {
        Value::Null => rmpv::Value::Nil,
        Value::Bool(b) => rmpv::Value::Boolean(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                rmpv::Value::from(u)
            } else if let Some(i) = n.as_i64() {
                rmpv::Value::from(i)
            } else {
                rmpv::Value::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => rmpv::Value::from(s.as_str()),
        Value::Array(a) => rmpv::Value::Array(a.iter().map(to_msgpack).collect()),
        Value::Object(o) => rmpv::Value::Map(
            o.iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
    }
}

/// MessagePack values JSON has no word for: binary, extension types, `f32`, invalid UTF-8
/// strings, maps with non-string keys, nested to 6 levels.
pub fn any_msgpack() -> impl Strategy<Value = rmpv::Value> {
    let leaf = prop_oneof![
        any_json().prop_map(|v| to_msgpack(&v)),
        vec(any::<u8>(), 0..32).prop_map(rmpv::Value::Binary),
        (any::<i8>(), vec(any::<u8>(), 0..16)).prop_map(|(t, d)| rmpv::Value::Ext(t, d)),
        any::<f32>().prop_map(rmpv::Value::F32),
        vec(any::<u8>(), 0..16).prop_map(|b| raw_msgpack_str(&b)),
    ];
    leaf.prop_recursive(6, 48, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(rmpv::Value::Array),
            vec((inner.clone(), inner.clone()), 0..5).prop_map(rmpv::Value::Map),
            vec((select(FIELD_NAMES), inner), 0..5).prop_map(|kv| rmpv::Value::Map(
                kv.into_iter()
                    .map(|(k, v)| (rmpv::Value::from(k), v))
                    .collect()
            )),
        ]
    })
}

/// A MessagePack string holding `bytes` as they are, valid UTF-8 or not.
fn raw_msgpack_str(bytes: &[u8]) -> rmpv::Value {
    let bytes = &bytes[..bytes.len().min(31)];
    let mut encoded = vec![0xa0 | u8::try_from(bytes.len()).unwrap_or(0)];
    encoded.extend_from_slice(bytes);
    rmpv::decode::read_value(&mut encoded.as_slice()).unwrap_or(rmpv::Value::Nil)
}
