//! Splitting and parsing, ahead of the analysis. Parsing a statement needs no context, so a
//! large run (hundreds of migration files) is parsed on all cores; the analysis, which carries
//! context from statement to statement and file to file, then walks the results in order.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use super::EngineKind;
use super::split::{self, Chunk, Word};

/// One statement of a file: where it is, its words, and what the parser made of it (the
/// parser's message when it could not read it).
pub struct Parsed {
    pub chunk: Chunk,
    pub words: Vec<Word>,
    pub result: Result<Vec<Statement>, String>,
}

/// Below this many statements threads cost more than they save.
const PARALLEL_FROM: usize = 256;

/// Every text's statements, parsed, in text order and statement order.
pub fn parse_texts(texts: &[&str], engine: EngineKind) -> Vec<Vec<Parsed>> {
    let jobs: Vec<(usize, Chunk)> = texts
        .iter()
        .enumerate()
        .flat_map(|(i, t)| split::split(t, engine).into_iter().map(move |c| (i, c)))
        .collect();
    let parsed = map_in_order(&jobs, |(i, chunk)| {
        let text = chunk.text(texts[*i]);
        Parsed {
            chunk: chunk.clone(),
            words: split::words(text, engine),
            result: Parser::parse_sql(dialect(engine).as_ref(), text).map_err(|e| e.to_string()),
        }
    });
    let mut out: Vec<Vec<Parsed>> = texts.iter().map(|_| Vec::new()).collect();
    for ((i, _), p) in jobs.iter().zip(parsed) {
        out[*i].push(p);
    }
    out
}

pub(crate) fn dialect(engine: EngineKind) -> Box<dyn Dialect> {
    match engine {
        EngineKind::Postgres => Box::new(PostgreSqlDialect {}),
        EngineKind::Mysql | EngineKind::Mariadb => Box::new(MySqlDialect {}),
        EngineKind::Sqlite => Box::new(SQLiteDialect {}),
    }
}

/// `items.iter().map(f).collect()`, on every available core for large inputs; the order of
/// the results is the order of the items.
fn map_in_order<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.iter().map(f).collect();
    }
    // Small blocks handed out in turn, so one slow file does not leave the other cores idle.
    let block = items.len().div_ceil(threads * 8);
    let next = AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    let mut blocks: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        let start = b * block;
                        if start >= items.len() {
                            return done;
                        }
                        let end = (start + block).min(items.len());
                        done.push((b, items[start..end].iter().map(f).collect()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    blocks.sort_unstable_by_key(|(b, _)| *b);
    blocks.into_iter().flat_map(|(_, r)| r).collect()
}

/// An ALTER TABLE the parser cannot read as a whole, clause by clause: each top-level clause as
/// its own `ALTER TABLE name clause`, so one unknown clause (first or not) does not hide a
/// SET NOT NULL beside it. `None` when the table name cannot be read.
/// Each item: the clause's text and its statements, or the parser's message.
pub type Clauses = Vec<(String, Result<Vec<Statement>, String>)>;

pub fn alter_table_clauses(text: &str, engine: EngineKind) -> Option<Clauses> {
    let head = regex::Regex::new(
        r#"(?is)^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?((?:"[^"]+"|`[^`]+`|[\w$]+)(?:\s*\.\s*(?:"[^"]+"|`[^`]+`|[\w$]+))*)\s*\*?"#,
    )
    .expect("static regex");
    let m = head.captures(text)?;
    let name = m.get(1)?.as_str();
    let body = &text[m.get(0)?.end()..];
    let d = dialect(engine);
    let out: Clauses = top_level_commas(body, engine)
        .into_iter()
        .map(|clause| {
            let sql = format!("ALTER TABLE {name} {clause}");
            (
                clause.trim().to_string(),
                Parser::parse_sql(d.as_ref(), &sql).map_err(|e| e.to_string()),
            )
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// `text` split at commas outside parentheses, strings, quoted names and comments.
fn top_level_commas(text: &str, engine: EngineKind) -> Vec<&str> {
    let mut cuts = Vec::new();
    let mut depth = 0i32;
    // Words and code events come from the scanner, which already skips strings and comments.
    for w in split::code_bytes(text, engine) {
        match text.as_bytes()[w] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => cuts.push(w),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts {
        out.push(&text[at..c]);
        at = c + 1;
    }
    out.push(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_table_clauses_keep_the_known_ones() {
        let sql = "ALTER TABLE public.t ALTER COLUMN a SET NOT NULL, FROBNICATE (x, y), ADD CONSTRAINT c CHECK (a IN (1, 2))";
        let c = alter_table_clauses(sql, EngineKind::Postgres).unwrap();
        assert_eq!(c.len(), 3);
        assert!(c[0].1.is_ok());
        assert_eq!(c[1].0, "FROBNICATE (x, y)");
        assert!(c[1].1.is_err());
        assert!(c[2].1.is_ok(), "{:?}", c[2].1);
        // An unknown first clause hides nothing either.
        let c = alter_table_clauses(
            "ALTER TABLE IF EXISTS ONLY \"s\".t FROBNICATE, ALTER COLUMN a SET NOT NULL",
            EngineKind::Postgres,
        )
        .unwrap();
        assert!(c[0].1.is_err());
        assert_eq!(c[1].0, "ALTER COLUMN a SET NOT NULL");
        assert!(c[1].1.is_ok(), "{:?}", c[1].1);
        assert!(alter_table_clauses("ALTER TABLE", EngineKind::Postgres).is_none());
    }

    #[test]
    fn parallel_map_keeps_the_order() {
        let items: Vec<usize> = (0..10_000).collect();
        let doubled = map_in_order(&items, |x| x * 2);
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let few = map_in_order(&items[..3], |x| x + 1);
        assert_eq!(few, vec![1, 2, 3]);
    }

    #[test]
    fn texts_parsed_in_parallel_match_one_by_one() {
        let texts: Vec<String> = (0..200)
            .map(|i| {
                format!(
                    "ALTER TABLE t{i} ADD COLUMN c int;\nALTER TABLE t{i} FROBNICATE;\nCREATE INDEX i{i} ON t{i} (c);\n"
                )
            })
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let all = parse_texts(&texts, EngineKind::Postgres);
        assert!(all.iter().map(Vec::len).sum::<usize>() >= PARALLEL_FROM);
        for (f, parsed) in texts.iter().zip(&all) {
            let alone = parse_texts(&[f], EngineKind::Postgres);
            let show = |p: &[Parsed]| -> Vec<String> {
                p.iter()
                    .map(|x| format!("{:?} {:?}", x.chunk, x.result))
                    .collect()
            };
            assert_eq!(show(parsed), show(&alone[0]), "{f}");
            assert!(parsed[1].result.is_err());
        }
    }
}
