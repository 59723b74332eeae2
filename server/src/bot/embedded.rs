//! The offline bot used when no model is configured: no network, no model files. It knows a few
//! commands and how this server works, and streams its answers word by word through the same
//! path as a real model.

use std::time::Duration;

use futures_util::{StreamExt, stream::BoxStream};

use super::backend::{Backend, BackendError, Chunk, Completion, Role};
use crate::wire::Usage;

/// Pause between words, so an answer visibly streams and can be stopped.
const WORD_PAUSE: Duration = Duration::from_millis(12);

/// The embedded bot.
#[derive(Debug, Clone)]
pub struct Embedded {
    name: String,
}

impl Embedded {
    /// A bot that introduces itself as `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }

    /// The answer to the last user line.
    pub fn answer(&self, question: &str) -> String {
        let q = strip_mentions(question);
        let lower = q.to_lowercase();
        let mut words = lower.split_whitespace();
        match words.next() {
            Some("/help") | Some("help") => self.help(),
            Some("/time") => format!(
                "It is {} (UTC, server clock).",
                humanize_utc(std::time::SystemTime::now())
            ),
            Some("/roll") => roll(words.next().unwrap_or("1d6")),
            Some("/about") => ABOUT.to_owned(),
            _ => topic_answer(&lower).map_or_else(|| self.fallback(&q), str::to_owned),
        }
    }

    fn help(&self) -> String {
        format!(
            "I'm {}, the built-in assistant. I work offline, so I know this server rather than the world.\n\n\
             Commands:\n\
             - /help: this list\n\
             - /time: the server's time\n\
             - /roll 2d6: roll dice (NdM, up to 100 dice of up to 1000 sides)\n\
             - /about: what this server is\n\n\
             Ask me about rooms, history, recovery, typing, read receipts, tokens, or how to stop a reply. \
             Connect a real model with --llm-base-url (OpenAI, Ollama, llama.cpp, vLLM).",
            self.name
        )
    }

    fn fallback(&self, question: &str) -> String {
        let topic: String = question.chars().take(80).collect();
        format!(
            "I'm the offline assistant, so I can't really discuss \"{topic}\". I can explain how this chat works \
             (try: rooms, history, recovery, typing, receipts, stop) or run a command: /help, /time, /roll 2d6."
        )
    }
}

const ABOUT: &str = "This is a realtime chat server written in Rust that speaks socket.io v5, so the official \
JavaScript, Python and mobile clients work unchanged. Messages are stored before they are acknowledged, \
every room numbers its messages without gaps, and a client that reconnects gets exactly what it missed.";

/// Short answers about the server, keyed by words a question may contain.
const TOPICS: &[(&[&str], &str)] = &[
    (
        &["stop", "cancel"],
        "Press Stop (or send `cancel` with the reply's id) and I stop at once: the request upstream is aborted \
         and what I had written so far is kept.",
    ),
    (
        &["recover", "reconnect", "offline", "lost"],
        "Nothing is lost: every message has a sequence number per room. When you reconnect, your client sends the \
         last number it saw and the server replays everything after it, then continues live.",
    ),
    (
        &["history", "scroll", "older"],
        "History is paged: ask for messages before a sequence number (up to 100 at a time) and they come back in order.",
    ),
    (
        &["private", "invite", "add"],
        "Private rooms are visible to their members only; a member adds someone with `add`. Public rooms are open to all.",
    ),
    (
        &["room", "rooms", "channel"],
        "Create a room with `create`, join it with `join`, and `rooms` lists the rooms you can see with your unread counts.",
    ),
    (
        &["typing"],
        "When you type, the others see it for five seconds unless you keep typing.",
    ),
    (
        &["read", "receipt", "unread"],
        "Read receipts move forward only. Everyone in the room sees how far each member has read, and your unread \
         counts follow you across tabs.",
    ),
    (
        &["token", "login", "guest", "auth"],
        "Guests pick a name and get a token to stay the same user. Servers can require signed tokens (JWT, HS256); \
         `server token --user alice` makes one for development.",
    ),
];

fn topic_answer(lower: &str) -> Option<&'static str> {
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    TOPICS
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| words.contains(k)))
        .map(|(_, answer)| *answer)
}

