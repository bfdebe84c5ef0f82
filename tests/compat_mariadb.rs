//! Compatibility proof on MariaDB (see tests/compat/mod.rs and cases.toml).
//! Needs ROLLSAFE_TEST_MYSQL_*; fails without them under CI=true.
mod compat;

#[test]
fn plans_keep_n_and_n1_working_on_mariadb() {
    if compat::server_env("ROLLSAFE_TEST_MYSQL_HOST").is_none() {
        return;
    }
    compat::prove("mariadb");
}
