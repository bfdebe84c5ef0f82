//! Incident accounts, read like an engineer reads them: `text` splits an account into clauses and
//! finds signal phrases with their negation and tense; `classify` (next door) weighs the
//! evidence; `act` turns matched categories into changed commands of a plan.

pub mod act;
pub mod text;
