//! One sample wording for a planner operation, made from one of its patterns: shared by the
//! planner tests so they all speak of the same tables and values.

/// Fills `pattern`'s placeholders with the sample schema (`orders`, `customers`), `column`
/// and `ty` for the changed column and its type.
pub fn wording(pattern: &str, column: &str, ty: &str) -> String {
    pattern
        .replace("{table}", "orders")
        .replace("{column}", column)
        .replace("{type}", ty)
        .replace("{new}", "state")
        .replace("{ref_table}", "customers")
        .replace("{ref_column}", "id")
        .replace("{expr}", "total >= 0")
        .replace("{default}", "0")
        .replace("{value}", "shipped")
}
