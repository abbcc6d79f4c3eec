//! Fuzzy search over the catalog. The matcher stays behind this file so
//! another (nucleo-matcher, say) can replace it if measurements ask.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use super::manifest::Action;

/// One ranked hit: the action's index in the list searched, its score, and
/// the char indices of its name that matched (for highlighting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub index: usize,
    pub score: i64,
    pub name_indices: Vec<usize>,
}

/// Ranks `actions` for `query`: by score, then name. A name match outranks a
/// title or tag match; an empty query lists all by name.
pub fn search<A: AsRef<Action>>(actions: &[A], query: &str) -> Vec<Match> {
    let query = query.trim();
    let matcher = SkimMatcherV2::default().ignore_case();
    let mut hits: Vec<Match> = actions
        .iter()
        .enumerate()
        .filter_map(|(index, action)| {
            let action = action.as_ref();
            if query.is_empty() {
                return Some(Match {
                    index,
                    score: 0,
                    name_indices: Vec::new(),
                });
            }
            let by_name = matcher.fuzzy_indices(&action.name, query);
            // Title and tags only: a long description fuzzy-matches almost any query.
            let rest = format!("{} {}", action.title, action.tags.join(" "));
            let by_rest = matcher.fuzzy_match(&rest, query);
            match (by_name, by_rest) {
                (Some((score, name_indices)), _) => Some(Match {
                    index,
                    score: score * 2,
                    name_indices,
                }),
                (None, Some(score)) => Some(Match {
                    index,
                    score,
                    name_indices: Vec::new(),
                }),
                (None, None) => None,
            }
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score.cmp(&a.score).then_with(|| {
            actions[a.index]
                .as_ref()
                .name
                .cmp(&actions[b.index].as_ref().name)
        })
    });
    hits
}
