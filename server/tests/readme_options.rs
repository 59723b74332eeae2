//! The README's option table is generated from the flags' definitions (`server --help` prints
//! the same): this test fails when the two differ, and rewrites the table when run with
//! `UPDATE_README=1 cargo test -p server --test readme_options`.

use std::path::PathBuf;

use clap::CommandFactory;
use server::Config;

const HEADER: &str = "| flag | environment | default | meaning |";

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

/// One row per option, in the order of `--help`.
fn expected_rows() -> Vec<String> {
    let cmd = Config::command();
    cmd.get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .map(|a| {
            let flag = a.get_long().map(|l| format!("`--{l}`")).unwrap_or_default();
            let env = a
                .get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default();
            let defaults: Vec<String> = a
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = if defaults.is_empty() {
                String::new()
            } else {
                format!("`{}`", defaults.join(" "))
            };
            let help = a
                .get_help()
                .map(|h| h.to_string())
                .unwrap_or_default()
                .trim_end_matches('.')
                .replace('|', "\\|");
            format!("| {flag} | {env} | {default} | {help} |")
        })
        .collect()
}

/// The table's rows in the README and where they are (line range after the header and rule).
fn readme_rows(readme: &str) -> (Vec<String>, usize, usize) {
    let lines: Vec<&str> = readme.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.trim() == HEADER)
        .expect("README.md has no option table");
    let start = header + 2;
    let end = lines[start..]
        .iter()
        .position(|l| !l.starts_with('|'))
        .map_or(lines.len(), |n| start + n);
    (
        lines[start..end].iter().map(|l| l.to_string()).collect(),
        start,
        end,
    )
}

#[test]
fn every_option_has_a_flag_an_environment_variable_and_help() {
    let cmd = Config::command();
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if matches!(id, "help" | "version") {
            continue;
        }
        assert!(a.get_long().is_some(), "{id}: no long flag");
        let env = a.get_env().map(|e| e.to_string_lossy().into_owned());
        // The log filter keeps the variable every tracing user knows.
        let want = match id {
            "log_filter" => "RUST_LOG".to_owned(),
            _ => format!("CHAT_{}", id.to_uppercase()),
        };
        assert_eq!(
            env.as_deref(),
            Some(want.as_str()),
            "{id}: environment variable"
        );
        assert!(a.get_help().is_some(), "{id}: no help");
    }
}

#[test]
fn readme_option_table_matches_the_flags() {
    let path = readme_path();
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let (rows, start, end) = readme_rows(&readme);
    let expected = expected_rows();
    if rows == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let lines: Vec<&str> = readme.lines().collect();
        let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
        out.extend(expected);
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        std::fs::write(&path, out.join("\n") + "\n").expect("write README.md");
        return;
    }
    let differ: Vec<String> = expected
        .iter()
        .filter(|r| !rows.contains(r))
        .map(|r| format!("  want: {r}"))
        .chain(
            rows.iter()
                .filter(|r| !expected.contains(r))
                .map(|r| format!("  have: {r}")),
        )
        .collect();
    panic!(
        "README.md's option table differs from the flags (rerun with UPDATE_README=1 to \
         rewrite it):\n{}",
        differ.join("\n")
    );
}
