//! `rollsafe plan --schema-from`: what the schema says reaches the plan (types, what moves
//! with a column), what it cannot move is refused with the reason, and without a schema the
//! plan says what it assumed. Also the refusal of write-blocking steps the deployment model
//! or the RTO cannot take. No servers: schemas come from dump files and SQLite files.

use std::process::Command;

use tempfile::TempDir;

fn plan(args: &[&str]) -> (i32, String, String) {
    let dir = TempDir::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .arg("plan")
        .args(args)
        .arg("--db")
        .arg(dir.path().join("d.db"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// As `pg_dump --schema-only` writes it (abridged).
const PG_DUMP: &str = r#"
SET statement_timeout = 0;
CREATE TABLE public.customers (id bigint NOT NULL, email text NOT NULL);
CREATE TABLE public.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    status text DEFAULT 'new'::text NOT NULL,
    amount integer DEFAULT 0 NOT NULL
);
CREATE VIEW public.open_orders AS
 SELECT orders.id,
    orders.status
   FROM public.orders
  WHERE (orders.status <> 'closed'::text);
ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_status_key UNIQUE (status);
CREATE INDEX orders_status_idx ON public.orders USING btree (status);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);
ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_email_key UNIQUE (email);
CREATE TABLE public.invites (email text);
ALTER TABLE ONLY public.invites ADD CONSTRAINT invites_email_fkey FOREIGN KEY (email) REFERENCES public.customers(email);
"#;

fn dump(dir: &TempDir) -> String {
    let path = dir.path().join("schema.sql");
    std::fs::write(&path, PG_DUMP).unwrap();
    path.display().to_string()
}

const RENAME: &[&str] = &[
    "--change",
    "rename column orders.status to state",
    "--engine",
    "postgres:15",
    "--deploy",
    "rolling",
    "--tool",
    "sql",
];

#[test]
fn a_dump_names_the_type_and_the_plan_carries_indexes_default_not_null_and_views() {
    let dir = TempDir::new().unwrap();
    let path = dump(&dir);
    let mut args = RENAME.to_vec();
    args.extend(["--schema-from", &path]);
    let (code, md, err) = plan(&args);
    assert_eq!(code, 0, "{err}");
    // The facts are at the top, before the inputs.
    let top = &md[..md.find("## Inputs").unwrap()];
    assert!(top.contains(&format!("Read from `{path}`")), "{top}");
    assert!(
        top.contains("orders.status is TEXT NOT NULL DEFAULT 'new'::TEXT; indexes on it: orders_status_key (unique), orders_status_idx")
            && top.contains("views that read it: open_orders"),
        "{top}"
    );
    // The type is named, not asked for.
    assert!(!md.contains("ORDERS_STATUS_CURRENT_TYPE"), "{md}");
    assert!(md.contains("ADD COLUMN IF NOT EXISTS state TEXT"), "{md}");
    for carried in [
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_state_key ON orders (state)",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_state_idx ON orders (state)",
        "ALTER TABLE orders ALTER COLUMN state SET NOT NULL",
        "ALTER COLUMN state SET DEFAULT 'new'::TEXT, ALTER COLUMN status DROP DEFAULT, ALTER COLUMN status DROP NOT NULL",
        "CREATE OR REPLACE VIEW open_orders AS SELECT orders.id,",
        "orders.state AS status",
        "ADD CONSTRAINT orders_state_key UNIQUE USING INDEX orders_state_key",
    ] {
        assert!(md.contains(carried), "missing {carried:?} in\n{md}");
    }
    // Each at its phase: indexes in expand, NOT NULL after the backfill, the default and
    // the views before N+3 stops writing status, the constraint after the DROP.
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("orders_state_idx ON orders") < at("### 3 "));
    assert!(at("SET NOT NULL") > at("Copy status into state"));
    assert!(at("ALTER COLUMN status DROP DEFAULT") < at("Release N+3: stop writing"));
    assert!(at("CREATE OR REPLACE VIEW") < at("Release N+3: stop writing"));
    assert!(at("UNIQUE USING INDEX") > at("Drop orders.status"));
}

#[test]
fn without_a_schema_the_plan_says_what_it_assumed_and_checks_it() {
    let (code, md, err) = plan(RENAME);
    assert_eq!(code, 0, "{err}");
    let top = &md[..md.find("## Inputs").unwrap()];
    assert!(top.contains("No schema was read"), "{top}");
    assert!(
        top.contains("orders.status has no index, constraint, foreign key, default, NOT NULL or dependent view"),
        "{top}"
    );
    assert!(
        top.contains("${ORDERS_STATUS_CURRENT_TYPE}: the current type"),
        "{top}"
    );
    assert!(md.contains("`c1-prepare-assumed`"), "{md}");
    assert!(
        !md.contains("CONCURRENTLY IF NOT EXISTS orders_state"),
        "{md}"
    );
}

