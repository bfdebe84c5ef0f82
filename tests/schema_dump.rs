//! The schema reader on dumps taken from the real servers (tests/fixtures/schema/gen.sh:
//! `pg_dump --schema-only`, `mariadb-dump --no-data`, SQLite `.schema` of the compat seed
//! plus a trigger): every fact the planner will carry over is read, per engine.

use rollsafe::lint::EngineKind;
use rollsafe::planner::schema::{IndexKind, Schema, from_dump};

fn read(file: &str, engine: EngineKind) -> Schema {
    let path = format!(
        "{}/tests/fixtures/schema/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    from_dump(&std::fs::read_to_string(path).unwrap(), engine).unwrap()
}

/// The same seed on every engine: `p` is the MariaDB table prefix.
fn check(s: &Schema, p: &str, types: [&str; 3], default_new: &str) {
    let orders = format!("{p}orders");
    let customers = format!("{p}customers");
    let status = s.column(&orders, "status").expect("orders.status");
    assert_eq!(status.data_type, types[0]);
    assert!(status.not_null);
    assert_eq!(status.default.as_deref(), Some(default_new));
    let amount = s.column(&orders, "amount").unwrap();
    assert_eq!(amount.data_type, types[1]);
    assert!(amount.not_null);
    assert_eq!(amount.default.as_deref(), Some("0"));
    let memo = s.column(&orders, "memo").unwrap();
    assert!(!memo.not_null);
    assert_eq!(memo.default, None);
    assert_eq!(
        s.column(&orders, "customer_id").unwrap().data_type,
        types[2]
    );
    assert!(s.column(&orders, "id").unwrap().not_null);

    let mut on_status: Vec<(IndexKind, Option<&str>)> = s
        .indexes_on(&orders, "status")
        .iter()
        .map(|i| (i.kind, i.name.as_deref()))
        .collect();
    on_status.sort_by_key(|(k, _)| *k as u8);
    assert_eq!(on_status.len(), 2, "{on_status:?}");
    assert_eq!(on_status[0].0, IndexKind::Unique);
    assert_eq!(
        on_status[1],
        (IndexKind::Plain, Some(&*format!("{p}orders_status_idx")))
    );
    assert!(
        s.indexes_on(&orders, "id")
            .iter()
            .any(|i| i.kind == IndexKind::Primary)
    );
    assert!(
        s.indexes_on(&customers, "email")
            .iter()
            .any(|i| i.kind == IndexKind::Unique)
    );

    let out = s.fks_out(&orders);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].columns, ["customer_id"]);
    assert_eq!(out[0].ref_table, customers);
    assert_eq!(out[0].ref_columns, ["id"]);
    let inc = s.fks_in(&customers);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].table, orders);
    assert!(s.fks_in(&orders).is_empty());

    let views: Vec<&str> = s
        .views_on(&orders, Some("status"))
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(views, [format!("{p}open_orders")]);
    assert!(s.views_on(&orders, Some("amount")).is_empty());
    let trig: Vec<&str> = s
        .triggers_on(&orders)
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(trig, [format!("{p}orders_touch")]);
    assert!(s.triggers_on(&customers).is_empty());
    // A dump has no row counts: the reader does not invent one.
    assert_eq!(s.table(&orders).unwrap().rows, None);
}

#[test]
fn postgres_schema_only_dump() {
    let s = read("postgres.sql", EngineKind::Postgres);
    check(&s, "", ["TEXT", "INTEGER", "BIGINT"], "'new'::TEXT");
    assert_eq!(s.tables.len(), 2);
    // The id default comes from a later ALTER … SET DEFAULT.
    assert!(
        s.column("orders", "id")
            .unwrap()
            .default
            .as_deref()
            .unwrap()
            .contains("nextval")
    );
}

#[test]
fn mariadb_no_data_dump() {
    let s = read("mariadb.sql", EngineKind::Mariadb);
    check(
        &s,
        "s10_",
        ["VARCHAR(64)", "INT(11)", "BIGINT(20)"],
        "'new'",
    );
    // The placeholder view mariadb-dump writes first is replaced by the real one.
    assert_eq!(s.views.len(), 1);
    assert!(s.views[0].definition.contains("<> 'closed'"));
}

#[test]
fn sqlite_dot_schema() {
    let s = read("sqlite.sql", EngineKind::Sqlite);
    check(&s, "", ["TEXT", "INTEGER", "INTEGER"], "'new'");
}
