//! `/` filters on list screens: typed text narrows the list, Esc clears it.
//! One small state shared by every list so they behave alike.

use super::Action;

/// The text a list is narrowed by, and whether keys are going into it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TextFilter {
    pub text: String,
    /// True while the operator types: printable keys are text, not commands.
    pub editing: bool,
}

impl TextFilter {
    /// Starts typing, keeping any text already there.
    pub fn begin(&mut self) {
        self.editing = true;
    }

    /// Applies a key while typing. Enter keeps the filter and returns the
    /// keys to the list; Esc clears it. Returns whether the text changed.
    pub fn edit(&mut self, action: Action) -> bool {
        match action {
            Action::Input('\u{15}') => {
                self.text.clear();
                true
            }
            Action::Input(c) if !c.is_control() => {
                self.text.push(c);
                true
            }
            Action::Backspace => self.text.pop().is_some(),
            Action::Submit => {
                self.editing = false;
                false
            }
            Action::Dismiss => {
                self.editing = false;
                !std::mem::take(&mut self.text).is_empty()
            }
            _ => false,
        }
    }

    pub fn is_active(&self) -> bool {
        !self.text.is_empty()
    }

    /// Case-insensitive: does any of `fields` contain the text?
    pub fn matches<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> bool {
        let needle = self.text.trim().to_lowercase();
        needle.is_empty()
            || fields
                .into_iter()
                .any(|f| f.to_lowercase().contains(&needle))
    }

    /// What the list's title shows: the filter, with a cursor while typing.
    pub fn label(&self) -> Option<String> {
        match (self.editing, self.is_active()) {
            (true, _) => Some(format!("/{}▏", self.text)),
            (false, true) => Some(format!("/{}", self.text)),
            (false, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> TextFilter {
        let mut f = TextFilter::default();
        f.begin();
        for c in text.chars() {
            f.edit(Action::Input(c));
        }
        f
    }

    #[test]
    fn typing_narrows_case_insensitively() {
        let f = typed("PG");
        assert!(f.editing);
        assert!(f.matches(["pg-add-column", "x"]));
        assert!(f.matches(["nope", "pg_upgrade"]));
        assert!(!f.matches(["mysql-index"]));
    }

    #[test]
    fn enter_keeps_the_filter_and_esc_clears_it() {
        let mut f = typed("idx");
        f.edit(Action::Submit);
        assert!(!f.editing);
        assert_eq!(f.label().as_deref(), Some("/idx"));
        f.begin();
        assert!(f.edit(Action::Backspace));
        assert_eq!(f.text, "id");
        assert!(f.edit(Action::Dismiss));
        assert!(!f.editing && !f.is_active());
        assert_eq!(f.label(), None);
        assert!(f.matches(["anything"]));
    }
}