#[test]
fn what_no_recipe_can_move_is_refused_with_the_reason() {
    let dir = TempDir::new().unwrap();
    let path = dump(&dir);
    for (change, why) in [
        (
            "rename column orders.id to order_id",
            "part of the primary key",
        ),
        (
            "rename column customers.email to mail",
            "invites.email references customers.email through foreign key invites_email_fkey",
        ),
        (
            "rename column orders.nope to yes",
            "orders.nope is not in the schema",
        ),
        ("drop table nowhere", "table nowhere is not in the schema"),
        (
            "add column orders.amount bigint",
            "orders.amount exists already",
        ),
        (
            "rename column orders.status to amount",
            "orders.amount exists already",
        ),
        ("set not null on orders.status", "NOT NULL already"),
        (
            "add index on orders.stauts",
            "orders.stauts is not in the schema",
        ),
        (
            "rename table orders to customers",
            "table customers exists already",
        ),
        (
            "add foreign key orders.status references invites.email",
            "invites.email has no primary key or unique constraint",
        ),
        (
            "add foreign key orders.amount references customers.nope",
            "customers.nope is not in the schema",
        ),
    ] {
        let (code, _, err) = plan(&[
            "--change",
            change,
            "--engine",
            "postgres:15",
            "--deploy",
            "rolling",
            "--tool",
            "sql",
            "--schema-from",
            &path,
        ]);
        assert_ne!(code, 0, "{change}");
        assert!(err.contains(why), "{change}: {err}");
    }
    // A dump of the wrong kind, and an unreadable source, name the source.
    let (code, _, err) = plan(&[
        "--change",
        "drop table orders",
        "--engine",
        "postgres:15",
        "--deploy",
        "rolling",
        "--tool",
        "sql",
        "--schema-from",
        "/nonexistent/schema.sql",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--schema-from /nonexistent/schema.sql"),
        "{err}"
    );
}

#[test]
fn sqlite_rename_of_a_not_null_column_without_default_is_refused() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("app.db");
    let made = Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL DEFAULT 'x');")
        .status()
        .expect("sqlite3 runs");
    assert!(made.success());
    let db = db.display().to_string();
    let base = [
        "--engine",
        "sqlite",
        "--deploy",
        "rolling",
        "--tool",
        "sql",
        "--schema-from",
        &db,
    ];
    let mut refused = vec!["--change", "rename column t.a to c"];
    refused.extend(base);
    let (code, _, err) = plan(&refused);
    assert_ne!(code, 0);
    assert!(err.contains("NOT NULL without a default"), "{err}");
    // With a default, SQLite renames through triggers and a final swap.
    let mut ok = vec!["--change", "rename column t.b to c"];
    ok.extend(base);
    let (code, md, err) = plan(&ok);
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("ALTER TABLE t RENAME COLUMN b TO c"), "{md}");
    assert!(
        md.contains("CREATE TRIGGER IF NOT EXISTS t_c_sync_ins"),
        "{md}"
    );
}

#[test]
fn a_write_block_the_deploy_model_or_the_rto_cannot_take_is_refused() {
    let change = ["--change", "change column type notes.body to integer"];
    // SQLite rebuilds the table: writers wait for the whole copy.
    let mut rolling = change.to_vec();
    rolling.extend([
        "--engine", "sqlite", "--deploy", "rolling", "--tool", "sql", "--rows", "notes=5m",
    ]);
    let (code, _, err) = plan(&rolling);
    assert_ne!(code, 0);
    assert!(err.starts_with("rollsafe: refused:"), "{err}");
    assert!(
        err.contains("Rebuild notes") && err.contains("5,000,000 rows") && err.contains("rolling"),
        "{err}"
    );
    assert!(err.contains("--deploy recreate"), "{err}");
    // On an assumed row count the block is a guess: the plan warns first, it does not refuse.
    let mut guessed = change.to_vec();
    guessed.extend(["--engine", "sqlite", "--deploy", "rolling", "--tool", "sql"]);
    let (code, md, err) = plan(&guessed);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.starts_with("# Plan") && md.contains("## Warning: this plan may stop writes"),
        "{md}"
    );
    assert!(
        md.find("## Warning").unwrap() < md.find("## Inputs").unwrap(),
        "{md}"
    );
    // A small table stays under the plan's own lock bound.
    let mut small = change.to_vec();
    small.extend([
        "--engine",
        "sqlite",
        "--deploy",
        "rolling",
        "--tool",
        "sql",
        "--rows",
        "notes=1000",
    ]);
    assert_eq!(plan(&small).0, 0);
    // Recreate takes the block unless it overruns the RTO.
    let mut window = change.to_vec();
    window.extend([
        "--engine", "sqlite", "--deploy", "recreate", "--tool", "sql", "--rows", "notes=5m",
    ]);
    assert_eq!(plan(&window).0, 0);
    window.extend(["--rto", "30s"]);
    let (code, _, err) = plan(&window);
    assert_ne!(code, 0);
    assert!(err.contains("longer than the RTO (30s)"), "{err}");
    // MySQL MODIFY copies the table, unless an online tool runs it.
    let mysql = [
        "--change",
        "change column type orders.amount to bigint",
        "--engine",
        "mysql:8.0",
        "--deploy",
        "canary",
        "--rows",
        "orders=50m",
    ];
    let mut direct = mysql.to_vec();
    direct.extend(["--tool", "sql"]);
    let (code, _, err) = plan(&direct);
    assert_ne!(code, 0);
    assert!(err.contains("--tool gh-ost"), "{err}");
    let mut ghost = mysql.to_vec();
    ghost.extend(["--tool", "gh-ost"]);
    assert_eq!(plan(&ghost).0, 0);
}
