//! The client→server payload types of `server::wire`: JSON text, JSON values and MessagePack
//! values of any shape decode without panicking, the three decoders agree on every input, and
//! well-formed payloads (with unknown keys beside them) read back field for field.

use proptest::{collection::vec, prelude::*};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use server::wire::{
    AddMember, Args, Auth, CancelReply, CreateRoom, DeleteMessage, EditMessage, HistoryQuery,
    JoinRoom, ReadIn, ReplyError, RoomOnly, SendMessage, TypingIn, Usage,
};

use crate::generate::{
    any_bytes, any_json, any_msgpack, any_string, shaped, shaped_text, to_msgpack,
};

/// A field's type on the wire.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    OptStr,
    Bool,
    /// `bool` that may be left out (then `false`).
    BoolOrFalse,
    I64,
    OptI64,
    U64,
    /// `{ room: seq }` that may be left out (then empty).
    SeqMap,
}

/// A payload type and what a decoded value of it holds.
trait Fields: DeserializeOwned {
    /// Wire names and types of the fields.
    const FIELDS: &'static [(&'static str, Kind)];
    /// Wire names alone.
    const NAMES: &'static [&'static str];
    /// Every field by its wire name, absent options as `null`.
    fn fields(&self) -> Value;
}

macro_rules! fields {
    ($($t:ty { $($wire:literal: $field:ident as $kind:ident),* $(,)? })*) => {$(
        impl Fields for $t {
            const FIELDS: &'static [(&'static str, Kind)] = &[$(($wire, Kind::$kind)),*];
            const NAMES: &'static [&'static str] = &[$($wire),*];
            fn fields(&self) -> Value {
                json!({ $($wire: self.$field),* })
            }
        }
    )*};
}

fields! {
    Auth { "token": token as OptStr, "name": name as OptStr, "since": since as SeqMap }
    CreateRoom { "name": name as Str, "private": private as BoolOrFalse }
    JoinRoom { "room": room as Str, "since": since as OptI64 }
    RoomOnly { "room": room as Str }
    AddMember { "room": room as Str, "user": user as Str }
    SendMessage { "room": room as Str, "text": text as Str, "clientId": client_id as Str }
    EditMessage { "room": room as Str, "id": id as Str, "text": text as Str }
    DeleteMessage { "room": room as Str, "id": id as Str }
    HistoryQuery {
        "room": room as Str,
        "before": before as OptI64,
        "after": after as OptI64,
        "limit": limit as OptI64,
    }
    TypingIn { "room": room as Str, "typing": typing as Bool }
    ReadIn { "room": room as Str, "seq": seq as I64 }
    CancelReply { "room": room as Str, "id": id as Str }
    Usage { "promptTokens": prompt_tokens as U64, "completionTokens": completion_tokens as U64 }
    ReplyError { "code": code as Str, "message": message as Str }
}

/// How one field may be written, and what it then reads as. `None`: the key is left out.
fn field(kind: Kind) -> BoxedStrategy<(Option<Value>, Value)> {
    let some = |v: Value| (Some(v.clone()), v);
    let left_out = |default: Value| Just((None, default));
    match kind {
        Kind::Str => any_string().prop_map(move |s| some(s.into())).boxed(),
        Kind::OptStr => prop_oneof![
            left_out(Value::Null),
            Just((Some(Value::Null), Value::Null)),
            any_string().prop_map(move |s| some(s.into())),
        ]
        .boxed(),
        Kind::Bool => any::<bool>().prop_map(move |b| some(b.into())).boxed(),
        Kind::BoolOrFalse => prop_oneof![
            left_out(false.into()),
            any::<bool>().prop_map(move |b| some(b.into()))
        ]
        .boxed(),
        Kind::I64 => any::<i64>().prop_map(move |n| some(n.into())).boxed(),
        Kind::OptI64 => prop_oneof![
            left_out(Value::Null),
            Just((Some(Value::Null), Value::Null)),
            any::<i64>().prop_map(move |n| some(n.into())),
        ]
        .boxed(),
        Kind::U64 => any::<u64>().prop_map(move |n| some(n.into())).boxed(),
        Kind::SeqMap => prop_oneof![
            left_out(json!({})),
            vec((any_string(), any::<i64>()), 0..5).prop_map(move |kv| {
                some(Value::Object(
                    kv.into_iter().map(|(k, n)| (k, n.into())).collect(),
                ))
            }),
        ]
        .boxed(),
    }
}

/// A well-formed payload of `T` with unknown keys beside its fields, and the fields it holds.
fn well_formed<T: Fields>() -> impl Strategy<Value = (Value, Value)> {
    let fields: Vec<_> = T::FIELDS.iter().map(|&(_, kind)| field(kind)).collect();
    let extra = vec((any_string(), any_json()), 0..3);
    (fields, extra).prop_map(|(values, extra)| {
        let mut input: Map<String, Value> = extra
            .into_iter()
            .filter(|(k, _)| !T::NAMES.contains(&k.as_str()))
            .collect();
        let mut expected = Map::new();
        for ((name, _), (written, read)) in T::FIELDS.iter().zip(values) {
            if let Some(v) = written {
                input.insert((*name).to_owned(), v);
            }
            expected.insert((*name).to_owned(), read);
        }
        (Value::Object(input), Value::Object(expected))
    })
}