fn strip_mentions(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !w.starts_with('@'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn roll(spec: &str) -> String {
    let parsed = spec.split_once('d').and_then(|(n, m)| {
        let n: u32 = if n.is_empty() { 1 } else { n.parse().ok()? };
        let m: u32 = m.parse().ok()?;
        ((1..=100).contains(&n) && (2..=1000).contains(&m)).then_some((n, m))
    });
    let Some((n, m)) = parsed else {
        return "Give dice as NdM, for example /roll 2d6 (up to 100 dice of up to 1000 sides)."
            .to_owned();
    };
    let rolls: Vec<u32> = (0..n).map(|_| rand::random_range(1..=m)).collect();
    let total: u32 = rolls.iter().sum();
    let shown: Vec<String> = rolls.iter().take(20).map(u32::to_string).collect();
    let more = if rolls.len() > 20 { ", …" } else { "" };
    format!(
        "Rolled {n}d{m}: {}{more}. Total: {total}.",
        shown.join(", ")
    )
}

/// `YYYY-MM-DD HH:MM:SS` for a time, without a date library.
fn humanize_utc(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::clock::civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Embedded {
    /// What the bot says first in a room: what it is and how to connect a real model.
    pub fn introduction(&self) -> String {
        format!(
            "I'm {}, the offline assistant built into this server: no language model is connected, so I \
             know this chat rather than the world. To connect a real model, start the server with \
             --llm-base-url and --llm-model (any OpenAI-compatible API: OpenAI, Ollama, llama.cpp, vLLM).\n\n",
            self.name
        )
    }

    /// The text of a reply to `request`: the answer to its last question, after the
    /// introduction in a room's first reply; for a continuation (the context ends with the
    /// partial reply) what the answer has beyond that part.
    fn reply_text(&self, request: &Completion) -> String {
        let question = request
            .turns
            .iter()
            .rev()
            .find(|t| t.role == Role::User)
            .map(|t| {
                t.content
                    .split_once(": ")
                    .map_or(t.content.as_str(), |(_, text)| text)
                    .to_owned()
            })
            .unwrap_or_default();
        let answer = self.answer(&question);
        match request.turns.last() {
            Some(last) if last.role == Role::Assistant => {
                let intro = self.introduction();
                let said = last
                    .content
                    .strip_prefix(intro.as_str())
                    .unwrap_or(&last.content);
                match answer.strip_prefix(said) {
                    Some(rest) if !rest.is_empty() => rest.to_owned(),
                    _ => "That is all I have to say on it.".to_owned(),
                }
            }
            _ if request.first_in_room => format!("{}{answer}", self.introduction()),
            _ => answer,
        }
    }
}

impl Backend for Embedded {
    fn complete(&self, request: Completion) -> BoxStream<'static, Result<Chunk, BackendError>> {
        let answer = self.reply_text(&request);
        let prompt_tokens = request
            .turns
            .iter()
            .map(|t| t.content.len() as u64)
            .sum::<u64>()
            / 4;
        let completion_tokens = (answer.len() as u64).div_ceil(4);
        // Words keep their following whitespace so the pieces concatenate to the answer.
        let mut pieces = Vec::new();
        let mut current = String::new();
        for c in answer.chars() {
            current.push(c);
            if c.is_whitespace() {
                pieces.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        let words = futures_util::stream::iter(pieces).then(|piece| async move {
            tokio::time::sleep(WORD_PAUSE).await;
            Ok(Chunk::Text(piece))
        });
        let tail = futures_util::stream::iter([
            Ok(Chunk::Usage(Usage {
                prompt_tokens,
                completion_tokens,
            })),
            Ok(Chunk::Finish("stop".to_owned())),
        ]);
        words.chain(tail).boxed()
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn model(&self) -> &str {
        "embedded"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_the_commands_and_rolls_stay_in_range() {
        let bot = Embedded::new("Assistant");
        let help = bot.answer("@bot /help");
        for cmd in ["/help", "/time", "/roll", "/about"] {
            assert!(help.contains(cmd), "{cmd} missing from help");
        }
        for _ in 0..50 {
            let answer = roll("2d6");
            let total: u32 = answer
                .rsplit("Total: ")
                .next()
                .and_then(|t| t.trim_end_matches('.').parse().ok())
                .expect("a total");
            assert!((2..=12).contains(&total));
        }
        assert!(roll("0d6").starts_with("Give dice"));
    }

    #[test]
    fn questions_get_answers_not_echoes() {
        let bot = Embedded::new("Assistant");
        let q = "how do I recover after going offline?";
        let a = bot.answer(q);
        assert!(a.contains("replays"), "{a}");
        assert!(!a.contains(q));
    }

    #[test]
    fn the_first_reply_introduces_the_bot_and_a_continuation_adds_only_the_rest() {
        let bot = Embedded::new("Assistant");
        let user = |text: &str| super::super::backend::Turn {
            role: Role::User,
            content: format!("Ada: {text}"),
        };
        let first = bot.reply_text(&Completion {
            turns: vec![user("/about")],
            first_in_room: true,
            ..Completion::default()
        });
        assert!(
            first.starts_with("I'm Assistant, the offline assistant"),
            "{first}"
        );
        assert!(
            first.contains("--llm-base-url") && first.ends_with(ABOUT),
            "{first}"
        );
        let partial: String = ABOUT.chars().take(40).collect();
        let rest = bot.reply_text(&Completion {
            turns: vec![
                user("/about"),
                super::super::backend::Turn {
                    role: Role::Assistant,
                    content: format!("{}{partial}", bot.introduction()),
                },
            ],
            ..Completion::default()
        });
        assert_eq!(format!("{partial}{rest}"), ABOUT);
    }

    #[test]
    fn dates_are_civil() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(humanize_utc(t), "2023-11-14 22:13:20");
    }

    #[tokio::test]
    async fn the_stream_concatenates_to_the_answer() {
        let bot = Embedded::new("Assistant");
        let turns = vec![super::super::backend::Turn {
            role: Role::User,
            content: "Ada: /about".into(),
        }];
        let chunks: Vec<_> = bot
            .complete(Completion {
                turns,
                ..Completion::default()
            })
            .collect()
            .await;
        let text: String = chunks
            .iter()
            .filter_map(|c| match c {
                Ok(Chunk::Text(t)) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, ABOUT);
        assert_eq!(chunks.last(), Some(&Ok(Chunk::Finish("stop".into()))));
    }
}
