//! Words and clauses of an incident account, and phrase matching with negation and tense.

use crate::planner::knowledge::Reading;

/// An account as clauses of lowercase words. Punctuation and the reading's clause-break words end
/// a clause, because "we did not lose data, but replication broke" denies only the first part.
pub struct Account {
    pub clauses: Vec<Vec<String>>,
}

/// One occurrence of a phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The words as they stand in the account (gaps included).
    pub found: String,
    pub negated: bool,
    pub hypothetical: bool,
}

impl Account {
    pub fn read(text: &str, reading: &Reading) -> Account {
        let lower = text
            .to_lowercase()
            .replace(['’', '`', '‘'], "'")
            .replace("can't", "can not")
            .replace("won't", "will not")
            .replace("n't", " not");
        let mut clauses = Vec::new();
        let mut cur: Vec<String> = Vec::new();
        let mut word = String::new();
        let flush_word = |word: &mut String, cur: &mut Vec<String>| {
            let w = word.trim_matches('\'').to_string();
            word.clear();
            if w.is_empty() {
                return false;
            }
            let is_break = reading.clause_breaks.contains(&w);
            if !is_break {
                cur.push(w);
            }
            is_break
        };
        let chars: Vec<char> = lower.chars().collect();
        for (i, &ch) in chars.iter().enumerate() {
            if ch.is_alphanumeric() || ch == '_' || ch == '\'' {
                word.push(ch);
                continue;
            }
            let broke = flush_word(&mut word, &mut cur);
            // A dot inside a number or name ("2.6.2", ".down.sql") is not the end of a sentence.
            let next_alnum = chars.get(i + 1).is_some_and(|c| c.is_alphanumeric());
            let punct = match ch {
                '.' | ':' => !next_alnum,
                ';' | '!' | '?' | ',' | '(' | ')' | '\n' | '"' => true,
                _ => false,
            };
            if (broke || punct) && !cur.is_empty() {
                clauses.push(std::mem::take(&mut cur));
            }
        }
        flush_word(&mut word, &mut cur);
        if !cur.is_empty() {
            clauses.push(cur);
        }
        Account { clauses }
    }

    /// Every occurrence of `phrase` (see `Signal::words` for its syntax).
    pub fn find(&self, phrase: &str, reading: &Reading) -> Vec<Hit> {
        let parts: Vec<&str> = phrase.split_whitespace().collect();
        let own_negation = parts
            .iter()
            .any(|p| reading.negators.iter().any(|n| n == p));
        let mut hits = Vec::new();
        for clause in &self.clauses {
            for start in 0..clause.len() {
                let Some(end) = match_at(clause, start, &parts) else {
                    continue;
                };
                let before = &clause[start.saturating_sub(reading.negation_window)..start];
                let inside = &clause[start..end];
                // A phrase that names its own negation ("not transactional") is evidence as it
                // stands; otherwise a negator just before it, or inside a gap, denies it.
                let negated = !own_negation
                    && (before.iter().any(|w| reading.negators.contains(w))
                        || gap_words(clause, start, &parts)
                            .iter()
                            .any(|w| reading.negators.contains(w)));
                let hyp_before = &clause[start.saturating_sub(reading.hypothetical_window)..start];
                let hypothetical = hyp_before.iter().any(|w| reading.hypothetical.contains(w));
                hits.push(Hit {
                    found: inside.join(" "),
                    negated,
                    hypothetical,
                });
            }
        }
        hits
    }
}

const GAP: usize = 4;

fn word_matches(pattern: &str, word: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => word.starts_with(prefix),
        None => pattern == word,
    }
}

/// End (exclusive) of the first way `parts` matches at `start`, trying short gaps first.
fn match_at(clause: &[String], start: usize, parts: &[&str]) -> Option<usize> {
    fn go(clause: &[String], at: usize, parts: &[&str], gap: bool) -> Option<usize> {
        let Some((first, rest)) = parts.split_first() else {
            return Some(at);
        };
        if *first == ".." {
            return go(clause, at, rest, true);
        }
        let span = if gap { GAP + 1 } else { 1 };
        (at..(at + span).min(clause.len())).find_map(|i| {
            word_matches(first, &clause[i]).then(|| go(clause, i + 1, rest, false))?
        })
    }
    if parts.first().is_none_or(|p| *p == "..") {
        return None;
    }
    go(clause, start, parts, false)
}

/// The words skipped by `..` gaps in the match at `start`.
fn gap_words<'a>(clause: &'a [String], start: usize, parts: &[&str]) -> Vec<&'a String> {
    let mut out = Vec::new();
    let mut at = start;
    let mut gap = false;
    for p in parts {
        if *p == ".." {
            gap = true;
            continue;
        }
        let span = if gap { GAP + 1 } else { 1 };
        let Some(i) = (at..(at + span).min(clause.len())).find(|&i| word_matches(p, &clause[i]))
        else {
            break;
        };
        out.extend(&clause[at..i]);
        at = i + 1;
        gap = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading() -> Reading {
        Reading {
            threshold: 1.0,
            negators: ["not", "no", "never"].map(String::from).to_vec(),
            negation_window: 3,
            hypothetical: ["if", "plan"].map(String::from).to_vec(),
            hypothetical_window: 6,
            hypothetical_factor: 0.3,
            clause_breaks: vec!["but".into()],
            ask: String::new(),
        }
    }

    #[test]
    fn negation_stays_in_its_clause() {
        let r = reading();
        let a = Account::read("We did not lose data, but replication lag grew.", &r);
        let h = a.find("los* data", &r);
        assert_eq!(h.len(), 1);
        assert!(h[0].negated);
        let h = a.find("replication lag", &r);
        assert!(!h[0].negated, "{h:?}");
        let a = Account::read("We didn't lose data but the site was down", &r);
        assert!(a.find("los* data", &r)[0].negated);
    }

    #[test]
    fn gaps_prefixes_and_negation_inside_a_gap() {
        let r = reading();
        let a = Account::read("The ALTER queued for ages behind a long read.", &r);
        let h = a.find("queue* .. behind", &r);
        assert_eq!(h[0].found, "queued for ages behind");
        let a = Account::read("The data was not lost.", &r);
        assert!(a.find("data .. lost", &r)[0].negated);
        let a = Account::read("The index was not built concurrently.", &r);
        let h = a.find("not .. concurrently", &r);
        assert!(
            !h[0].negated,
            "a phrase that names its negation is evidence"
        );
        assert!(a.find("queue* .. behind", &r).is_empty());
    }

    #[test]
    fn plans_are_not_what_happened() {
        let r = reading();
        let a = Account::read("We plan to add indexes concurrently.", &r);
        assert!(a.find("concurrently", &r)[0].hypothetical);
    }

    #[test]
    fn dots_inside_names_do_not_split() {
        let r = reading();
        let a = Account::read("rolled back to v2.5.0 and .down.sql files", &r);
        assert_eq!(a.clauses.len(), 1, "{:?}", a.clauses);
    }
}
