//! Mitigations that act: each matched category changes commands or steps of the plan, so a past
//! incident shows up in what the operator runs, not only in prose. Pure functions over the
//! playbooks; `apply` is the one hook `plan` calls.

use regex::Regex;

use crate::planner::classify::IncidentMatch;
use crate::planner::knowledge::{Engine, Tool};
use crate::playbook::{Phase, Playbook, Step};

/// Every act a category may name in `assets/incidents.toml`.
pub const ACTS: [&str; 18] = [
    "lock-timeout",
    "online-build",
    "throttle-backfill",
    "no-down-path",
    "no-paid-undo",
    "old-code-smoke",
    "idempotent-non-tx",
    "restart-after-orm",
    "pooler-safe-timeouts",
    "repair-rehearsal",
    "time-restore",
    "verify-backup",
    "rehearse-rollback",
    "db-default",
    "single-runner",
    "cast-compare",
    "capacity-check",
    "target-guard",
];

/// What the acts need to know about the target.
pub struct Target<'a> {
    pub engine: &'a Engine,
    pub tool: &'a Tool,
}

impl Target<'_> {
    fn pg(&self) -> bool {
        self.engine.id == "postgres"
    }
    fn my(&self) -> bool {
        matches!(self.engine.id.as_str(), "mysql" | "mariadb")
    }
    /// The query command for PostgreSQL or MySQL/MariaDB, else `other` as it stands.
    fn query_by_engine(&self, pg: &str, my: &str, other: &str) -> String {
        if self.pg() {
            self.query(pg)
        } else if self.my() {
            self.query(my)
        } else {
            other.to_string()
        }
    }
    /// A query command for this engine, the same shape as the plan's own.
    fn query(&self, sql: &str) -> String {
        self.engine
            .query
            .replace(
                "{lock_timeout_ms}",
                &(self.engine.lock_timeout_s * 1000).to_string(),
            )
            .replace("{sql}", &sql.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Applies the act of every category matched by any incident, once each, in knowledge order.
pub fn apply(
    acts: &[(String, String)],
    t: &Target,
    main: &mut Playbook,
    rollback: &mut Playbook,
) -> Vec<String> {
    let mut done = Vec::new();
    for (cat, act) in acts {
        if done.contains(act) {
            continue;
        }
        act_on(act, cat, t, main, rollback);
        done.push(act.clone());
    }
    done
}

/// (category id, act) of every category the incidents matched, without repeats.
pub fn matched_acts(
    k: &crate::planner::knowledge::Knowledge,
    incidents: &[IncidentMatch],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for c in &k.categories {
        let hit = incidents
            .iter()
            .any(|m| m.categories.iter().any(|cm| cm.category == c.id));
        if hit {
            out.push((c.id.clone(), c.act.clone()));
        }
    }
    out
}

fn act_on(act: &str, cat: &str, t: &Target, main: &mut Playbook, rollback: &mut Playbook) {
    match act {
        "lock-timeout" => lock_timeout(cat, t, main),
        "online-build" => online_build(cat, t, main),
        "throttle-backfill" => throttle_backfill(t, main),
        "no-down-path" => {
            let why = "down migrations lost data before";
            strip_rollback(rollback, DOWN_FORMS, why);
            strip_rollback(main, DOWN_FORMS, why);
        }
        "no-paid-undo" => {
            let why = "the tool's undo was not available in the edition used";
            strip_rollback(rollback, UNDO_FORMS, why);
            strip_rollback(main, UNDO_FORMS, why);
        }
        "old-code-smoke" => set_command(
            main,
            cat,
            "${OLD_RELEASE_SMOKE_CMD:?set the command that runs release N smoke tests against staging}",
        ),
        "idempotent-non-tx" => idempotent(cat, t, main),
        "restart-after-orm" => set_command(
            main,
            cat,
            "# every app process must have started after the release that ignores the column\nps -eo pid,lstart,args | grep -E \"${APP_PROCESS_PATTERN:?set a pattern matching web, worker and cron processes}\" | grep -v grep",
        ),
        "pooler-safe-timeouts" => direct_connection(t, main),
        "repair-rehearsal" => {
            let repair = t.tool.repair.clone();
            set_command(
                main,
                cat,
                &format!(
                    "# leave staging in a failed state (kill the migration mid-step), then repair as the tool documents it:\n# {repair}\n${{REPAIR_CMD:?write the exact repair command for the version left dirty}}"
                ),
            );
        }
        "time-restore" => time_restore(cat, t, main),
        "verify-backup" => verify_backup(cat, t, main),
        "rehearse-rollback" => set_command(
            main,
            cat,
            "rollsafe rehearse \"${ROLLBACK_PLAYBOOK:?path of the exported rollback playbook}\" --json",
        ),
        "db-default" => db_default(cat, t, main),
        "single-runner" => single_runner(cat, t, main),
        "cast-compare" => cast_compare(t, main),
        "capacity-check" => capacity_check(cat, t, main),
        "target-guard" => target_guard(cat, t, main),
        _ => {}
    }
}

fn steps_mut(pb: &mut Playbook) -> impl Iterator<Item = &mut Step> {
    pb.phases.iter_mut().flat_map(|p| p.steps.iter_mut())
}

/// The category's mitigation step (`inc-<id>`), added to the first phase if the plan has none.
fn mitigation_step<'a>(pb: &'a mut Playbook, cat: &str) -> &'a mut Step {
    let id = format!("inc-{cat}");
    if !pb.steps().any(|(_, _, s)| s.id == id) {
        if pb.phases.is_empty() {
            pb.phases.push(Phase {
                id: "prepare".into(),
                title: "Prepare".into(),
                steps: Vec::new(),
            });
        }
        pb.phases[0].steps.push(Step {
            id: id.clone(),
            title: format!("Mitigation for past incidents ({cat})"),
            detail: String::new(),
            timebox: Some(std::time::Duration::from_secs(300)),
            role: Some("dba".into()),
            command: None,
            verify: None,
            rollback: None,
            point_of_no_return: false,
            on_fail: Default::default(),
            command_kind: Default::default(),
            expected_output: None,
        });
    }
    steps_mut(pb).find(|s| s.id == id).expect("added above")
}

