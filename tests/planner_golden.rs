//! Golden Markdown plans for varied intakes (engines x tools x deployment
//! models x incidents). Review changes to these snapshots line by line.

use chrono::{TimeZone, Utc};
use rollsafe::planner::{Intake, Knowledge, PlanHistory, RawIntake, plan, render};

#[allow(clippy::too_many_arguments)]
fn golden(
    name: &str,
    deploy: &str,
    engine: &str,
    tool: &str,
    changes: &[&str],
    rows: &[&str],
    rto: Option<&str>,
    incidents: &[&str],
    flags: bool,
) {
    let k = Knowledge::load().expect("knowledge");
    let raw = RawIntake {
        deploy: deploy.into(),
        engine: engine.into(),
        tool: tool.into(),
        changes: changes.iter().map(|s| s.to_string()).collect(),
        rows: rows.iter().map(|s| s.to_string()).collect(),
        rto: rto.map(str::to_string),
        incidents: incidents.iter().map(|s| s.to_string()).collect(),
        flags,
    };
    let intake = Intake::parse(&k, &raw).expect("intake");
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    // A refusal is an answer too: its text is the snapshot.
    let text = match plan(&intake, &k, &PlanHistory::none(now)) {
        Ok(p) => render::markdown(&p),
        Err(e) => format!("REFUSED\n\n{e}\n"),
    };
    insta::assert_snapshot!(name, text);
}

