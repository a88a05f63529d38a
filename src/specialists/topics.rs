//! The topics of a question: its key phrases by YAKE (Campos et al., "YAKE! Keyword
//! extraction from single documents using multiple local features", Information Sciences
//! 509, 2020), as the `yake-rust` crate implements it, with its English stop words. YAKE
//! needs no corpus, so one question is enough; phrases of one or two words, lower-cased,
//! most important first.

use yake_rust::{Config, StopWords};

/// Most topics taken from one question.
pub const TOPICS_PER_QUESTION: usize = 5;

/// Up to [`TOPICS_PER_QUESTION`] topics of `question`, most important first, each once.
pub fn extract_topics(question: &str) -> Vec<String> {
    let Some(stop_words) = StopWords::predefined("en") else {
        return Vec::new();
    };
    let config = Config {
        ngrams: 2,
        ..Config::default()
    };
    let mut topics: Vec<String> = Vec::new();
    for item in yake_rust::get_n_best(TOPICS_PER_QUESTION * 2, question, &stop_words, &config) {
        let topic = crate::text::label(&item.keyword).to_owned();
        if topic.chars().count() > crate::text::MAX_LABEL_CHARS
            || topic.chars().all(|c| !c.is_alphanumeric())
            || topics.contains(&topic)
        {
            continue;
        }
        topics.push(topic);
        if topics.len() == TOPICS_PER_QUESTION {
            break;
        }
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_phrases_without_stop_words() {
        let topics = extract_topics(
            "Should we expose the billing database to the analytics team through a read replica?",
        );
        assert!(
            !topics.is_empty() && topics.len() <= TOPICS_PER_QUESTION,
            "{topics:?}"
        );
        for stop in ["the", "we", "should", "to", "a", "through"] {
            assert!(!topics.iter().any(|t| t == stop), "{stop} in {topics:?}");
        }
        assert!(
            topics
                .iter()
                .any(|t| t.contains("billing") || t.contains("replica")),
            "{topics:?}"
        );
        assert!(extract_topics("").is_empty());
        assert!(extract_topics("?!").is_empty());
    }
}
