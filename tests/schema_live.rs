//! The live schema read, read-only, on a seeded SQLite file and PostgreSQL database:
//! the facts match the dump reader's and row counts come from the database.

use rollsafe::planner::schema::IndexKind;
use rollsafe::planner::schema_live::from_live;
use std::process::Command;

const SEED: &str = "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id),
  status text NOT NULL DEFAULT 'new' UNIQUE);
CREATE INDEX orders_status_idx ON orders(status);
CREATE VIEW open_orders AS SELECT id, status FROM orders WHERE status <> 'closed';
INSERT INTO customers VALUES (1, 'a@example.com'), (2, 'b@example.com');
INSERT INTO orders VALUES (1, 1, 's1'), (2, 1, 's2'), (3, 2, 's3');";

fn check(s: &rollsafe::planner::schema::Schema) {
    let status = s.column("orders", "status").unwrap();
    assert!(status.not_null);
    assert!(status.default.as_deref().unwrap().contains("'new'"));
    assert_eq!(s.indexes_on("orders", "status").len(), 2);
    assert!(
        s.indexes_on("orders", "status")
            .iter()
            .any(|i| i.kind == IndexKind::Unique)
    );
    assert_eq!(s.fks_in("customers").len(), 1);
    assert_eq!(s.views_on("orders", Some("status")).len(), 1);
    assert_eq!(s.table("orders").unwrap().rows, Some(3));
    assert_eq!(s.table("customers").unwrap().rows, Some(2));
}

#[test]
fn sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let ok = Command::new("sqlite3").arg(&db).arg(SEED).status().unwrap();
    assert!(ok.success());
    let (s, _) = from_live(db.to_str().unwrap()).unwrap();
    check(&s);
}

#[test]
fn postgres_url() {
    let Ok(admin) = std::env::var("ROLLSAFE_TEST_PG_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must provide PostgreSQL");
        eprintln!("skipped: ROLLSAFE_TEST_PG_URL not set");
        return;
    };
    let name = format!("schema_live_{}", std::process::id());
    let psql = |url: &str, sql: &str| {
        let ok = Command::new("psql")
            .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .status()
            .unwrap();
        assert!(ok.success(), "{sql}");
    };
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    psql(&url, SEED);
    psql(&url, "ANALYZE");
    let read = from_live(&url);
    psql(&admin, &format!("DROP DATABASE {name}"));
    check(&read.unwrap().0);
    assert!(
        from_live("mysql://x@h/db")
            .unwrap_err()
            .contains("mariadb-dump")
    );
}
