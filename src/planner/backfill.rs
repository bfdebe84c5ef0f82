//! The batched backfill loop a plan runs. Two mitigations live in the command, not in
//! prose: the loop is bounded by the primary key captured before it starts (old code may
//! keep writing rows that match the WHERE, so `WHERE x IS NULL` alone never ends), and,
//! where the engine has a numeric replica-lag query, each batch checks the lag and halves
//! the batch and pauses while it is above the limit.

use super::knowledge::Engine;

/// Pause and halve the batch while replica lag is above this many seconds.
pub const MAX_LAG_S: u32 = 10;
const MIN_BATCH: u64 = 100;
// Shell values spliced into the SQL after quoting (quoting would escape their `$`).
const BATCH: &str = "ROLLSAFE__BATCH";
const MAX: &str = "ROLLSAFE__MAX";

/// `query` turns SQL into a shell command printing its single value.
pub fn command(
    engine: &Engine,
    query: &dyn Fn(&str) -> String,
    table: &str,
    pk: &str,
    set: &str,
    where_: &str,
) -> (String, String) {
    let bounded = format!("({where_}) AND {pk} <= {MAX}");
    let sql = engine
        .backfill
        .replace("{set}", set)
        .replace("{where}", &bounded)
        .replace("{batch}", BATCH)
        .replace("{table}", table)
        .replace("{pk}", pk);
    let batch_cmd = query(&sql).replace(BATCH, "$batch").replace(MAX, "$max");
    let max_cmd = query(&format!("SELECT coalesce(max({pk}), 0) FROM {table}"));
    let numeric_lag = engine
        .lag_query
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("SELECT");
    let throttle = if numeric_lag {
        format!(
            "  lag=$({}) || lag=0\n  lag=$(printf '%s' \"$lag\" | tr -d '[:space:]')\n  if awk \"BEGIN {{ exit !(${{lag:-0}} > {MAX_LAG_S}) }}\"; then\n    batch=$((batch / 2)); [ \"$batch\" -lt {MIN_BATCH} ] && batch={MIN_BATCH}\n    echo \"replica lag $lag s > {MAX_LAG_S} s: batch now $batch, pausing 10 s\"; sleep 10\n  fi\n",
            query(&engine.lag_query)
        )
    } else {
        String::new()
    };
    let cmd = format!(
        "max=$({max_cmd}) || exit 1\nmax=$(printf '%s' \"$max\" | tr -d '[:space:]')\necho \"bounded to {pk} <= $max: the rows that exist now\"\nbatch={}\nwhile :; do\n  n=$({batch_cmd}) || exit 1\n  n=$(printf '%s' \"$n\" | tr -d '[:space:]')\n  echo \"batch: $n rows\"\n  [ \"${{n:-0}}\" -eq 0 ] && break\n{throttle}  sleep 0.2\ndone",
        engine.batch
    );
    let detail = format!(
        "Batches of {} rows, bounded to the {pk} values that exist when it starts (captured first): rows written later are the new release's to write, so the loop ends even while old code writes NULLs. Safe to stop and re-run. {}",
        super::plan::group(engine.batch),
        if numeric_lag {
            format!(
                "After each batch it reads replica lag and, above {MAX_LAG_S} s, halves the batch (down to {MIN_BATCH}) and pauses 10 s."
            )
        } else {
            format!(
                "No lag throttle in the loop on {}: its lag check ({}) is not a single number; watch it and stop the loop if replicas fall behind.",
                engine.name, engine.lag_query
            )
        }
    );
    (cmd, detail)
}
