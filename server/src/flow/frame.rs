//! A payload on its way to sockets: serialized once where the parser allows, with its size.
//!
//! socketioxide serializes the data of every `emit`; for a room of a thousand that was a thousand
//! serializations of the same message. With the JSON parser a [`Frame`] holds the payload
//! serialized once into a [`RawValue`], which each emit copies as it is. MessagePack has no such
//! passthrough, so there each emit serializes the value itself. Either way the frame knows about
//! how many bytes it puts in a socket's queue, for the output budget.

use std::io;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use tracing::warn;

/// A payload ready to emit, and its size in bytes (exact for JSON, the JSON size for MessagePack).
pub struct Frame<'a, T: ?Sized> {
    body: Body<'a, T>,
    size: usize,
}

enum Body<'a, T: ?Sized> {
    Json(Box<RawValue>),
    Value(&'a T),
}

impl<'a, T: Serialize + ?Sized> Frame<'a, T> {
    /// Serializes `data` now when `json` (the server uses the JSON parser), else measures it.
    pub fn new(data: &'a T, json: bool) -> Self {
        if json {
            match serde_json::value::to_raw_value(data) {
                Ok(raw) => {
                    let size = raw.get().len();
                    return Self {
                        body: Body::Json(raw),
                        size,
                    };
                }
                Err(e) => warn!(cause = %e, "cannot serialize a payload"),
            }
        }
        let mut counter = Counter(0);
        serde_json::to_writer(&mut counter, data).ok();
        Self {
            body: Body::Value(data),
            size: counter.0,
        }
    }

    /// Bytes this payload takes in a socket's queue.
    pub fn size(&self) -> usize {
        self.size
    }
}

impl<T: Serialize + ?Sized> Serialize for Frame<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.body {
            Body::Json(raw) => raw.serialize(serializer),
            Body::Value(value) => value.serialize(serializer),
        }
    }
}

/// A writer that only counts.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_report_the_json_size_and_serialize_the_same() {
        let data = serde_json::json!({ "text": "héllo", "n": [1, 2, 3] });
        let expected = serde_json::to_string(&data).expect("json");
        for json in [true, false] {
            let frame = Frame::new(&data, json);
            assert_eq!(frame.size(), expected.len());
            assert_eq!(serde_json::to_string(&frame).expect("json"), expected);
        }
    }
}