/// A well-formed payload reads back the same from JSON text, a JSON value and MessagePack.
fn reads_back<T: Fields>(input: &Value, expected: &Value) -> Result<(), TestCaseError> {
    let text = serde_json::to_vec(input).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_text = serde_json::from_slice::<T>(&text).map(|t| t.fields());
    prop_assert_eq!(
        from_text.as_ref().ok(),
        Some(expected),
        "{:?}",
        from_text.as_ref().err()
    );
    let from_msgpack = rmpv::ext::from_value::<T>(to_msgpack(input)).map(|t| t.fields());
    prop_assert_eq!(
        from_msgpack.as_ref().ok(),
        Some(expected),
        "{:?}",
        from_msgpack.as_ref().err()
    );
    Ok(())
}

/// JSON text, the JSON value and its MessagePack form decode alike: all refused, or all to the
/// same fields. (Reaching every decoder is also the no-panic check.)
fn decoders_agree<T: Fields>(input: &Value) -> Result<(), TestCaseError> {
    let text = serde_json::to_vec(input).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_text = serde_json::from_slice::<T>(&text).map(|t| t.fields()).ok();
    let from_value = serde_json::from_value::<T>(input.clone())
        .map(|t| t.fields())
        .ok();
    let from_msgpack = rmpv::ext::from_value::<T>(to_msgpack(input))
        .map(|t| t.fields())
        .ok();
    prop_assert_eq!(&from_text, &from_value);
    prop_assert_eq!(&from_text, &from_msgpack);
    // Every argument list of such payloads: accepted exactly when each one is.
    let list = Value::Array(vec![input.clone(), input.clone()]);
    let args = serde_json::from_value::<Args<T>>(list)
        .map(|a| a.0.len())
        .ok();
    prop_assert_eq!(args, from_text.map(|_| 2));
    Ok(())
}

/// Bytes and JSON text of any kind: decoding returns, whatever it returns.
fn junk_text<T: Fields>(bytes: &[u8]) {
    drop(serde_json::from_slice::<T>(bytes));
    drop(serde_json::from_slice::<Args<T>>(bytes));
}

/// MessagePack values JSON cannot say: decoding returns.
fn junk_msgpack<T: Fields>(value: &rmpv::Value) {
    drop(rmpv::ext::from_value::<T>(value.clone()));
    drop(rmpv::ext::from_value::<Args<T>>(value.clone()));
}

macro_rules! properties {
    ($($module:ident: $t:ty,)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(crate::cases(256))]

                #[test]
                fn well_formed_reads_back((input, expected) in well_formed::<$t>()) {
                    reads_back::<$t>(&input, &expected)?;
                }

                #[test]
                fn json_decoders_agree(input in prop_oneof![shaped(<$t>::NAMES), any_json()]) {
                    decoders_agree::<$t>(&input)?;
                }

                #[test]
                fn junk_never_panics(
                    bytes in prop_oneof![
                        any_bytes(),
                        shaped_text(<$t>::NAMES).prop_map(String::into_bytes),
                    ],
                    msgpack in any_msgpack(),
                ) {
                    junk_text::<$t>(&bytes);
                    junk_msgpack::<$t>(&msgpack);
                }
            }
        }
    )*};
}

properties! {
    auth: Auth,
    create_room: CreateRoom,
    join_room: JoinRoom,
    room_only: RoomOnly,
    add_member: AddMember,
    send_message: SendMessage,
    edit_message: EditMessage,
    delete_message: DeleteMessage,
    history_query: HistoryQuery,
    typing_in: TypingIn,
    read_in: ReadIn,
    cancel_reply: CancelReply,
    usage: Usage,
    reply_error: ReplyError,
}

proptest! {
    #![proptest_config(crate::cases(256))]

    /// An event's argument list is read from an array, element for element, and from nothing
    /// else; JSON and MessagePack agree.
    #[test]
    fn args_are_the_array_elements(input in any_json()) {
        let expected = input.as_array().cloned();
        let from_value = serde_json::from_value::<Args<Value>>(input.clone()).map(|a| a.0).ok();
        prop_assert_eq!(&from_value, &expected);
        // From text, against the same parser's reading of it (floats may not round-trip exactly).
        let text = input.to_string();
        let reread = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.as_array().cloned());
        let from_text = serde_json::from_str::<Args<Value>>(&text).map(|a| a.0).ok();
        prop_assert_eq!(&from_text, &reread);
        prop_assert_eq!(from_text.is_some(), expected.is_some());
        let from_msgpack = rmpv::ext::from_value::<Args<Value>>(to_msgpack(&input)).is_ok();
        prop_assert_eq!(from_msgpack, expected.is_some());
    }
}
