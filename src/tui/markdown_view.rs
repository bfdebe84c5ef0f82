// PLACEHOLDER until the markdown view lands (being written in a scratch crate).
pub fn markdown_to_text(markdown: &str, _width: u16, _color: bool) -> ratatui::text::Text<'static> {
    ratatui::text::Text::raw(markdown.to_string())
}
