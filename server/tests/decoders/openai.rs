//! The `data:` lines of an OpenAI-compatible stream: anything decodes to chunks or an
//! `upstream_malformed` error, `[DONE]` ends the stream, and a well-formed chunk yields its
//! texts, finish reasons and usage in order.

use proptest::{collection::vec, option, prelude::*};
use serde_json::{Value, json};
use server::{
    bot::{backend::Chunk, openai::decode_event},
    wire::Usage,
};

use crate::generate::{any_json, any_string, shaped, shaped_text};

const CHUNK_FIELDS: &[&str] = &["choices", "usage", "delta", "content", "finish_reason"];

/// One choice: text (maybe empty) and a finish reason, each maybe absent.
type Choice = (Option<String>, Option<String>);

fn choice() -> impl Strategy<Value = Choice> {
    (option::of(any_string()), option::of(any_string()))
}

fn chunk_json(choices: &[Choice], usage: Option<(u64, u64)>) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .map(
            |(content, finish)| json!({ "delta": { "content": content }, "finish_reason": finish }),
        )
        .collect();
    let mut chunk = json!({ "id": "x", "object": "chat.completion.chunk", "choices": choices });
    if let Some((prompt, completion)) = usage {
        chunk["usage"] = json!({ "prompt_tokens": prompt, "completion_tokens": completion });
    }
    chunk
}

fn expected(choices: &[Choice], usage: Option<(u64, u64)>) -> Vec<Chunk> {
    let mut out = Vec::new();
    for (content, finish) in choices {
        if let Some(text) = content.as_ref().filter(|t| !t.is_empty()) {
            out.push(Chunk::Text(text.clone()));
        }
        if let Some(reason) = finish {
            out.push(Chunk::Finish(reason.clone()));
        }
    }
    if let Some((prompt_tokens, completion_tokens)) = usage {
        out.push(Chunk::Usage(Usage {
            prompt_tokens,
            completion_tokens,
        }));
    }
    out
}

proptest! {
    #![proptest_config(crate::cases(512))]

    #[test]
    fn any_line_is_chunks_or_malformed(
        line in prop_oneof![
            any_string(),
            Just("[DONE]".to_owned()),
            any_json().prop_map(|v| v.to_string()),
            shaped(CHUNK_FIELDS).prop_map(|v| v.to_string()),
            shaped_text(CHUNK_FIELDS),
        ],
        pad in "[ \t\r\n]{0,2}",
    ) {
        let line = format!("{pad}{line}{pad}");
        let done = line.trim() == "[DONE]";
        match decode_event(&line) {
            Ok(None) => prop_assert_eq!(line.trim(), "[DONE]"),
            Ok(Some(_)) => prop_assert!(!done),
            Err(e) => prop_assert_eq!(e.code, "upstream_malformed"),
        }
    }

    #[test]
    fn well_formed_chunks_read_back(
        choices in vec(choice(), 0..4),
        usage in option::of((any::<u64>(), any::<u64>())),
    ) {
        let line = chunk_json(&choices, usage).to_string();
        let got = decode_event(&line);
        prop_assert_eq!(got, Ok(Some(expected(&choices, usage))));
    }
}
