//! Incident accounts -> failure categories. Evidence comes from several kinds of signal (the
//! operation named, the mechanism, the consequence, the tool), each phrase read with its clause's
//! negation and tense; a category matches when its evidence outweighs the threshold and every kind
//! it needs is present. All words and weights live in `assets/incidents.toml`.

use serde::Serialize;

use super::incident::text::Account;
use super::knowledge::{Category, Knowledge, Reading};

/// A phrase that counted, with the kind of evidence it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub kind: String,
    /// The words as they stand in the account.
    pub found: String,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryMatch {
    pub category: String,
    pub name: String,
    /// The words that carried the match, strongest first.
    pub words: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// 0..1, from the evidence's total weight (1 - e^-score).
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentMatch {
    /// 1-based, as the person would count them.
    pub number: usize,
    pub text: String,
    pub categories: Vec<CategoryMatch>,
}

impl CategoryMatch {
    /// "lock queue (72%: "queued behind", "alter table")" for plans and screens.
    pub fn reasoning(&self) -> String {
        format!(
            "{} ({:.0}%: {})",
            self.name,
            self.confidence * 100.0,
            self.words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Weighs one category's evidence in an account; `None` when it does not match.
fn weigh(c: &Category, account: &Account, reading: &Reading) -> Option<CategoryMatch> {
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut score = 0.0;
    for signal in &c.signals {
        // A signal counts once, by its best standing phrase.
        let best = signal
            .words
            .iter()
            .flat_map(|w| account.find(w, reading))
            .filter(|h| !h.negated)
            .map(|h| {
                let factor = if h.hypothetical {
                    reading.hypothetical_factor
                } else {
                    1.0
                };
                (h.found, signal.weight * factor)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((found, weight)) = best {
            score += weight;
            evidence.push(Evidence {
                kind: signal.kind.clone(),
                found,
                weight,
            });
        }
    }
    let threshold = c.threshold.unwrap_or(reading.threshold);
    let has = |kind: &str| evidence.iter().any(|e| e.kind == kind && e.weight > 0.0);
    if score < threshold || !c.needs.iter().all(|n| has(n)) {
        return None;
    }
    evidence.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let mut words: Vec<String> = Vec::new();
    for e in evidence.iter().filter(|e| e.weight > 0.0) {
        if !words.contains(&e.found) {
            words.push(e.found.clone());
        }
    }
    Some(CategoryMatch {
        category: c.id.clone(),
        name: c.name.clone(),
        words,
        evidence,
        confidence: 1.0 - (-score).exp(),
    })
}

pub fn classify_one(k: &Knowledge, text: &str) -> Vec<CategoryMatch> {
    let account = Account::read(text, &k.reading);
    k.categories
        .iter()
        .filter_map(|c| weigh(c, &account, &k.reading))
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
