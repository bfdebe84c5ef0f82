//! `${NAME}` variables in step commands.
//!
//! Only the braced form is ours: bare `$NAME`, `$1`, `$(...)` and shell
//! expansions such as `${NAME:-x}` are left for `sh`, which runs the command.
//! `$${` is written to get a literal `${` past rollsafe (the shell then sees
//! `${`). Text is scanned left to right.
//!
//! [`substitute`] puts values in verbatim, for prose; commands that run go
//! through [`super::shell::substitute_quoted`], which quotes each value for
//! its place in the shell text so that a value is never read as code.

use std::collections::BTreeMap;
use std::fmt;

use super::model::{Playbook, ProbeSpec};

/// Where a variable's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VarSource {
    /// `--var NAME=VALUE` on the command line.
    Override,
    /// The process environment.
    Environment,
    /// The default declared in the playbook.
    Default,
}

impl VarSource {
    pub fn label(self) -> &'static str {
        match self {
            VarSource::Override => "--var",
            VarSource::Environment => "environment",
            VarSource::Default => "default",
        }
    }
}

/// Resolved variable values, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    pub values: BTreeMap<String, (String, VarSource)>,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(value, _)| value.as_str())
    }

    /// `(name, value)` pairs for a command's environment, so a command can
    /// also read `$NAME` itself.
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(name, (value, _))| (name.clone(), value.clone()))
            .collect()
    }
}

/// A variable's value as it may be shown or logged: whole values of names
/// that say they are secret (PASSWORD, PWD, SECRET, TOKEN, KEY) are masked, and
/// so is the password in a URL's `user:password@`. Commands still get the
/// real value.
pub fn shown_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        return MASK.to_string();
    }
    match url_password(value) {
        Some((start, end)) => format!("{}{MASK}{}", &value[..start], &value[end..]),
        None => value.to_string(),
    }
}

/// What stands in for a secret wherever it is shown or logged.
pub const MASK: &str = "********";

/// Shorter secret values are not masked inside other text: masking every
/// "abc" in a command's output would hide more than it protects.
const MASK_MIN_LEN: usize = 4;

pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "PWD", "SECRET", "TOKEN", "KEY"]
        .iter()
        .any(|word| upper.contains(word))
}

/// Byte range of the password in a URL's `scheme://user:password@host`.
fn url_password(value: &str) -> Option<(usize, usize)> {
    let scheme_end = value.find("://")?;
    let rest = &value[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((scheme_end + 3 + colon + 1, scheme_end + 3 + at))
}

/// The secret values among `vars` (whole values of secret names, passwords
/// inside URLs), longest first, for [`mask_secrets`].
pub fn secret_values(vars: &Vars) -> Vec<String> {
    let mut out: Vec<String> = vars
        .values
        .iter()
        .filter_map(|(name, (value, _))| {
            if is_secret_name(name) {
                Some(value.clone())
            } else {
                url_password(value).map(|(start, end)| value[start..end].to_string())
            }
        })
        .filter(|v| v.len() >= MASK_MIN_LEN)
        .collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// `text` with every occurrence of each secret replaced by the mask: what
/// the log may keep of a command or its output.
pub fn mask_secrets(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// A variable some step uses but that has no value anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    pub name: String,
    /// Ids of the steps whose command or verification uses it, in order.
    pub step_ids: Vec<String>,
}

impl fmt::Display for MissingVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "variable ${{{name}}} has no value (used by steps {steps}); set it with --var {name}=VALUE or the environment",
            name = self.name,
            steps = self.step_ids.join(", "),
        )
    }
}

impl std::error::Error for MissingVar {}

