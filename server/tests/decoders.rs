//! Property tests of every decoder of ours: whatever a client, an operator or an upstream sends,
//! decoding it never panics, refuses what is wrong with the right error, and reads back what is
//! right unchanged.
//!
//! - [`wire`]: every client→server payload type, from JSON text, bytes and MessagePack values.
//! - [`config`]: flags with arbitrary values and arbitrary TOML files.
//! - [`tokens`]: JWTs: junk, forged, tampered and well-formed.
//! - [`engine_io`]: the Engine.IO version the EIO3 gate reads from a query.
//! - [`openai`]: the `data:` lines of an OpenAI-compatible stream.
//!
//! Case counts are kept modest so the file runs in seconds in release; raise `PROPTEST_CASES`
//! for a longer search. Failures are not persisted to files: proptest prints the minimal input.

#[path = "decoders/config.rs"]
mod config;
#[path = "decoders/engine_io.rs"]
mod engine_io;
#[path = "decoders/gen.rs"]
mod generate;
#[path = "decoders/openai.rs"]
mod openai;
#[path = "decoders/tokens.rs"]
mod tokens;
#[path = "decoders/wire.rs"]
mod wire;

use proptest::test_runner::Config as ProptestConfig;

/// `cases` cases (or `PROPTEST_CASES` when set), with no failure file written in the source tree.
pub(crate) fn cases(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
