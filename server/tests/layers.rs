//! Layers import only downward (ARCHITECTURE.md): cluster mode, the HTTP API and the Admin UI
//! (side by side, none using another) may use the chat, nothing below them may use any; the chat may use the bot and the room layer,
//! the bot may use the room layer but never the chat, and the room layer neither of them. The
//! modules under them (storage, wire types, flow control, clock, ids, config) use none of the
//! three.

use std::path::{Path, PathBuf};

/// (module path under `src/`, the crate modules it must not name)
const RULES: &[(&str, &[&str])] = &[
    ("api", &["cluster", "admin"]),
    ("admin", &["cluster", "api"]),
    ("cluster", &["api", "admin"]),
    ("chat", &["cluster", "api", "admin"]),
    ("bot", &["chat", "cluster", "api", "admin"]),
    ("room", &["chat", "bot", "cluster", "api", "admin"]),
    (
        "ports",
        &[
            "chat", "bot", "room", "store", "flow", "cluster", "api", "admin",
        ],
    ),
    (
        "store",
        &["chat", "bot", "room", "flow", "cluster", "api", "admin"],
    ),
    (
        "wire",
        &[
            "chat", "bot", "room", "store", "flow", "cluster", "api", "admin",
        ],
    ),
    (
        "flow",
        &["chat", "bot", "room", "store", "cluster", "api", "admin"],
    ),
    (
        "clock.rs",
        &[
            "chat", "bot", "room", "store", "flow", "cluster", "api", "admin",
        ],
    ),
    (
        "ids.rs",
        &[
            "chat", "bot", "room", "store", "flow", "cluster", "api", "admin",
        ],
    ),
    (
        "peer.rs",
        &[
            "chat", "bot", "room", "store", "flow", "cluster", "api", "admin",
        ],
    ),
    (
        "config",
        &[
            "chat", "bot", "room", "store", "flow", "cluster", "api", "admin",
        ],
    ),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_owned());
        return;
    }
    for entry in std::fs::read_dir(path).expect("read_dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() || p.extension().is_some_and(|e| e == "rs") {
            rust_files(&p, out);
        }
    }
}

/// Whether a line of code names `crate::<module>` (in a `use` or a path).
fn names(line: &str, module: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    let needle = format!("crate::{module}");
    code.match_indices(&needle).any(|(i, _)| {
        let next = code[i + needle.len()..].chars().next();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
    }) || (code.trim_start().starts_with("use crate::{") && code.contains(&format!("{module}::")))
}

#[test]
fn layers_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for (layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no sources under src/{layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read");
            // A multi-line `use crate::{ … }` lists modules on lines of their own.
            let mut in_crate_use = false;
            for (n, line) in text.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("use crate::{") && !trimmed.ends_with("};") {
                    in_crate_use = true;
                }
                for module in *forbidden {
                    let listed = in_crate_use
                        && (trimmed.starts_with(&format!("{module}::"))
                            || trimmed.starts_with(&format!("{module},")));
                    if names(line, module) || listed {
                        offences.push(format!(
                            "{}:{}: {layer} names {module}: {}",
                            file.strip_prefix(&src).unwrap_or(&file).display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
                if in_crate_use && trimmed.starts_with("};") {
                    in_crate_use = false;
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "imports up the layers:\n{}",
        offences.join("\n")
    );
}