/// Values for every variable the playbook declares or uses: `--var`
/// overrides win, then the environment (read through `env`), then the
/// declared default. A declared variable with no value that no step uses is
/// left out without error; overrides for names the playbook neither declares
/// nor uses are ignored. Missing variables come in order of first use.
pub fn resolve(
    playbook: &Playbook,
    overrides: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vars, Vec<MissingVar>> {
    // Used names in order of first use, with the steps using each.
    let mut uses: Vec<(String, Vec<String>)> = Vec::new();
    for (_, _, step) in playbook.steps() {
        let texts = step
            .command
            .iter()
            .chain(step.verify.as_ref().map(|v| &v.command));
        for text in texts {
            for name in used_names(text) {
                let entry = match uses.iter().position(|(n, _)| *n == name) {
                    Some(i) => &mut uses[i],
                    None => {
                        uses.push((name, Vec::new()));
                        uses.last_mut().expect("just pushed")
                    }
                };
                if !entry.1.contains(&step.id) {
                    entry.1.push(step.id.clone());
                }
            }
        }
    }

    // The probe runs alongside every step; its uses are listed as "probe".
    if let Some(probe) = &playbook.probe {
        for text in [&probe.url, &probe.statement] {
            for name in used_names(text) {
                match uses.iter().position(|(n, _)| *n == name) {
                    Some(i) if !uses[i].1.iter().any(|s| s == "probe") => {
                        uses[i].1.push("probe".into())
                    }
                    Some(_) => {}
                    None => uses.push((name, vec!["probe".into()])),
                }
            }
        }
    }

    let lookup = |name: &str| -> Option<(String, VarSource)> {
        if let Some(value) = overrides.get(name) {
            return Some((value.clone(), VarSource::Override));
        }
        if let Some(value) = env(name) {
            return Some((value, VarSource::Environment));
        }
        playbook
            .variables
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.default.clone())
            .map(|value| (value, VarSource::Default))
    };

    let mut vars = Vars::default();
    for variable in &playbook.variables {
        if let Some(found) = lookup(&variable.name) {
            vars.values.insert(variable.name.clone(), found);
        }
    }
    let mut missing = Vec::new();
    for (name, step_ids) in uses {
        if vars.values.contains_key(&name) {
            continue;
        }
        match lookup(&name) {
            Some(found) => {
                vars.values.insert(name, found);
            }
            None => missing.push(MissingVar { name, step_ids }),
        }
    }
    if missing.is_empty() {
        Ok(vars)
    } else {
        Err(missing)
    }
}

/// One piece of scanned text.
pub(crate) enum Token<'a> {
    Text(&'a str),
    /// `$${`, which stands for a literal `${`.
    Escape,
    /// `${NAME}` with a valid name; `raw` is the whole reference.
    Var {
        name: &'a str,
        raw: &'a str,
    },
}

/// Splits `text` into literal text, escapes and variable references.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes[i..].starts_with(b"$${") {
            out.push(Token::Text(&text[literal_start..i]));
            out.push(Token::Escape);
            i += 3;
            literal_start = i;
            continue;
        }
        if bytes[i..].starts_with(b"${")
            && let Some(len) = name_len(&bytes[i + 2..])
            && bytes.get(i + 2 + len) == Some(&b'}')
        {
            out.push(Token::Text(&text[literal_start..i]));
            let end = i + 2 + len + 1;
            out.push(Token::Var {
                name: &text[i + 2..i + 2 + len],
                raw: &text[i..end],
            });
            i = end;
            literal_start = i;
            continue;
        }
        i += 1;
    }
    out.push(Token::Text(&text[literal_start..]));
    out
}

/// Length of a name `[A-Za-z_][A-Za-z0-9_]*` at the start of `bytes`.
fn name_len(bytes: &[u8]) -> Option<usize> {
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return None,
    }
    Some(
        bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count(),
    )
}

/// Names referenced as `${NAME}` in `text`, each once, in order of first use.
/// Escaped references (`$${NAME}`) do not count.
pub fn used_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for token in tokens(text) {
        if let Token::Var { name, .. } = token
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }
    names
}

/// Replaces each `${NAME}` with its value. Unknown names stay as written and
/// `$${` becomes a literal `${`.
pub fn substitute(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len());
    for token in tokens(text) {
        match token {
            Token::Text(t) => out.push_str(t),
            Token::Escape => out.push_str("${"),
            Token::Var { name, raw } => out.push_str(vars.get(name).unwrap_or(raw)),
        }
    }
    out
}

/// Like [`substitute`], but with each value as it may be shown
/// ([`shown_value`]): for listings a person or a CI log reads.
pub fn substitute_shown(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len());
    for token in tokens(text) {
        match token {
            Token::Text(t) => out.push_str(t),
            Token::Escape => out.push_str("${"),
            Token::Var { name, raw } => match vars.get(name) {
                Some(value) => out.push_str(&shown_value(name, value)),
                None => out.push_str(raw),
            },
        }
    }
    out
}

