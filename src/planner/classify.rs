//! Incident accounts -> failure categories, with the words that matched.

use regex::Regex;
use serde::Serialize;

use super::knowledge::Knowledge;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryMatch {
    pub category: String,
    pub name: String,
    /// Keywords found in the account, in the order of the knowledge base.
    pub words: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentMatch {
    /// 1-based, as the person would count them.
    pub number: usize,
    pub text: String,
    pub categories: Vec<CategoryMatch>,
}

/// Does `keyword` occur in `text` (lowercase) on word boundaries?
pub fn keyword_in(text: &str, keyword: &str) -> bool {
    let pattern = format!(r"(^|[^a-z0-9_]){}($|[^a-z0-9_])", regex::escape(keyword));
    Regex::new(&pattern)
        .map(|re| re.is_match(text))
        .unwrap_or(false)
}

pub fn classify_one(k: &Knowledge, text: &str) -> Vec<CategoryMatch> {
    let lower = text.to_lowercase().replace(['’', '`'], "'");
    k.categories
        .iter()
        .filter_map(|c| {
            let words: Vec<String> = c
                .keywords
                .iter()
                .filter(|w| keyword_in(&lower, w))
                .cloned()
                .collect();
            (!words.is_empty()).then(|| CategoryMatch {
                category: c.id.clone(),
                name: c.name.clone(),
                words,
            })
        })
        .collect()
}

pub fn classify(k: &Knowledge, incidents: &[String]) -> Vec<IncidentMatch> {
    incidents
        .iter()
        .enumerate()
        .map(|(i, text)| IncidentMatch {
            number: i + 1,
            text: text.clone(),
            categories: classify_one(k, text),
        })
        .collect()
}