#[test]
fn g01_pg15_flyway_canary_rename_with_incidents() {
    golden(
        "g01_pg15_flyway_canary_rename",
        "canary",
        "postgres:15",
        "flyway",
        &["rename column users.name to full_name"],
        &["users=50000000"],
        Some("15m"),
        &[
            "ALTER waited on a lock and took the site down",
            "the down migration dropped the column and we lost a day of writes",
        ],
        false,
    );
}
#[test]
fn g02_pg11_rails_rolling_set_not_null() {
    golden(
        "g02_pg11_rails_rolling_set_not_null",
        "rolling",
        "postgres:11",
        "rails",
        &["set not null on orders.customer_id"],
        &["orders=8m"],
        None,
        &["old pods crashed with column does not exist during the rollout"],
        false,
    );
}
#[test]
fn g03_pg18_alembic_bluegreen_not_null() {
    golden(
        "g03_pg18_alembic_bluegreen_not_null",
        "blue-green",
        "postgres:18",
        "alembic",
        &["set not null on orders.customer_id"],
        &["orders=8m"],
        Some("30m"),
        &[],
        true,
    );
}
#[test]
fn g04_pg14_django_rolling_index_fk() {
    golden(
        "g04_pg14_django_rolling_index_fk",
        "rolling",
        "postgres:14",
        "django",
        &[
            "add index on orders.created_at",
            "add foreign key orders.customer_id references customers.id",
        ],
        &["orders=120m"],
        None,
        &["a CREATE INDEX CONCURRENTLY failed halfway and left an invalid index"],
        false,
    );
}
#[test]
fn g05_mysql80_ghost_canary_change_type() {
    golden(
        "g05_mysql80_ghost_canary_change_type",
        "canary",
        "mysql:8.0",
        "gh-ost",
        &["change column type orders.amount to bigint"],
        &["orders=300m"],
        Some("1h"),
        &["replication lag hit 10 minutes during the backfill"],
        false,
    );
}
#[test]
fn g06_mysql57_ptosc_recreate_add_column() {
    golden(
        "g06_mysql57_ptosc_recreate_add_column",
        "recreate",
        "mysql:5.7",
        "pt-osc",
        &["add column users.timezone varchar(64)"],
        &["users=40m"],
        None,
        &[],
        false,
    );
}
#[test]
fn g07_mariadb_knex_rolling_drop_column() {
    golden(
        "g07_mariadb_knex_rolling_drop_column",
        "rolling",
        "mariadb:10.11",
        "knex",
        &["drop column users.legacy_token"],
        &["users=2m"],
        Some("20m"),
        &["restore from backup took 6 hours, far past our RTO"],
        false,
    );
}
#[test]
fn g08_prisma_pg16_canary_drop_table() {
    golden(
        "g08_prisma_pg16_canary_drop_table",
        "canary",
        "postgres:16",
        "prisma",
        &["drop table audit_2019"],
        &["audit_2019=900m"],
        Some("15m"),
        &["the rollback was never tested and failed"],
        true,
    );
}
#[test]
fn g09_sqlite_goose_recreate_change_type() {
    golden(
        "g09_sqlite_goose_recreate_change_type",
        "recreate",
        "sqlite",
        "goose",
        &["change column type notes.body to text"],
        &["notes=200k"],
        None,
        &[],
        false,
    );
}
/// The same changes in a maintenance window whose RTO covers the offline builds: planned.
#[test]
fn g10b_sqlserver_standard_efcore_recreate() {
    golden(
        "g10b_sqlserver_standard_efcore_recreate",
        "recreate",
        "sqlserver:2022:standard",
        "efcore",
        &[
            "add index on orders.customer_id",
            "add not null column orders.channel varchar(16) default 'web'",
        ],
        &["orders=25m"],
        Some("30m"),
        &["migration ran on app startup from two pods and raced"],
        false,
    );
}
/// Standard builds the index offline and adds the NOT NULL column size-of-data: blue/green
/// keeps both releases writing, so the plan refuses.
#[test]
fn g10_sqlserver_standard_efcore_bluegreen() {
    golden(
        "g10_sqlserver_standard_efcore_bluegreen",
        "blue-green",
        "sqlserver:2022:standard",
        "efcore",
        &[
            "add index on orders.customer_id",
            "add not null column orders.channel varchar(16) default 'web'",
        ],
        &["orders=25m"],
        Some("30m"),
        &["migration ran on app startup from two pods and raced"],
        false,
    );
}
#[test]
fn g11_sqlserver_enterprise_liquibase_canary_rename_table() {
    golden(
        "g11_sqlserver_enterprise_liquibase_canary_rename_table",
        "canary",
        "sqlserver:2019:enterprise",
        "liquibase",
        &["rename table customers to clients"],
        &[],
        None,
        &["Liquibase left a stuck lock in DATABASECHANGELOGLOCK"],
        false,
    );
}
#[test]
fn g12_pgroll_pg17_bluegreen_rename_and_unique() {
    golden(
        "g12_pgroll_pg17_bluegreen_rename_and_unique",
        "blue-green",
        "postgres:17",
        "pgroll",
        &[
            "rename column users.name to full_name",
            "add unique on users.email",
        ],
        &["users=10m"],
        Some("10m"),
        &["pgbouncer dropped our lock_timeout setting"],
        true,
    );
}
#[test]
fn g13_golang_migrate_pg13_rolling_backfill_check_enum() {
    golden(
        "g13_golang_migrate_pg13_rolling_backfill_check_enum",
        "rolling",
        "postgres:13",
        "golang-migrate",
        &[
            "backfill orders.region",
            "add check on orders (total >= 0)",
            "add enum value refunded to orders.status",
        ],
        &["orders=60m"],
        None,
        &["migration left the database dirty and we had to force the version"],
        false,
    );
}
#[test]
fn g14_atlas_mysql84_canary_unique_fk() {
    golden(
        "g14_atlas_mysql84_canary_unique_fk",
        "canary",
        "mysql:8.4",
        "atlas",
        &[
            "add unique on users.email",
            "add foreign key orders.user_id references users.id",
        ],
        &["users=5m", "orders=50m"],
        None,
        &[],
        false,
    );
}
#[test]
fn g15_sqitch_pg12_recreate_add_nn_column() {
    golden(
        "g15_sqitch_pg12_recreate_add_nn_column",
        "recreate",
        "postgres:12",
        "sqitch",
        &["add not null column accounts.active boolean default true"],
        &["accounts=1m"],
        None,
        &["NOT NULL column without default broke inserts from the old version"],
        false,
    );
}
#[test]
fn g16_plain_sql_pg15_canary_drop_column() {
    golden(
        "g16_plain_sql_pg15_canary_drop_column",
        "canary",
        "postgres:15",
        "sql",
        &["drop column users.middle_name"],
        &["users=50m"],
        Some("15m"),
        &["ActiveRecord schema cache kept selecting the dropped column"],
        false,
    );
}