/// The probe as it will run: `${NAME}` in its URL and statement substituted.
pub fn resolve_probe(spec: &ProbeSpec, vars: &Vars) -> ProbeSpec {
    ProbeSpec {
        url: substitute(&spec.url, vars),
        statement: substitute(&spec.statement, vars),
        ..spec.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::model::{
        Expectation, OnFail, Phase, PlaybookKind, Step, Variable, Verification,
    };

    fn step(id: &str, command: Option<&str>, verify: Option<&str>) -> Step {
        Step {
            id: id.into(),
            title: id.into(),
            detail: String::new(),
            timebox: None,
            role: None,
            command: command.map(str::to_string),
            verify: verify.map(|c| Verification {
                command: c.into(),
                expect: Expectation::default(),
            }),
            rollback: Some("uses ${NOT_COUNTED}".into()),
            point_of_no_return: false,
            on_fail: OnFail::Stop,
            command_kind: Default::default(),
            expected_output: None,
        }
    }

    fn var(name: &str, default: Option<&str>) -> Variable {
        Variable {
            name: name.into(),
            default: default.map(str::to_string),
            description: String::new(),
        }
    }

    fn playbook(variables: Vec<Variable>, steps: Vec<Step>) -> Playbook {
        Playbook {
            id: "p".into(),
            title: "P".into(),
            description: String::new(),
            kind: PlaybookKind::Migration,
            tags: vec![],
            budget: None,
            variables,
            sources: vec![],
            phases: vec![Phase {
                id: "main".into(),
                title: "Main".into(),
                steps,
            }],
            probe: None,
            page: None,
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_probe_needs_its_variables_before_anything_runs() {
        let mut pb = playbook(
            vec![var("TABLE", Some("t"))],
            vec![step("s1", Some("echo ${DB}"), None)],
        );
        pb.probe = Some(ProbeSpec {
            engine: crate::playbook::ProbeEngine::Postgres,
            url: "${DB}".into(),
            statement: "UPDATE ${TABLE} SET n = n + 1 WHERE id = ${ID}".into(),
            interval: ProbeSpec::DEFAULT_INTERVAL,
            blocked_after: ProbeSpec::DEFAULT_BLOCKED_AFTER,
            timeout: ProbeSpec::DEFAULT_TIMEOUT,
        });
        let missing = resolve(&pb, &BTreeMap::new(), &env_of(&[])).unwrap_err();
        assert_eq!(missing.len(), 2);
        assert_eq!(missing[0].name, "DB");
        assert_eq!(missing[0].step_ids, vec!["s1", "probe"]);
        assert_eq!(missing[1].name, "ID");
        assert_eq!(missing[1].step_ids, vec!["probe"]);
        let vars = resolve(
            &pb,
            &overrides(&[("ID", "1")]),
            &env_of(&[("DB", "postgresql://h/db")]),
        )
        .unwrap();
        let probe = resolve_probe(pb.probe.as_ref().unwrap(), &vars);
        assert_eq!(probe.url, "postgresql://h/db");
        assert_eq!(probe.statement, "UPDATE t SET n = n + 1 WHERE id = 1");
    }

    #[test]
    fn precedence_override_then_environment_then_default() {
        let pb = playbook(
            vec![
                var("A", Some("a-default")),
                var("B", Some("b-default")),
                var("C", Some("c-default")),
            ],
            vec![step("s1", Some("echo ${A} ${B} ${C}"), None)],
        );
        let env = env_of(&[("A", "a-env"), ("B", "b-env")]);
        let vars = resolve(&pb, &overrides(&[("A", "a-var")]), &env).unwrap();
        assert_eq!(vars.values["A"], ("a-var".into(), VarSource::Override));
        assert_eq!(vars.values["B"], ("b-env".into(), VarSource::Environment));
        assert_eq!(vars.values["C"], ("c-default".into(), VarSource::Default));
        assert_eq!(
            substitute("echo ${A} ${B} ${C}", &vars),
            "echo a-var b-env c-default"
        );
    }

    #[test]
    fn undeclared_used_names_resolve_and_unused_overrides_are_ignored() {
        let pb = playbook(
            vec![var("DECLARED_ONLY", Some("d")), var("NO_VALUE", None)],
            vec![step("s1", None, Some("test -n \"${FROM_ENV}\""))],
        );
        let env = env_of(&[("FROM_ENV", "x")]);
        let vars = resolve(&pb, &overrides(&[("STRAY", "1")]), &env).unwrap();
        let names: Vec<&str> = vars.values.keys().map(String::as_str).collect();
        assert_eq!(names, ["DECLARED_ONLY", "FROM_ENV"]);
        assert_eq!(
            vars.values["FROM_ENV"],
            ("x".into(), VarSource::Environment)
        );
    }

    #[test]
    fn missing_vars_list_their_steps_in_order() {
        let pb = playbook(
            vec![var("DB", None), var("HOST", Some("localhost"))],
            vec![
                step("backup", Some("pg_dump ${DB} -h ${HOST}"), None),
                step("migrate", Some("psql ${DB}"), Some("psql ${DB} -c '${Q}'")),
                step("note", None, None),
                step("check", None, Some("echo ${Q}")),
            ],
        );
        let missing = resolve(&pb, &BTreeMap::new(), &env_of(&[])).unwrap_err();
        assert_eq!(
            missing,
            vec![
                MissingVar {
                    name: "DB".into(),
                    step_ids: vec!["backup".into(), "migrate".into()],
                },
                MissingVar {
                    name: "Q".into(),
                    step_ids: vec!["migrate".into(), "check".into()],
                },
            ]
        );
        assert_eq!(
            missing[0].to_string(),
            "variable ${DB} has no value (used by steps backup, migrate); \
             set it with --var DB=VALUE or the environment"
        );

        let env = env_of(&[("Q", "select 1")]);
        let vars = resolve(&pb, &overrides(&[("DB", "app")]), &env).unwrap();
        assert_eq!(vars.get("DB"), Some("app"));
        assert_eq!(vars.get("HOST"), Some("localhost"));
        assert_eq!(vars.get("Q"), Some("select 1"));
        assert_eq!(
            vars.get("NOT_COUNTED"),
            None,
            "rollback text is not scanned"
        );
    }

    #[test]
    fn secrets_are_masked_when_shown() {
        assert_eq!(shown_value("MYSQL_PWD", "hunter2"), "********");
        assert_eq!(shown_value("api_token", "abc"), "********");
        assert_eq!(
            shown_value("DATABASE_URL", "postgres://app:s3cr3t@db:5432/app?x=1"),
            "postgres://app:********@db:5432/app?x=1"
        );
        assert_eq!(
            shown_value(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:54329/rollsafe"
            ),
            "postgres://postgres@127.0.0.1:54329/rollsafe"
        );
        assert_eq!(shown_value("URL", "http://h/p@q:r"), "http://h/p@q:r");
        assert_eq!(shown_value("ROWS", "1000000"), "1000000");
    }

    #[test]
    fn secret_values_are_masked_wherever_they_appear() {
        let mut vars = Vars::default();
        for (name, value) in [
            ("DB_PASSWORD", "hunter22"),
            ("SHORT_KEY", "abc"),
            ("DATABASE_URL", "postgres://app:s3cr3t-pw@db/app"),
            ("ROWS", "hunter22x"),
        ] {
            vars.values
                .insert(name.into(), (value.into(), VarSource::Override));
        }
        let secrets = secret_values(&vars);
        assert_eq!(secrets, ["s3cr3t-pw", "hunter22"]);
        assert_eq!(
            mask_secrets("pw=hunter22 url=postgres://app:s3cr3t-pw@db abc", &secrets),
            "pw=******** url=postgres://app:********@db abc"
        );
        // A value that merely contains a secret is masked where it does.
        assert_eq!(mask_secrets("hunter22x", &secrets), "********x");
    }

    #[test]
    fn used_names_finds_braced_names_once_in_order() {
        assert_eq!(
            used_names("a ${B} $C ${_d1} ${B} ${e:-x} $${F} ${9} ${G}"),
            ["B", "_d1", "G"]
        );
        assert!(used_names("").is_empty());
    }

    #[test]
    fn escapes_and_unknown_names() {
        let mut vars = Vars::default();
        vars.values
            .insert("X".into(), ("1".into(), VarSource::Override));
        assert_eq!(substitute("$${X} ${X}", &vars), "${X} 1");
        assert_eq!(substitute("${UNKNOWN}/${X}", &vars), "${UNKNOWN}/1");
        assert_eq!(
            substitute("$X $$ $(date) ${X:-2}", &vars),
            "$X $$ $(date) ${X:-2}"
        );
        assert_eq!(substitute("$${", &vars), "${");
        assert_eq!(substitute("$$${X}", &vars), "$${X}");
        assert_eq!(substitute("${X}${X}", &vars), "11");
        // A value that looks like a reference is not expanded again.
        vars.values
            .insert("Y".into(), ("${X}".into(), VarSource::Default));
        assert_eq!(substitute("${Y}", &vars), "${X}");
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mut vars = Vars::default();
        vars.values
            .insert("N".into(), ("é".into(), VarSource::Default));
        for text in [
            "",
            "$",
            "$$",
            "${",
            "${}",
            "$${",
            "${N",
            "${N}}",
            "}{$",
            "${é}",
            "é${N}é",
            "${N}$",
            "😀$😀${😀}",
            "${ N }",
            "$\u{0}{N}",
        ] {
            let out = substitute(text, &vars);
            let _ = used_names(text);
            if !text.contains("${N}") {
                assert_eq!(out, text.replace("$${", "${"), "{text:?}");
            }
        }
        assert_eq!(substitute("é${N}é", &vars), "ééé");
        assert_eq!(substitute("${N}}", &vars), "é}");
        assert!(used_names("${}").is_empty());
        assert!(used_names("${é}").is_empty());
    }
}