fn set_command(pb: &mut Playbook, cat: &str, cmd: &str) {
    mitigation_step(pb, cat).command = Some(cmd.to_string());
}

fn first_table(pb: &Playbook) -> Option<String> {
    let re = Regex::new(r"(?i)\b(?:alter\s+table|create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?\S+\s+on)\s+(?:only\s+)?([A-Za-z_][\w.]*)").ok()?;
    pb.steps()
        .filter_map(|(_, _, s)| s.command.as_deref())
        .find_map(|c| re.captures(c).map(|m| m[1].to_string()))
}

fn lock_timeout(cat: &str, t: &Target, pb: &mut Playbook) {
    let table = first_table(pb).unwrap_or_else(|| "${TABLE:?set the table}".into());
    let cmd = if t.pg() {
        let hold = t.query(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS SHARE MODE; SELECT pg_sleep(30); COMMIT"
        ));
        let alter = t.query(&format!(
            "SET lock_timeout = '2s'; ALTER TABLE {table} ADD COLUMN rollsafe_probe int"
        ));
        let blockers = t.query("SELECT pid, now() - xact_start AS age, state, left(query, 60) FROM pg_stat_activity WHERE xact_start < now() - interval '1 minute' AND pid <> pg_backend_pid()");
        format!(
            "# staging only: a held lock must make the ALTER give up, not queue\n{blockers}\n{hold} &\nsleep 1\nstart=$(date +%s)\nif {alter} 2>err.txt; then echo 'ALTER did not wait: rehearsal invalid'; exit 1; fi\ngrep -q 'lock timeout' err.txt || {{ cat err.txt; exit 1; }}\n[ $(( $(date +%s) - start )) -le 5 ] || {{ echo 'the timeout took too long'; exit 1; }}\nwait\necho 'lock timeout fired; the blocker is released'"
        )
    } else if t.my() {
        let hold = t.query(&format!(
            "LOCK TABLES {table} READ; SELECT SLEEP(30); UNLOCK TABLES"
        ));
        let alter = t.query(&format!(
            "SET SESSION lock_wait_timeout = 2; ALTER TABLE {table} ADD COLUMN rollsafe_probe int"
        ));
        let blockers = t.query("SELECT trx_mysql_thread_id, trx_started FROM information_schema.innodb_trx WHERE trx_started < NOW() - INTERVAL 1 MINUTE");
        format!(
            "# staging only: a held metadata lock must make the ALTER give up, not queue\n{blockers}\n{hold} &\nsleep 1\nif {alter} 2>err.txt; then echo 'ALTER did not wait: rehearsal invalid'; exit 1; fi\ngrep -qi 'lock wait timeout' err.txt || {{ cat err.txt; exit 1; }}\nwait"
        )
    } else {
        "# hold a lock on the table from a second session, run the first DDL step, and confirm it fails with a lock timeout within seconds".into()
    };
    set_command(pb, cat, &cmd);
}

