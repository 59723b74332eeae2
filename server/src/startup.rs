//! What the server tells a newcomer on stdout once it listens: the address to open, where the
//! data lives and which bot answers. The first line is the `listening on` line scripts wait for.

use std::net::{IpAddr, SocketAddr};

use crate::config::Config;

/// The start-up lines, the `listening on` line first.
pub fn lines(cfg: &Config, addr: SocketAddr) -> Vec<String> {
    let scheme = if cfg.tls() { "https" } else { "http" };
    let mut out = vec![crate::serve::listening_line(cfg, addr)];
    out.push(format!("  open      {}", page(cfg, scheme, addr)));
    out.push(format!("  database  {}", database(cfg)));
    out.push(format!("  bot       {}", bot(cfg)));
    out
}

/// The URL a person types: a wildcard address is reached as `localhost`.
fn page(cfg: &Config, scheme: &str, addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() || ip.is_loopback() => "localhost".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    let url = format!("{scheme}://{host}:{}/", addr.port());
    if cfg.server.static_dir.join("index.html").is_file() {
        format!("{url} in a browser")
    } else {
        format!(
            "{url} serves no page: {} has no index.html (cd web-client && npm ci && npm run build)",
            cfg.server.static_dir.display()
        )
    }
}

fn database(cfg: &Config) -> String {
    if cfg.in_memory_database() {
        return "SQLite in memory: everything is lost when the server stops".to_owned();
    }
    match &cfg.storage.database_url {
        None => {
            // Absolute, so a newcomer finds the folder whatever directory they started in.
            let dir = &cfg.storage.data_dir;
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            format!(
                "SQLite file {} (data folder {})",
                dir.join("chat.db").display(),
                dir.display()
            )
        }
        Some(url) if url.starts_with("postgres") => format!("PostgreSQL {}", without_password(url)),
        Some(url) => format!("SQLite {}", without_password(url)),
    }
}

fn bot(cfg: &Config) -> String {
    let name = cfg.bot.bot_name.trim();
    match &cfg.llm.llm_base_url {
        Some(base) => format!(
            "{name} answers with the model {} at {}",
            cfg.llm.llm_model,
            without_password(base)
        ),
        None => format!(
            "{name} is the embedded offline bot (a few canned answers, no model); \
             connect a real one with --llm-base-url and --llm-model"
        ),
    }
}

/// A URL with any password in it replaced by `***`, so the output can be pasted anywhere.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    let hidden = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_owned()
    };
    format!("{scheme}://{hidden}@{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            without_password("postgres://chat:s3cret@db:5432/chat?sslmode=require"),
            "postgres://chat:***@db:5432/chat?sslmode=require"
        );
        assert_eq!(
            without_password("postgres://chat@db/chat"),
            "postgres://chat@db/chat"
        );
        assert_eq!(without_password("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn the_first_line_is_the_one_scripts_wait_for_and_a_wildcard_reads_as_localhost() {
        let cfg = Config::default();
        let addr: SocketAddr = "0.0.0.0:3000".parse().expect("addr");
        let out = lines(&cfg, addr);
        assert_eq!(out[0], "listening on http://0.0.0.0:3000");
        assert!(out[1].contains("http://localhost:3000/"), "{}", out[1]);
        let data = std::path::absolute("data").expect("absolute");
        assert!(
            out[2].contains(&*data.join("chat.db").to_string_lossy()),
            "{}",
            out[2]
        );
        assert!(out[3].contains("embedded offline bot"), "{}", out[3]);
        assert!(out[3].contains("--llm-base-url"), "{}", out[3]);
    }
}
