//! A specialist's memory as text for its prompt, within a budget of characters.
//!
//! The format follows the specialist-memory design note (`get_specialist_context`):
//!
//! ```text
//! [Your experience: 12 sessions. Recent topics: oauth, token storage. Patterns learned:
//! security concerns about oauth validated 3 of 4. Repeated concerns awaiting an outcome:
//! refresh tokens never expire (2 repeats).]
//! ```
//!
//! Parts go in by usefulness: the session count (without it there is no text), then recent
//! topics newest first, then patterns best first, then repeated concerns that no outcome
//! has settled, most repeated first. Each item goes in only if the whole text still fits the
//! budget; a part with no item that fits is left out. The same memory and budget always
//! give the same text.

use super::record::{ConcernPattern, Context, PendingRepeat};

/// Longest concern text quoted in the context (characters, with the ellipsis).
pub const QUOTED_CONCERN_CHARS: usize = 80;

/// What the context is made of, best first within each list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Material {
    /// Sessions recorded.
    pub session_count: u64,
    /// Topics, newest first.
    pub recent_topics: Vec<String>,
    /// Patterns, best first.
    pub patterns: Vec<ConcernPattern>,
    /// Repeated concerns without an outcome, most repeated first.
    pub pending_repeats: Vec<PendingRepeat>,
}

/// One part of the text: its opening words and its items.
struct Part<'a, T> {
    opening: &'static str,
    separator: &'static str,
    items: &'a [T],
    render: fn(&T) -> String,
}

/// The context text of `material` in at most `budget` characters, with the items it holds.
pub fn render(material: &Material, budget: usize) -> Context {
    let n = material.session_count;
    let mut text = format!(
        "[Your experience: {n} session{}.",
        if n == 1 { "" } else { "s" }
    );
    let total =
        material.recent_topics.len() + material.patterns.len() + material.pending_repeats.len();
    if chars(&text) + 1 > budget {
        return Context {
            text: String::new(),
            session_count: n,
            recent_topics: Vec::new(),
            patterns: Vec::new(),
            pending_repeats: Vec::new(),
            omitted: total,
        };
    }
    let topics = fill(
        &mut text,
        budget,
        Part {
            opening: " Recent topics: ",
            separator: ", ",
            items: &material.recent_topics,
            render: |topic| topic.clone(),
        },
    );
    let patterns = fill(
        &mut text,
        budget,
        Part {
            opening: " Patterns learned: ",
            separator: "; ",
            items: &material.patterns,
            render: |p| {
                format!(
                    "{} concerns about {} validated {} of {}",
                    p.kind,
                    p.topic,
                    p.validated,
                    p.validated + p.dismissed
                )
            },
        },
    );
    let repeats = fill(
        &mut text,
        budget,
        Part {
            opening: " Repeated concerns awaiting an outcome: ",
            separator: "; ",
            items: &material.pending_repeats,
            render: |r| {
                format!(
                    "{} ({} repeat{})",
                    quote(&r.text),
                    r.repeats,
                    if r.repeats == 1 { "" } else { "s" }
                )
            },
        },
    );
    text.push(']');
    let recent_topics: Vec<String> = material.recent_topics[..topics].to_vec();
    let patterns: Vec<ConcernPattern> = material.patterns[..patterns].to_vec();
    let pending_repeats: Vec<PendingRepeat> = material.pending_repeats[..repeats].to_vec();
    let kept = recent_topics.len() + patterns.len() + pending_repeats.len();
    Context {
        text,
        session_count: n,
        recent_topics,
        patterns,
        pending_repeats,
        omitted: total - kept,
    }
}

/// Appends the longest prefix of `part`'s items that keeps the text (with its closing
/// `.` and `]`) within `budget`; returns how many went in.
fn fill<T>(text: &mut String, budget: usize, part: Part<'_, T>) -> usize {
    let mut used = chars(text);
    let mut section = String::new();
    let mut taken = 0;
    for item in part.items {
        let item = (part.render)(item);
        let addition = if taken == 0 {
            chars(part.opening) + chars(&item)
        } else {
            chars(part.separator) + chars(&item)
        };
        // `.` ends the part and `]` the text.
        if used + addition + 2 > budget {
            break;
        }
        section.push_str(if taken == 0 {
            part.opening
        } else {
            part.separator
        });
        section.push_str(&item);
        used += addition;
        taken += 1;
    }
    if taken > 0 {
        text.push_str(&section);
        text.push('.');
    }
    taken
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// A concern's text on one line, cut to [`QUOTED_CONCERN_CHARS`] with an ellipsis.
fn quote(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if chars(&line) <= QUOTED_CONCERN_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(QUOTED_CONCERN_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PointId;

    fn material() -> Material {
        Material {
            session_count: 12,
            recent_topics: vec!["oauth".into(), "token storage".into(), "iot".into()],
            patterns: vec![ConcernPattern {
                topic: "oauth".into(),
                kind: "security".into(),
                raised: 5,
                validated: 3,
                dismissed: 1,
                precision_lower_bound: 0.300_641_8,
            }],
            pending_repeats: vec![PendingRepeat {
                concern: PointId::from_u128(1),
                text: "refresh tokens\nnever expire".into(),
                kind: "security".into(),
                repeats: 2,
            }],
        }
    }

    #[test]
    fn the_whole_text_when_the_budget_allows() {
        let context = render(&material(), 1000);
        assert_eq!(
            context.text,
            "[Your experience: 12 sessions. Recent topics: oauth, token storage, iot. \
             Patterns learned: security concerns about oauth validated 3 of 4. Repeated \
             concerns awaiting an outcome: refresh tokens never expire (2 repeats).]"
        );
        assert_eq!(context.omitted, 0);
    }

    #[test]
    fn never_over_the_budget_and_most_useful_first() {
        let full = render(&material(), 1000).text.chars().count();
        for budget in 1..=full + 5 {
            let context = render(&material(), budget);
            assert!(
                context.text.chars().count() <= budget,
                "{budget}: {}",
                context.text
            );
            assert_eq!(context, render(&material(), budget), "deterministic");
        }
        assert_eq!(render(&material(), 30).text, "");
        assert_eq!(
            render(&material(), 31).text,
            "[Your experience: 12 sessions.]"
        );
        let topics_only = render(&material(), 60);
        assert_eq!(
            topics_only.text,
            "[Your experience: 12 sessions. Recent topics: oauth.]"
        );
        assert_eq!(topics_only.omitted, 4);
        assert!(topics_only.patterns.is_empty());
    }

    #[test]
    fn one_session_is_singular_and_long_concerns_are_cut() {
        let mut material = material();
        material.session_count = 1;
        material.pending_repeats[0].text = "x".repeat(200);
        let text = render(&material, 1000).text;
        assert!(text.starts_with("[Your experience: 1 session. "), "{text}");
        assert!(
            text.contains(&format!("{}… (2 repeats)", "x".repeat(79))),
            "{text}"
        );
    }
}
