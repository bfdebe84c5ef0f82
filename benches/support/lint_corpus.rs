//! A generated corpus of PostgreSQL migrations for benchmarking `rollsafe lint` (and squawk on
//! the same files): many files of mixed, realistic statements — table creation, columns with
//! and without defaults, indexes with and without CONCURRENTLY, constraints, type changes,
//! renames, drops, batched backfills, enum changes, functions with dollar-quoted bodies,
//! transactions and timeouts. Deterministic for a given seed, so every run lints the same text.
//! Shared by `benches/lint.rs` and `examples/lint_corpus.rs` through `#[path]`.

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TABLES: [&str; 12] = [
    "users",
    "orders",
    "payments",
    "accounts",
    "events",
    "invoices",
    "products",
    "sessions",
    "comments",
    "audit_log",
    "shipments",
    "subscriptions",
];
const COLUMNS: [&str; 12] = [
    "status",
    "email",
    "note",
    "amount",
    "region",
    "score",
    "label",
    "external_id",
    "priority",
    "currency",
    "source",
    "owner_id",
];
const TYPES: [&str; 8] = [
    "text",
    "integer",
    "bigint",
    "boolean",
    "timestamptz",
    "varchar(64)",
    "numeric(12,2)",
    "jsonb",
];

/// One migration file: its name and text.
pub struct CorpusFile {
    pub name: String,
    pub text: String,
}

pub struct Corpus {
    pub files: Vec<CorpusFile>,
    /// Statements in all files (BEGIN, COMMIT and SET included).
    pub statements: usize,
}

/// `files` migration files of about `statements` statements each (some start with a timeout
/// SET, a quarter are wrapped in BEGIN … COMMIT).
pub fn corpus(files: usize, statements: usize, seed: u64) -> Corpus {
    let mut rng = Rng(seed.max(1));
    let mut total = 0;
    let files = (0..files)
        .map(|i| {
            let mut text = String::new();
            let mut n = 0;
            if rng.below(3) > 0 {
                text.push_str("SET lock_timeout = '2s';\n");
                n += 1;
            }
            let wrap = rng.below(4) == 0;
            if wrap {
                text.push_str("BEGIN;\n");
                n += 1;
            }
            while n < statements - usize::from(wrap) {
                let (stmt, count) = statement(&mut rng, i, n);
                text.push_str(&stmt);
                n += count;
            }
            if wrap {
                text.push_str("COMMIT;\n");
                n += 1;
            }
            total += n;
            CorpusFile {
                name: format!("{:05}_migration_{i}.sql", i + 1),
                text,
            }
        })
        .collect();
    Corpus {
        files,
        statements: total,
    }
}

/// One statement (or, for a function, a statement plus its trigger) and how many it counts.
fn statement(rng: &mut Rng, file: usize, n: usize) -> (String, usize) {
    let t = rng.pick(&TABLES);
    let c = rng.pick(&COLUMNS);
    let ty = rng.pick(&TYPES);
    let u = format!("{c}_{file}_{n}");
    let s = match rng.below(24) {
        0 => format!(
            "CREATE TABLE {t}_{file}_{n} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    {c} {ty},\n    owner_id bigint NOT NULL REFERENCES users (id),\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
        ),
        1 | 2 => format!("ALTER TABLE {t} ADD COLUMN {u} {ty};\n"),
        3 => format!("ALTER TABLE {t} ADD COLUMN {u} integer NOT NULL DEFAULT 0;\n"),
        4 => format!("ALTER TABLE {t} ADD COLUMN {u} uuid DEFAULT gen_random_uuid();\n"),
        5 => format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_{t}_{u} ON {t} ({c});\n"),
        6 => format!("CREATE INDEX idx_{t}_{u} ON {t} ({c}, created_at);\n"),
        7 => format!("CREATE UNIQUE INDEX CONCURRENTLY uq_{t}_{u} ON {t} (lower({c}));\n"),
        8 => format!(
            "ALTER TABLE {t} ADD CONSTRAINT fk_{t}_{u} FOREIGN KEY (owner_id) REFERENCES users (id) NOT VALID;\n"
        ),
        9 => format!("ALTER TABLE {t} VALIDATE CONSTRAINT fk_{t}_{u};\n"),
        10 => format!(
            "ALTER TABLE {t} ADD CONSTRAINT ck_{t}_{u} CHECK ({c} IS NOT NULL) NOT VALID;\n"
        ),
        11 => format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;\n"),
        12 => format!("ALTER TABLE {t} ALTER COLUMN {c} TYPE {ty};\n"),
        13 => format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT 'none';\n"),
        14 => format!("ALTER TABLE {t} RENAME COLUMN {c} TO {u};\n"),
        15 => format!("ALTER TABLE {t} DROP COLUMN IF EXISTS {u};\n"),
        16 => format!(
            "UPDATE {t} SET {c} = DEFAULT WHERE id >= {} AND id < {} AND {c} IS NULL;\n",
            n * 10_000,
            (n + 1) * 10_000
        ),
        17 => format!(
            "INSERT INTO {t} (id, {c}, created_at) VALUES ({}, 'seed', now()), ({}, 'seed', now());\n",
            n * 2,
            n * 2 + 1
        ),
        18 => format!("DROP INDEX CONCURRENTLY IF EXISTS idx_{t}_{c}_{};\n", n / 2),
        19 => format!("CREATE TYPE mood_{file}_{n} AS ENUM ('sad', 'ok', 'happy');\n"),
        20 => format!("ALTER TYPE mood_{file} ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok';\n"),
        21 => format!("CREATE VIEW v_{t}_{u} AS SELECT id, {c} FROM {t} WHERE {c} IS NOT NULL;\n"),
        22 => format!("COMMENT ON COLUMN {t}.{c} IS 'set by migration {file}';\n"),
        _ => {
            // A trigger function with a dollar-quoted body, and its trigger: two statements.
            return (
                format!(
                    "CREATE OR REPLACE FUNCTION sync_{u}() RETURNS trigger AS $$\nBEGIN\n    NEW.{c} := coalesce(NEW.{c}, OLD.{c});\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nCREATE TRIGGER trg_{u} BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION sync_{u}();\n"
                ),
                2,
            );
        }
    };
    (s, 1)
}
