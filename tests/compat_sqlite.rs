//! Compatibility proof on SQLite (see tests/compat/mod.rs and cases.toml).
mod compat;

#[test]
fn plans_keep_n_and_n1_working_on_sqlite() {
    compat::prove("sqlite");
}
