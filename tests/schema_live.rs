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

#[test]
fn mariadb_url() {
    let Ok(host) = std::env::var("ROLLSAFE_TEST_MYSQL_HOST") else {
        assert!(std::env::var("CI").is_err(), "CI must provide MariaDB");
        eprintln!("skipped: ROLLSAFE_TEST_MYSQL_HOST not set");
        return;
    };
    let v = |k: &str| std::env::var(format!("ROLLSAFE_TEST_MYSQL_{k}")).unwrap();
    let (port, user, pw, db) = (v("PORT"), v("USER"), v("PASSWORD"), v("DATABASE"));
    // The test user has one shared database: own table names, no view (the dump of the
    // whole database would see other runs' views).
    let seed = "DROP TABLE IF EXISTS sl_orders, sl_customers;
CREATE TABLE sl_customers (id bigint PRIMARY KEY, email varchar(99) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE sl_orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL,
  status varchar(64) NOT NULL DEFAULT 'new', UNIQUE KEY sl_status_key (status),
  FOREIGN KEY (customer_id) REFERENCES sl_customers (id)) ENGINE=InnoDB;
INSERT INTO sl_customers VALUES (1, 'a'), (2, 'b');
INSERT INTO sl_orders VALUES (1, 1, 's1'), (2, 1, 's2'), (3, 2, 's3');
ANALYZE TABLE sl_customers, sl_orders;";
    let sql = |q: &str| {
        let ok = Command::new("mariadb")
            .args(["-h", &host, "-P", &port, "-u", &user, &db, "-e", q])
            .env("MYSQL_PWD", &pw)
            .status()
            .unwrap();
        assert!(ok.success(), "{q}");
    };
    sql(seed);
    let read = from_live(&format!("mysql://{user}:{pw}@{host}:{port}/{db}"));
    sql("DROP TABLE sl_orders, sl_customers");
    let (s, _) = read.unwrap();
    let status = s.column("sl_orders", "status").unwrap();
    assert!(status.not_null);
    assert_eq!(status.default.as_deref(), Some("'new'"));
    assert_eq!(s.fks_in("sl_customers").len(), 1);
    assert!(
        s.indexes_on("sl_orders", "status")
            .iter()
            .any(|i| i.kind == IndexKind::Unique)
    );
    assert_eq!(s.table("sl_orders").unwrap().rows, Some(3));
}
