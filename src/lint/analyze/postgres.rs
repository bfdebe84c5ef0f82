//! PostgreSQL: ALTER TABLE operations, lock levels, table rewrites and binary-compatible types.

use super::*;

/// Is the expression `col IS NOT NULL`? Returns the column.
fn is_not_null_check(expr: &Expr) -> Option<String> {
    match expr {
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(i) => Some(ident(i)),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident),
            _ => None,
        },
        Expr::Nested(inner) => is_not_null_check(inner),
        _ => None,
    }
}

/// PostgreSQL: does this ALTER TABLE operation take ACCESS EXCLUSIVE? The lighter ones are listed
/// in the ALTER TABLE reference (Description): VALIDATE CONSTRAINT and SET (storage parameters)
/// take SHARE UPDATE EXCLUSIVE, ADD FOREIGN KEY and ENABLE/DISABLE TRIGGER SHARE ROW EXCLUSIVE,
/// ATTACH PARTITION and DETACH PARTITION CONCURRENTLY SHARE UPDATE EXCLUSIVE on the parent.
fn takes_access_exclusive(op: &AlterTableOperation) -> bool {
    !matches!(
        op,
        AlterTableOperation::ValidateConstraint { .. }
            | AlterTableOperation::AddConstraint {
                constraint: TableConstraint::ForeignKey(_),
                ..
            }
            | AlterTableOperation::EnableTrigger { .. }
            | AlterTableOperation::DisableTrigger { .. }
            | AlterTableOperation::EnableAlwaysTrigger { .. }
            | AlterTableOperation::EnableReplicaTrigger { .. }
            | AlterTableOperation::SetOptionsParens { .. }
            | AlterTableOperation::ResetOptions { .. }
            | AlterTableOperation::AttachPartitionOf { .. }
            | AlterTableOperation::DetachPartitionOf {
                mode: Some(DetachPartitionMode::Concurrently),
                ..
            }
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Compat {
    Yes,
    No,
    Unknown,
}

/// PostgreSQL: does `old → new` skip the rewrite? (strong_migrations postgresql_adapter.rb;
/// django-pg-zero-downtime README)
fn binary_compatible(old: Option<&str>, new: &str) -> Compat {
    let (nb, na) = type_parts(new);
    let Some(old) = old else {
        // Only these targets can be rewrite-free, depending on the current type.
        return if matches!(
            nb.as_str(),
            "varchar" | "text" | "numeric" | "inet" | "citext"
        ) {
            Compat::Unknown
        } else {
            Compat::No
        };
    };
    let (ob, oa) = type_parts(old);
    let ok = match (ob.as_str(), nb.as_str()) {
        // The type it already has: PostgreSQL has nothing to convert and rewrites nothing.
        (a, b) if a == b && oa == na => true,
        ("varchar", "varchar") => na.is_empty() || (!oa.is_empty() && na[0] >= oa[0]),
        ("varchar", "text") | ("text", "text") | ("citext", "text") | ("text", "citext") => true,
        ("text", "varchar") => na.is_empty(),
        ("numeric", "numeric") => {
            na.is_empty()
                || (oa.len() == na.len()
                    && !oa.is_empty()
                    && na[0] >= oa[0]
                    && oa.get(1) == na.get(1))
        }
        ("cidr", "inet") => true,
        (a, b) if a == b && matches!(a, "timestamp" | "timestamptz" | "time" | "interval") => {
            na.is_empty() || (!oa.is_empty() && na[0] >= oa[0])
        }
        _ => false,
    };
    if ok { Compat::Yes } else { Compat::No }
}

/// Words that take parentheses in SQL's grammar without being functions in pg_proc, and type
/// names (a cast's target, `varchar(10)`).
const NOT_FUNCTIONS: [&str; 32] = [
    "cast",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "row",
    "array",
    "exists",
    "in",
    "any",
    "all",
    "some",
    "extract",
    "position",
    "substring",
    "trim",
    "overlay",
    "values",
    "not",
    "and",
    "or",
    "filter",
    "over",
    "current_timestamp",
    "current_time",
    "localtime",
    "localtimestamp",
    "interval",
    "varchar",
    "char",
    "numeric",
    "decimal",
];

/// Functions called in an expression's text: (schema, name), lower case, in order. String
/// literals are skipped, and so are casts' target types (`::varchar(10)`, `AS numeric(10,2)`).
fn called_functions(text: &str) -> Vec<(Option<String>, String)> {
    // Blank out quoted literals so `'f(x)'` is not a call.
    let mut plain = String::with_capacity(text.len());
    let mut in_quote = false;
    for c in text.chars() {
        if c == '\'' {
            in_quote = !in_quote;
            plain.push(' ');
        } else {
            plain.push(if in_quote { ' ' } else { c });
        }
    }
    let call = regex::Regex::new(
        r#"(?i)(::\s*|\bAS\s+)?((?:"?[a-z_][a-z0-9_$]*"?\s*\.\s*)?"?[a-z_][a-z0-9_$]*"?)\s*\("#,
    )
    .expect("static regex");
    call.captures_iter(&plain)
        .filter(|c| c.get(1).is_none())
        .filter_map(|c| {
            let full = c[2].to_ascii_lowercase().replace(['"', ' '], "");
            let (schema, name) = match full.rsplit_once('.') {
                Some((s, n)) => (Some(s.to_string()), n.to_string()),
                None => (None, full),
            };
            (!NOT_FUNCTIONS.contains(&name.as_str())).then_some((schema, name))
        })
        .collect()
}

impl Context<'_> {
    /// The first function a DEFAULT calls that is evaluated per row, and why: a volatile
    /// built-in (pg_proc, or an extension's listed in lint_rules.toml), a function created
    /// earlier in the run (or its history) without IMMUTABLE or STABLE, or a function that is
    /// neither a built-in nor created earlier, since PostgreSQL's default volatility is
    /// VOLATILE (docs, CREATE FUNCTION).
    fn volatile_default(&self, expr: &Expr) -> Option<String> {
        let builtin = &self.cat.pg_functions;
        for (schema, name) in called_functions(&expr.to_string()) {
            if let Some(&volatile) = self.functions.get(&name) {
                if volatile {
                    return Some(format!(
                        "{name}() was created without IMMUTABLE or STABLE, so it is VOLATILE and every row is rewritten"
                    ));
                }
                continue;
            }
            let system = schema.as_deref().is_none_or(|s| s == "pg_catalog");
            if system
                && (builtin.volatile.contains(&name)
                    || self.cat.postgres.volatile_functions.contains(&name))
            {
                return Some(format!("{name}() is volatile, so every row is rewritten"));
            }
            if system && builtin.non_volatile.contains(&name) {
                continue;
            }
            return Some(format!(
                "{name}() is neither a PostgreSQL built-in nor created earlier in the files, and a function is VOLATILE unless declared IMMUTABLE or STABLE: every row is likely rewritten"
            ));
        }
        None
    }

    pub(super) fn alter_pg(&mut self, stmt: &mut Stmt<'_>, t: &str, ops: &[AlterTableOperation]) {
        let only_validate = ops
            .iter()
            .all(|o| matches!(o, AlterTableOperation::ValidateConstraint { .. }));
        if !only_validate {
            let at = stmt.start;
            self.lock_timeout(stmt, Some(t), at);
        }
        if ops.iter().any(takes_access_exclusive) {
            let at = stmt.start;
            self.access_exclusive(stmt, Some(t), at);
        }
        // Constraints added in this run (e.g. the CHECK helper of the SET NOT NULL recipe) can be
        // dropped again without a finding.
        for w in stmt.words.windows(3) {
            if w[0].upper == "ADD" && w[1].upper == "CONSTRAINT" {
                let name = bare(&stmt.text[w[2].offset..w[2].offset + w[2].upper.len()]);
                self.new_constraints.insert(name);
            }
        }
        for op in ops {
            match op {
                AlterTableOperation::DetachPartitionOf { partition, mode } => {
                    if matches!(mode, Some(DetachPartitionMode::Concurrently)) {
                        self.concurrently_in_tx(stmt, "DETACH PARTITION … CONCURRENTLY");
                    } else {
                        let at = stmt.at("DETACH");
                        self.emit(stmt, "pg-detach-partition-non-concurrent", Some(t), at, format!("DETACH PARTITION {} from {t} without CONCURRENTLY takes ACCESS EXCLUSIVE on {t}", table_name(partition)), None);
                    }
                }
                AlterTableOperation::AddColumn { column_def, .. } => {
                    let at = stmt.at("ADD");
                    self.col_types.insert(
                        (t.to_string(), ident(&column_def.name)),
                        column_def.data_type.to_string().to_ascii_lowercase(),
                    );
                    self.add_column_pg(stmt, t, column_def, at);
                }
                AlterTableOperation::AddConstraint {
                    constraint,
                    not_valid,
                } => {
                    let at = stmt.at("ADD");
                    match constraint {
                        TableConstraint::ForeignKey(fk) if !not_valid => {
                            let refd = table_name(&fk.foreign_table);
                            self.emit(stmt, "pg-add-foreign-key-validating", Some(t), at, format!("ADD FOREIGN KEY on {t} → {refd} without NOT VALID checks every row while blocking writes on both tables"), None);
                        }
                        TableConstraint::Check(ck) => {
                            let nn = is_not_null_check(&ck.expr);
                            if *not_valid {
                                if let (Some(name), Some(col)) = (&ck.name, nn) {
                                    self.not_null_checks
                                        .insert(ident(name), (t.to_string(), col));
                                }
                            } else {
                                if let Some(col) = nn {
                                    self.validated_not_null.insert((t.to_string(), col));
                                }
                                self.emit(stmt, "pg-add-check-validating", Some(t), at, format!("ADD CHECK on {t} without NOT VALID scans the table under ACCESS EXCLUSIVE"), None);
                            }
                        }
                        TableConstraint::Unique(_) => {
                            self.emit(
                                stmt,
                                "pg-add-unique-in-place",
                                Some(t),
                                at,
                                format!(
                                    "ADD UNIQUE on {t} builds its index under ACCESS EXCLUSIVE"
                                ),
                                None,
                            );
                        }
                        TableConstraint::PrimaryKey(_) => {
                            self.emit(
                                stmt,
                                "pg-add-unique-in-place",
                                Some(t),
                                at,
                                format!(
                                    "ADD PRIMARY KEY on {t} builds its index under ACCESS EXCLUSIVE"
                                ),
                                None,
                            );
                        }
                        _ => {}
                    }
                }
                AlterTableOperation::ValidateConstraint { name } => {
                    stmt.at("VALIDATE");
                    if let Some(tc) = self.not_null_checks.get(&ident(name)) {
                        self.validated_not_null.insert(tc.clone());
                    }
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    let at = stmt.at("ALTER");
                    let col = ident(column_name);
                    match op {
                        AlterColumnOperation::DropNotNull => {
                            self.not_null.remove(&(t.to_string(), col.clone()));
                            self.emit(stmt, "pg-drop-not-null", Some(t), at, format!("DROP NOT NULL on {t}.{col}: readers that rely on it start seeing NULLs"), None);
                        }
                        AlterColumnOperation::DropDefault => {
                            let before = self.findings.len();
                            self.emit(stmt, "pg-drop-default", Some(t), at, format!("DROP DEFAULT on {t}.{col}: the running release's INSERTs that leave {col} out store NULL, or fail if it is NOT NULL"), None);
                            if self.findings.len() > before && self.in_tx() {
                                self.file
                                    .dropped_defaults
                                    .insert((t.to_string(), col.clone()), before);
                            }
                        }
                        // Back before COMMIT: no other session saw the column without one.
                        AlterColumnOperation::SetDefault { .. } => {
                            if let Some(i) = self
                                .file
                                .dropped_defaults
                                .remove(&(t.to_string(), col.clone()))
                            {
                                self.retracted.insert(i);
                            }
                        }
                        AlterColumnOperation::SetNotNull => {
                            // Already NOT NULL (from the files read before): PostgreSQL has
                            // nothing to check and scans nothing.
                            let already = !self.not_null.insert((t.to_string(), col.clone()));
                            let proven = already
                                || self.opts.engine.at_least(12, 0, 0)
                                    && self
                                        .validated_not_null
                                        .contains(&(t.to_string(), col.clone()));
                            if !proven {
                                let extra = if self.opts.engine.at_least(18, 0, 0) {
                                    Some("on PostgreSQL 18: ADD CONSTRAINT … NOT NULL col NOT VALID, then VALIDATE CONSTRAINT".to_string())
                                } else if !self.opts.engine.at_least(12, 0, 0) {
                                    Some("before PostgreSQL 12 even a validated CHECK does not spare the scan: keep the CHECK constraint instead of NOT NULL, or upgrade".to_string())
                                } else {
                                    None
                                };
                                self.emit(stmt, "pg-set-not-null", Some(t), at, format!("SET NOT NULL on {t}.{col} scans the table under ACCESS EXCLUSIVE (no validated CHECK ({col} IS NOT NULL) seen before it)"), extra);
                            }
                        }
                        AlterColumnOperation::SetDataType {
                            data_type, using, ..
                        } => {
                            let new = data_type.to_string().to_ascii_lowercase();
                            let old = self.col_types.get(&(t.to_string(), col.clone())).cloned();
                            // USING computes every row again: never assumed free.
                            let compat = match binary_compatible(old.as_deref(), &new) {
                                Compat::Yes if using.is_some() => Compat::No,
                                c => c,
                            };
                            match compat {
                                Compat::Yes => {}
                                Compat::Unknown => {
                                    let before = self.findings.len();
                                    self.emit(stmt, "pg-alter-column-type-rewrite", Some(t), at, format!("ALTER COLUMN {t}.{col} TYPE {new}: no rewrite only if the current type is a shorter varchar/text (or numeric of the same scale); rollsafe does not know the current type"), None);
                                    if let Some(f) = self.findings.get_mut(before) {
                                        f.severity = Severity::Info;
                                    }
                                }
                                Compat::No => {
                                    let from =
                                        old.map(|o| format!(" from {o}")).unwrap_or_default();
                                    self.emit(stmt, "pg-alter-column-type-rewrite", Some(t), at, format!("ALTER COLUMN {t}.{col} TYPE {new}{from} rewrites the table and its indexes"), None);
                                }
                            }
                            self.col_types.insert((t.to_string(), col), new);
                        }
                        _ => {}
                    }
                }
                AlterTableOperation::DropColumn { column_names, .. } => {
                    self.drop_columns(stmt, t, column_names);
                }
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    self.rename_column(stmt, t, old_column_name, new_column_name);
                }
                AlterTableOperation::RenameTable { table_name: to } => {
                    let new = self.rename_table(stmt, t, to);
                    if self.new_tables.remove(t) {
                        self.new_tables.insert(new);
                    }
                }
                AlterTableOperation::DropConstraint { name, .. } => {
                    let at = stmt.at("DROP");
                    let c = ident(name);
                    if !self.new_constraints.contains(&c) {
                        self.emit(stmt, "drop-constraint", Some(t), at, format!("DROP CONSTRAINT {c} on {t}: putting it back later depends on the rows written meanwhile"), None);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_column_pg(&mut self, stmt: &mut Stmt<'_>, t: &str, c: &ColumnDef, at: usize) {
        let col = ident(&c.name);
        let ty = c.data_type.to_string().to_ascii_lowercase();
        self.col_types
            .insert((t.to_string(), col.clone()), ty.clone());
        let mut default = None;
        let mut not_null = false;
        let mut generated_stored = false;
        let mut identity = false;
        for o in &c.options {
            match &o.option {
                ColumnOption::Default(e) => default = Some(e),
                ColumnOption::NotNull => not_null = true,
                ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_) => {
                    self.emit(stmt, "pg-add-unique-in-place", Some(t), at, format!("ADD COLUMN {t}.{col} with an inline PRIMARY KEY/UNIQUE builds its index under ACCESS EXCLUSIVE"), None);
                }
                ColumnOption::ForeignKey(_) => {
                    self.emit(stmt, "pg-add-foreign-key-validating", Some(t), at, format!("ADD COLUMN {t}.{col} REFERENCES … validates at once (an inline reference cannot be NOT VALID)"), Some("add the column without REFERENCES, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID".into()));
                }
                ColumnOption::Generated {
                    generation_expr: Some(_),
                    ..
                } => generated_stored = true,
                ColumnOption::Generated { .. } | ColumnOption::Identity(_) => identity = true,
                _ => {}
            }
        }
        if not_null {
            self.not_null.insert((t.to_string(), col.clone()));
        }
        let serial = matches!(
            ty.as_str(),
            "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
        );
        if generated_stored || serial || identity {
            let what = if generated_stored {
                "a stored generated column"
            } else if serial {
                "a serial column (nextval() default)"
            } else {
                "an identity column"
            };
            self.emit(
                stmt,
                "pg-add-column-volatile-default",
                Some(t),
                at,
                format!("ADD COLUMN {t}.{col} as {what} fills every row: full table rewrite"),
                None,
            );
            return;
        }
        if let Some(e) = default {
            if let Some(why) = self.volatile_default(e) {
                self.emit(
                    stmt,
                    "pg-add-column-volatile-default",
                    Some(t),
                    at,
                    format!("ADD COLUMN {t}.{col} DEFAULT {e}: {why}"),
                    None,
                );
            } else {
                self.emit(
                    stmt,
                    "pg-add-column-default-rewrite",
                    Some(t),
                    at,
                    format!(
                        "ADD COLUMN {t}.{col} DEFAULT {e} rewrites the table before PostgreSQL 11"
                    ),
                    None,
                );
            }
        } else if not_null {
            self.emit(
                stmt,
                "pg-add-column-not-null-no-default",
                Some(t),
                at,
                format!("ADD COLUMN {t}.{col} NOT NULL without DEFAULT fails on a table with rows"),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_compatible_types() {
        assert_eq!(
            binary_compatible(Some("varchar(20)"), "varchar(40)"),
            Compat::Yes
        );
        assert_eq!(
            binary_compatible(Some("varchar(40)"), "varchar(20)"),
            Compat::No
        );
        assert_eq!(
            binary_compatible(Some("character varying(20)"), "text"),
            Compat::Yes
        );
        assert_eq!(
            binary_compatible(Some("numeric(10,2)"), "numeric(12,2)"),
            Compat::Yes
        );
        assert_eq!(
            binary_compatible(Some("numeric(10,2)"), "numeric(12,3)"),
            Compat::No
        );
        assert_eq!(binary_compatible(Some("integer"), "bigint"), Compat::No);
        // Same type, however it is spelled: no rewrite.
        assert_eq!(binary_compatible(Some("jsonb"), "jsonb"), Compat::Yes);
        assert_eq!(binary_compatible(Some("int4"), "integer"), Compat::Yes);
        assert_eq!(binary_compatible(Some("int8"), "bigint"), Compat::Yes);
        assert_eq!(binary_compatible(Some("jsonb"), "json"), Compat::No);
        assert_eq!(binary_compatible(None, "bigint"), Compat::No);
        assert_eq!(binary_compatible(None, "text"), Compat::Unknown);
    }

    #[test]
    fn functions_called_in_a_default() {
        let f = |t: &str| {
            called_functions(t)
                .into_iter()
                .map(|(s, n)| match s {
                    Some(s) => format!("{s}.{n}"),
                    None => n,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(f("gen_code()"), vec!["gen_code"]);
        assert_eq!(f("auth.\"Uid\"()"), vec!["auth.uid"]);
        assert_eq!(
            f("COALESCE(lower('F(x)'), md5(now()::TEXT))::VARCHAR(10)"),
            vec!["lower", "md5", "now"]
        );
        assert_eq!(f("CAST(x AS NUMERIC(10,2))"), Vec::<String>::new());
        assert_eq!(f("'a(b)'"), Vec::<String>::new());
    }
}
