//! Compatibility proof on PostgreSQL (see tests/compat/mod.rs and
//! cases.toml). Needs ROLLSAFE_TEST_PG_URL; fails without it under CI=true.
mod compat;

#[test]
fn plans_keep_n_and_n1_working_on_postgres() {
    if compat::server_env("ROLLSAFE_TEST_PG_URL").is_none() {
        return;
    }
    compat::prove("postgres");
}