fn online_build(cat: &str, t: &Target, pb: &mut Playbook) {
    let re = Regex::new(r"(?i)\bcreate\s+(unique\s+)?index\s+(?:concurrently\s+)?").unwrap();
    let end = Regex::new(r#"(?i)(create\s+(?:unique\s+)?index\s+[^"]*?\))(\s*["';])"#).unwrap();
    // The window a build needs is its time on a production-sized copy, measured, not guessed.
    let first = pb
        .steps()
        .filter_map(|(_, _, s)| s.command.clone())
        .find(|c| re.is_match(c) || c.to_lowercase().contains("add index"));
    let check = if t.pg() {
        format!(
            "# during the build: it must not hold writes (phase, blocks done)
{}",
            t.query("SELECT phase, blocks_done, blocks_total FROM pg_stat_progress_create_index")
        )
    } else if let Some(c) = first {
        format!(
            "# on a production-sized staging copy: the time printed is the window this build needs
time {c}"
        )
    } else {
        "# time each index build on a production-sized staging copy; schedule it in a window longer than that".into()
    };
    set_command(pb, cat, &check);
    for s in steps_mut(pb) {
        let Some(c) = s.command.clone() else { continue };
        if !re.is_match(&c) {
            continue;
        }
        if t.pg() {
            let new = re
                .replace_all(&c, |m: &regex::Captures| {
                    format!(
                        "CREATE {}INDEX CONCURRENTLY ",
                        m.get(1).map_or("", |u| u.as_str()).to_uppercase()
                    )
                })
                .into_owned();
            s.command = Some(new);
        } else if t.my() {
            s.command = Some(
                end.replace_all(&c, "$1 ALGORITHM=INPLACE LOCK=NONE$2")
                    .into_owned(),
            );
        } else {
            s.detail.push_str("\n\nPast incident: an offline build blocked writes. This engine has no online form here: run this step in a maintenance window longer than its rehearsed time.");
        }
    }
}

fn throttle_backfill(t: &Target, pb: &mut Playbook) {
    // The planner's backfill loop (planner/backfill.rs) starts from `batch=N` and, where the
    // engine's lag query is one number, already halves and pauses on lag. A past incident of the
    // migration's own load halves the starting batch, and adds a lag pause where the loop has none.
    let start = Regex::new(r"(?m)^batch=(\d+)$").unwrap();
    let lag = if t.pg() {
        t.query(
            "SELECT COALESCE(max(EXTRACT(EPOCH FROM replay_lag)), 0)::int FROM pg_stat_replication",
        )
    } else {
        "${REPLICA_LAG_CMD:-echo 0}".into()
    };
    for s in steps_mut(pb) {
        let Some(c) = s.command.clone() else { continue };
        if !c.contains("batch: $n rows") {
            continue;
        }
        let mut changed = start
            .replace(&c, |m: &regex::Captures| {
                let n: u64 = m[1].parse().unwrap_or(1000);
                format!("batch={}", (n / 2).max(1))
            })
            .into_owned();
        if !changed.contains("replica lag") {
            changed = changed.replacen(
                "  sleep 0.2\n",
                &format!("  lag=$({lag})\n  while [ \"${{lag:-0}}\" -gt 10 ]; do echo \"replica lag ${{lag}}s: pausing\"; sleep 5; lag=$({lag}); done\n  sleep 0.5\n"),
                1,
            );
        }
        if changed == c {
            continue;
        }
        s.command = Some(changed);
        s.detail.push_str("\n\nPast incident (the migration's own load): the loop starts from half-size batches and pauses while replica lag is above 10 s.");
    }
}

/// Command forms that run a migration tool's down/undo.
const DOWN_FORMS: &str = r"(?i)(flyway\s+undo|\bmigrate\b[^\n]*\sdown\b|\bdowngrade\b|db:rollback|migrate:rollback|migrate:down|rollback-count|rollbackcount|\.down\.sql|\bundo\b[^\n]*\bU\d)";
const UNDO_FORMS: &str = r"(?i)(flyway\s+undo|\bundo\s+-|\bU\d+__)";

/// Takes tool-driven down/undo commands out of the rollback path, and tells every lossy step's
/// rollback note that its way back is the backup or a roll forward.
fn strip_rollback(pb: &mut Playbook, forms: &str, why: &str) {
    let re = Regex::new(forms).unwrap();
    for s in steps_mut(pb) {
        if let Some(c) = &s.command
            && re.is_match(c)
        {
            s.detail.push_str(&format!(
                "\n\nRemoved from the rollback path ({why}): `{c}`. Roll back by restore or roll forward."
            ));
            s.command = None;
        }
        if let Some(note) = &s.rollback {
            if re.is_match(note) {
                s.rollback = Some(format!(
                    "Not a rollback path ({why}): restore the pre-change backup or roll forward. Was: {note}"
                ));
            } else if note.starts_with("[lossy]") {
                s.rollback = Some(format!(
                    "{note}. Not through the tool's down/undo ({why}): restore the pre-change backup or roll forward."
                ));
            }
        }
    }
}

fn idempotent(cat: &str, t: &Target, pb: &mut Playbook) {
    let idx = Regex::new(
        r"(?i)\b(create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?)(if\s+not\s+exists\s+)?",
    )
    .unwrap();
    let col = Regex::new(r"(?i)\b(add\s+column\s+)(if\s+not\s+exists\s+)?").unwrap();
    for s in steps_mut(pb) {
        let Some(c) = s.command.clone() else { continue };
        let c = idx.replace_all(&c, "${1}IF NOT EXISTS ").into_owned();
        let c = if t.pg() {
            col.replace_all(&c, "${1}IF NOT EXISTS ").into_owned()
        } else {
            c
        };
        s.command = Some(c);
    }
    if t.pg() {
        let q = t.query("SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid");
        set_command(
            pb,
            cat,
            &format!(
                "# an INVALID index left by a failed concurrent build must be dropped before the retry\ninvalid=$({q})\n[ -z \"$invalid\" ] || {{ echo \"INVALID: $invalid (DROP INDEX CONCURRENTLY it)\"; exit 1; }}"
            ),
        );
    }
}

fn direct_connection(t: &Target, pb: &mut Playbook) {
    for s in steps_mut(pb) {
        if let Some(c) = &s.command
            && t.pg()
            && c.contains("${DATABASE_URL}")
            && (c.contains("lock_timeout") || c.contains("statement_timeout"))
        {
            s.command = Some(c.replace(
                "${DATABASE_URL}",
                "${DIRECT_DATABASE_URL:?set a direct URL, not through the pooler: SET is lost under transaction pooling}",
            ));
        }
    }
}

fn time_restore(cat: &str, t: &Target, pb: &mut Playbook) {
    let cmd = if t.pg() {
        "time pg_restore --no-owner -d \"${SCRATCH_DATABASE_URL:?set a scratch database}\" \"${BACKUP_FILE:?set the latest backup}\"".to_string()
    } else if t.my() {
        format!(
            "time {} < \"${{BACKUP_FILE:?set the latest backup}}\"",
            t.engine.id
        )
    } else {
        "time ${RESTORE_CMD:?set the restore command of the latest backup into a scratch instance}"
            .into()
    };
    set_command(pb, cat, &cmd);
}

fn verify_backup(cat: &str, t: &Target, pb: &mut Playbook) {
    let cmd = if t.pg() {
        "pg_dump -Fc \"${DATABASE_URL}\" -f \"${BACKUP_FILE:?set where the pre-change backup goes}\"\npg_restore --list \"${BACKUP_FILE}\" | grep -q 'TABLE DATA' || { echo 'backup has no table data'; exit 1; }".to_string()
    } else if t.my() {
        format!(
            "{}-dump --defaults-extra-file=\"${{MYSQL_CNF}}\" --single-transaction \"${{DB_NAME}}\" > \"${{BACKUP_FILE:?set where the pre-change backup goes}}\"\ngrep -q 'INSERT INTO' \"${{BACKUP_FILE}}\" || {{ echo 'backup has no rows'; exit 1; }}",
            t.engine.id
        )
    } else {
        "${BACKUP_CMD:?set the backup command} && ${BACKUP_LIST_CMD:?set a command that lists the backup's contents}".into()
    };
    set_command(pb, cat, &cmd);
}

fn db_default(cat: &str, t: &Target, pb: &mut Playbook) {
    // Whatever the statements say, prove no NOT NULL column of the table lacks a database default.
    if let Some(table) = first_table(pb).filter(|_| t.pg() || t.my()) {
        let bare = table.rsplit('.').next().unwrap_or(&table).to_string();
        let q = t.query(&format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = '{bare}' AND is_nullable = 'NO' AND column_default IS NULL AND column_name NOT IN (SELECT column_name FROM information_schema.key_column_usage WHERE table_name = '{bare}')"
        ));
        set_command(
            pb,
            cat,
            &format!(
                "# after the expand step: a NOT NULL column without a database default breaks inserts from release N\nn=$({q})\n[ \"${{n:-0}}\" -eq 0 ] || {{ echo \"$n NOT NULL columns of {bare} have no database default\"; exit 1; }}"
            ),
        );
    }
    let re = Regex::new(r#"(?i)(add\s+column\s+[^,;"]*?)\s+not\s+null([^,;"]*)"#).unwrap();
    for s in steps_mut(pb) {
        let Some(c) = s.command.clone() else { continue };
        let mut changed = false;
        let new = re
            .replace_all(&c, |m: &regex::Captures| {
                if m[0].to_lowercase().contains("default") {
                    m[0].to_string()
                } else {
                    changed = true;
                    format!("{}{}", &m[1], &m[2])
                }
            })
            .into_owned();
        if changed {
            s.command = Some(new);
            s.detail.push_str("\n\nPast incident (NOT NULL without a database default): the column is added nullable; set NOT NULL only after every writer fills it, or give it a database DEFAULT.");
        }
    }
}

fn single_runner(cat: &str, t: &Target, pb: &mut Playbook) {
    let q = t.query_by_engine(
        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (query ILIKE '%schema_migrations%' OR query ILIKE '%flyway_schema_history%' OR query ILIKE '%ALTER TABLE%')",
        "SELECT count(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND (info LIKE '%schema_migrations%' OR info LIKE '%ALTER TABLE%')",
        // No catalog query here for this engine: the operator names one, never a check that
        // always passes.
        "${MIGRATION_SESSIONS_CMD:?set a command that prints how many other migration sessions run}",
    );
    set_command(
        pb,
        cat,
        &format!(
            "# migrate-on-boot is off for this release; no other migration session may be running\nn=$({q})\n[ \"${{n:-0}}\" -eq 0 ] || {{ echo \"$n other migration sessions\"; exit 1; }}"
        ),
    );
}

fn cast_compare(t: &Target, pb: &mut Playbook) {
    let re = Regex::new(r#"(?i)alter\s+table\s+(?:only\s+)?([\w.]+)\s+alter\s+column\s+(\w+)\s+(?:set\s+data\s+)?type\s+([\w() ,]+?)(?:\s+using|[;"]|$)"#).unwrap();
    let mut found: Vec<(String, String, String)> = Vec::new();
    for (_, _, s) in pb.steps() {
        if let Some(c) = &s.command {
            for m in re.captures_iter(c) {
                found.push((m[1].to_string(), m[2].to_string(), m[3].trim().to_string()));
            }
        }
    }
    let upd =
        Regex::new(r"(?i)update\s+([\w.]+)\s+\w*\s*set\s+\w+\s*=\s*(\w+)::([\w()]+)").unwrap();
    for (_, _, s) in pb.steps() {
        if let Some(c) = &s.command {
            for m in upd.captures_iter(c) {
                found.push((m[1].to_string(), m[2].to_string(), m[3].to_string()));
            }
        }
    }
    for (table, col, ty) in found {
        let q = t.query(&format!(
            "SELECT count(*) FROM {table} WHERE {col}::text IS DISTINCT FROM ({col}::{ty})::text"
        ));
        set_command(
            pb,
            "type-change-loss",
            &format!(
                "# rows whose {col} would not survive the cast to {ty}\nn=$({q})\n[ \"${{n:-0}}\" -eq 0 ] || {{ echo \"$n rows change under the cast\"; exit 1; }}"
            ),
        );
    }
}

fn capacity_check(cat: &str, t: &Target, pb: &mut Playbook) {
    let cmd = if t.pg() {
        let seq = t.query("SELECT sequencename, round(100.0 * last_value / max_value) AS pct FROM pg_sequences WHERE last_value IS NOT NULL ORDER BY pct DESC LIMIT 5");
        let xid = t.query("SELECT max(age(datfrozenxid)) FROM pg_database");
        format!(
            "{seq}\nage=$({xid})\n[ \"$age\" -lt 1000000000 ] || {{ echo \"transaction ID age $age: vacuum before the change\"; exit 1; }}"
        )
    } else if t.my() {
        t.query("SELECT table_name, auto_increment FROM information_schema.tables WHERE table_schema = DATABASE() AND auto_increment IS NOT NULL ORDER BY auto_increment DESC LIMIT 5")
    } else {
        "${KEY_HEADROOM_CMD:?set a query comparing max(id) of the tables touched with their type's maximum}".into()
    };
    set_command(pb, cat, &cmd);
}

fn target_guard(cat: &str, t: &Target, pb: &mut Playbook) {
    let q = t.query_by_engine(
        "SELECT current_database() || '@' || coalesce(host(inet_server_addr()), 'local')",
        "SELECT CONCAT(DATABASE(), '@', @@hostname)",
        "echo \"${SQLITE_DB:-unknown}\"",
    );
    set_command(
        pb,
        cat,
        &format!(
            "got=$({q})\n[ \"$got\" = \"${{EXPECTED_TARGET:?set database@host of the intended target}}\" ] || {{ echo \"connected to $got, not the intended target\"; exit 1; }}"
        ),
    );
}
