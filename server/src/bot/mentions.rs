//! Whether a message addresses the bot.

/// Whether `text` mentions one of `handles` as a whole word, case-insensitively: an `@` at the
/// start or after a character that cannot be part of a word (so not `x@bot.example`), then the
/// handle, then the end or a character that cannot be part of a word (so not `@bottles`).
pub fn mentions(text: &str, handles: &[&str]) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '@';
    let text = text.to_lowercase();
    let handles: Vec<String> = handles.iter().map(|h| h.trim().to_lowercase()).collect();
    text.match_indices('@').any(|(at, _)| {
        if text[..at].chars().next_back().is_some_and(word) {
            return false;
        }
        let rest = &text[at + 1..];
        handles.iter().any(|handle| {
            !handle.is_empty()
                && rest
                    .strip_prefix(handle.as_str())
                    .is_some_and(|after| !after.chars().next().is_some_and(word))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn only_whole_mentions_address_the_bot() {
        let handles = ["bot", "Assistant"];
        for text in [
            "@bot, hi",
            "hi @Assistant!",
            "@BOT?",
            "(@bot)",
            "@bot",
            "ask @assistant: why",
        ] {
            assert!(mentions(text, &handles), "{text:?} mentions the bot");
        }
        for text in [
            "my water is in @bottles",
            "email me at x@botmail.com",
            "user@bot",
            "@Assistants",
            "@bot-builder",
            "@@bot",
            "no mention",
        ] {
            assert!(
                !mentions(text, &handles),
                "{text:?} does not mention the bot"
            );
        }
    }

    #[test]
    fn a_bot_name_with_a_space_is_matched_whole() {
        assert!(mentions("hey @Deep Thought, hi", &["bot", "Deep Thought"]));
        assert!(!mentions("hey @Deep Thoughts", &["bot", "Deep Thought"]));
    }
}
