//! `@name` in a text: which of some names it mentions, each as a whole word.
//!
//! Used by the store (which members a message names) and the bot (whether a message addresses
//! it), so both read a mention the same way.

/// How many `@` of one text are looked at; a text with more names no one beyond these.
pub const AT_SIGNS_MAX: usize = 64;

/// Characters that continue a word: a mention must not start or end next to one.
fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '@'
}

/// The indices into `names` that `text` mentions, in ascending order, each once.
///
/// A mention is an `@` at the start of the text or after a character that cannot be part of a
/// word (so not `x@mail.example`), then a name in any case, then the end of the text or such a
/// character (so `@Ada` is not in `@Adams`). Names may hold spaces (`@Ada Lovelace`); where
/// several names fit at one `@` (`Ada` and `Ada Lovelace`), the longest is taken. Empty names
/// are never mentioned.
pub fn mentioned(text: &str, names: &[&str]) -> Vec<usize> {
    if !text.contains('@') {
        return Vec::new();
    }
    let text = text.to_lowercase();
    let names: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).collect();
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@').take(AT_SIGNS_MAX) {
        if text[..at].chars().next_back().is_some_and(word) {
            continue;
        }
        let rest = &text[at + 1..];
        let longest = names
            .iter()
            .enumerate()
            .filter(|(_, name)| {
                !name.is_empty()
                    && rest
                        .strip_prefix(name.as_str())
                        .is_some_and(|after| !after.chars().next().is_some_and(word))
            })
            .max_by_key(|(_, name)| name.len());
        if let Some((i, _)) = longest {
            found.push(i);
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// Whether `text` mentions any of `names`.
pub fn mentions_any(text: &str, names: &[&str]) -> bool {
    !mentioned(text, names).is_empty()
}

#[cfg(test)]
mod tests {
    use super::{mentioned, mentions_any};

    #[test]
    fn whole_words_only() {
        let names = ["bot", "Assistant"];
        for text in [
            "@bot, hi",
            "hi @Assistant!",
            "@BOT?",
            "(@bot)",
            "@bot",
            "ask @assistant: why",
        ] {
            assert!(mentions_any(text, &names), "{text:?} mentions");
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
            assert!(!mentions_any(text, &names), "{text:?} does not mention");
        }
    }

    #[test]
    fn names_with_spaces_are_matched_whole_and_the_longest_wins() {
        let names = ["Ada", "Ada Lovelace", "Deep Thought"];
        assert_eq!(mentioned("hey @Ada Lovelace, hi", &names), vec![1]);
        assert_eq!(mentioned("hey @ada, and @ADA LOVELACE", &names), vec![0, 1]);
        assert_eq!(mentioned("hey @Deep Thoughts", &names), Vec::<usize>::new());
        assert_eq!(mentioned("@Ada @Ada @Ada", &names), vec![0]);
    }

    #[test]
    fn unicode_names_and_empty_names() {
        assert_eq!(mentioned("merci @ÉLODIE !", &["élodie", "  "]), vec![0]);
        assert!(mentioned("@ hello", &["", " "]).is_empty());
    }
}
