//! Code blocks as commands: what a person would type, where they would type
//! it, and what the page shows it printing.
//!
//! - The fence language decides what a block is: shell runs; SQL is pasted
//!   into the database console (or runs through the playbook's `sql_client`);
//!   console languages (Ruby, irb, Python, Redis) are pasted into that
//!   console; diagrams and data (mermaid, JSON, YAML, PromQL, ...) are detail,
//!   never commands; other languages are shown for reference.
//! - Prompts are stripped (`$ `, `user@host:~$ `, `[ gstg ] production> `,
//!   `db=# `, `mysql> `, ...). In a transcript, lines after a prompted command
//!   that carry no prompt are its output: the step's expected output. A
//!   console prompt makes the block one to paste into that console. `# ` is
//!   a root prompt in a `console` fence, beside `$ ` prompts, or when every
//!   `# ` line is a command and the other lines are its output; otherwise
//!   it starts a comment.
//! - A block that starts with a sentence (a usage message) is only read.
//! - A block that opens an interactive session (`ssh host`, `sudo su`,
//!   `kubectl exec -it`, `gitlab-rails console`) and goes on typing into it is
//!   pasted there, never run as one shell script.

use std::sync::LazyLock;

use regex::Regex;

use super::super::model::CommandKind;

/// A code block read as a command.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cmd {
    pub(super) text: String,
    pub(super) kind: CommandKind,
    pub(super) output: Option<String>,
    /// The page wrote prompts; they were stripped.
    pub(super) prompted: bool,
    /// SQL meant for the database console: runs through `sql_client` when
    /// the playbook names one.
    pub(super) sql: bool,
    /// Where the code starts in the page.
    pub(super) at: usize,
}

/// Two or more lines of `- [ ]` / `1. [ ]` items, and most non-blank lines
/// belong to list items.
pub(super) fn is_checklist(text: &str) -> bool {
    static ITEM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*([-*+]|\d+[.)])\s+\[[ xX]\]\s").expect("checklist pattern")
    });
    let mut boxes = 0;
    let mut items = 0;
    let mut lines = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let t = line.trim_start();
        if t.starts_with(['-', '*', '+']) || t.starts_with(|c: char| c.is_ascii_digit()) {
            items += 1;
            boxes += usize::from(ITEM.is_match(line));
        }
    }
    boxes >= 2 && items * 2 >= lines
}

/// What a fence language says about its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    /// Untagged, or a shell: a command unless its text reads as data.
    Shell,
    /// Shell with prompts by convention (`console`): `# ` is a root prompt.
    Session,
    Sql,
    /// Text for the named console.
    Console(&'static str),
    /// Output, diagrams, data, configuration: never a command.
    Detail,
    /// A language we do not know: shown, never run.
    Other,
    /// A `- [ ]` checklist written in a fence, to paste into an issue: its
    /// items are steps.
    Checklist,
}

const SHELL: [&str; 10] = [
    "",
    "sh",
    "bash",
    "shell",
    "zsh",
    "ksh",
    "fish",
    "shellscript",
    "terminal",
    "cmd",
];
const SESSION: [&str; 3] = ["console", "shell-session", "shellsession"];
const SQL: [&str; 6] = ["sql", "psql", "pgsql", "postgresql", "postgres", "plpgsql"];
const DETAIL: [&str; 43] = [
    "text",
    "txt",
    "plain",
    "plaintext",
    "output",
    "log",
    "logs",
    "mermaid",
    "plantuml",
    "puml",
    "dot",
    "graphviz",
    "json",
    "jsonc",
    "json5",
    "yaml",
    "yml",
    "toml",
    "ini",
    "conf",
    "config",
    "cfg",
    "properties",
    "env",
    "hcl",
    "terraform",
    "tf",
    "jsonnet",
    "libsonnet",
    "promql",
    "logql",
    "diff",
    "patch",
    "xml",
    "html",
    "csv",
    "tsv",
    "markdown",
    "md",
    "math",
    "nginx",
    "dockerfile",
    "cron",
];

pub(super) fn lang(info: &str) -> Lang {
    let lang = info
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let lang = lang.as_str();
    if SHELL.contains(&lang) {
        Lang::Shell
    } else if SESSION.contains(&lang) {
        Lang::Session
    } else if SQL.contains(&lang) {
        Lang::Sql
    } else if DETAIL.contains(&lang) {
        Lang::Detail
    } else {
        match lang {
            "ruby" | "rb" | "rails" | "irb" | "pry" => Lang::Console("the Rails console"),
            "mysql" | "mariadb" => Lang::Console("the mysql client"),
            "redis" | "redis-cli" => Lang::Console("redis-cli"),
            "python" | "py" | "python3" | "pycon" => Lang::Console("a Python console"),
            _ => Lang::Other,
        }
    }
}

/// What a line's prompt says: a shell, or a console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Shell,
    /// `# `: a root shell prompt, or a comment.
    Hash,
    Console(&'static str),
    /// A console's continuation prompt (`db-# `, `    -> `, `... `).
    More,
}

static PROMPTS: LazyLock<Vec<(Regex, Prompt)>> = LazyLock::new(|| {
    let p = |re: &str, kind| (Regex::new(re).expect("prompt pattern"), kind);
    vec![
        p(r"^\$(\s+|$)", Prompt::Shell),
        // user@host:~/dir$ , root@host:/# , [user@host dir]$
        p(
            r"^\[?[\w.-]+@[\w.-]+(:\S*|\s\S+)?\]?\s?[$#](\s+|$)",
            Prompt::Shell,
        ),
        p(r"^[\w.-]+:[~/]\S*\s?[$#](\s+|$)", Prompt::Shell),
        // zsh: `chef-repo % make`, `% make`
        p(r"^([\w.~/-]+\s)?%\s+", Prompt::Shell),
        p(r"^#(\s+|$)", Prompt::Hash),
        // GitLab's console: [ gstg ] production>
        p(
            r"^\[\s*[\w.-]+\s*\]\s*[\w.-]+(\(\w+\))?>(\s+|$)",
            Prompt::Console("the Rails console"),
        ),
        p(
            r"^(irb|pry)\([^)]*\)[\w:.]*[>*](\s+|$)",
            Prompt::Console("the Rails console"),
        ),
        p(r"^[\w.-]+-[#>](\s+|$)", Prompt::More),
        p(r"^[\w.-]+=[#>](\s+|$)", Prompt::Console("psql")),
        p(
            r"^(mysql|MariaDB \[[^\]]*\])>(\s+|$)",
            Prompt::Console("the mysql client"),
        ),
        p(r"^\s+->(\s+|$)", Prompt::More),
        p(
            r"^[\w.-]+:\d+(\[\d+\])?>(\s+|$)",
            Prompt::Console("redis-cli"),
        ),
        p(r"^>>>(\s+|$)", Prompt::Console("a Python console")),
        p(r"^\.\.\.(\s+|$)", Prompt::More),
    ]
});

/// Commands after which the next lines are typed into another program.
static OPENERS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let p = |re: &str, into| (Regex::new(re).expect("opener pattern"), into);
    vec![
        p(
            r"^(sudo\s+)?(gitlab-rails\s+(c|console)|rails\s+(c|console)|bundle\s+exec\s+rails\s+(c|console)|irb|pry)\s*(-e\s+\w+)?\s*$",
            "the Rails console",
        ),
        p(
            r"^(sudo\s+)?(gitlab-psql|gitlab-rails\s+dbconsole|psql)(\s+[^-|<>]\S*|\s+-[dUhp]\s*\S+)*\s*$",
            "psql",
        ),
        p(
            r"^(sudo\s+)?(mysql|mariadb)(\s+-\S+)*\s*$",
            "the mysql client",
        ),
        p(
            r"^(sudo\s+)?redis-cli(\s+-\S+(\s+[^-\s]\S*)?)*\s*$",
            "redis-cli",
        ),
        p(r"^(sudo\s+)?chef-shell\b", "chef-shell"),
        p(
            r"^(sudo\s+)?(su|su\s+-|-i|su\s+-\s+\w+|-iu\s+\w+)\s*$",
            "a root shell",
        ),
        p(r"^sudo\s+(su|-i|su\s+-|-s)\s*(\w+)?\s*$", "a root shell"),
        p(r"^ssh(\s+-\S+)*\s+[\w.@-]+\s*$", "the ssh session"),
        p(
            r"^(kubectl|docker|oc)\b.*\bexec\b.*\s-(it|ti)\b.*\s--\s*(/bin/)?(ba)?sh\s*$",
            "the container shell",
        ),
        p(
            r"^(kubectl|docker)\b.*\bexec\b.*\s-(it|ti)\b",
            "the container",
        ),
        p(r"^(sudo\s+)?(bash|sh)\s*$", "the shell it opens"),
    ]
});

fn prompt_of(line: &str) -> Option<(Prompt, &str)> {
    // Most lines are plain commands: look at the first word before any pattern.
    let word = line.split_whitespace().next()?;
    let maybe = word.starts_with(['$', '#', '[', '>', '.', '-', '%'])
        || line.split_whitespace().nth(1) == Some("%")
        || word.ends_with(['$', '#', '>', ']'])
        || word.contains(['@', '(', '='])
        || word == "MariaDB"
        || line.starts_with(char::is_whitespace);
    if !maybe {
        return None;
    }
    for (re, kind) in PROMPTS.iter() {
        if let Some(m) = re.find(line) {
            return Some((*kind, &line[m.end()..]));
        }
    }
    None
}

/// Text that reads as data or a diagram rather than something to type.
fn reads_as_data(text: &str) -> bool {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let t = first.trim_start();
    // `<tag` is markup; `< file cmd` is a redirect.
    if let Some(rest) = t.strip_prefix('<') {
        return rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '!' || c == '?');
    }
    let starts = [
        "{",
        "[",
        "---",
        "@startuml",
        "graph ",
        "flowchart ",
        "sequenceDiagram",
        "digraph ",
        "\"",
    ];
    if starts.iter().any(|s| t.starts_with(s)) && !t.starts_with("[[") {
        // `[ -f x ] && ...` and `[[ ... ]]` are shell tests.
        return !(t.starts_with("[ ") && t.contains(" ]"));
    }
    // A Markdown document (a template to fill in).
    if t.starts_with("# ") && text.lines().any(|l| l.starts_with("## ")) {
        return true;
    }
    // A usage message or notes: the first line is a sentence in words
    // ("Sets server state on frontend lbs"), which no shell would run.
    if reads_as_sentence(t) {
        return true;
    }
    columns(first)
}

/// Columns of output: three or more runs of two or more spaces.
fn columns(line: &str) -> bool {
    line.trim()
        .split("  ")
        .filter(|s| !s.trim().is_empty())
        .count()
        >= 4
}

/// A capitalised word, then at least two more words of letters only.
fn reads_as_sentence(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let plain = |w: &str| {
        w.trim_end_matches([',', '.', ':', ';'])
            .chars()
            .all(|c| c.is_alphabetic() || c == '\'')
    };
    words.len() >= 3
        && words[0].chars().next().is_some_and(char::is_uppercase)
        && words[0].chars().skip(1).all(char::is_lowercase)
        && words.iter().all(|w| plain(w))
}

/// Reads a code block (text as in the page, `lang` from its fence).
/// `None`: the block is detail, not a command.
pub(super) fn read(raw: &str, lang: Lang) -> Option<Cmd> {
    if lang == Lang::Detail {
        return None;
    }
    let text = super::dedent(raw, false);
    if text.trim().is_empty() {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    // A console session written with a bare `> ` and `=> ` results (irb).
    // Every line after `> `: never a shell script either (`> file` alone
    // would truncate the file), so the `> ` is a console prompt.
    // A block that starts with `> ` uses it as its prompt: a shell's when
    // what follows reads as a command, else a console's.
    let first = lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .copied()
        .unwrap_or("");
    let gt = lines.iter().any(|l| l.starts_with("=> "))
        || (first.starts_with("> ")
            && first.len() > 2
            && lines
                .iter()
                .all(|l| l.starts_with("> ") || prompt_of(l).is_none()));
    let gt_kind = match first.strip_prefix("> ") {
        Some(rest) if looks_like_command(rest) => Prompt::Shell,
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) && rest.contains('.') => {
            Prompt::Console("the Rails console")
        }
        _ if lines.iter().any(|l| l.starts_with("=> ")) => Prompt::Console("the Rails console"),
        _ => Prompt::Console("the console the page opened"),
    };
    let prompts: Vec<Option<(Prompt, &str)>> = lines
        .iter()
        .map(|l| match l.strip_prefix("> ") {
            Some(rest) if gt => Some((gt_kind, rest)),
            _ => prompt_of(l),
        })
        .collect();
    if matches!(lang, Lang::Shell)
        && prompts.iter().flatten().all(|(p, _)| *p == Prompt::More)
        && let Some(sql) = psql_transcript(&lines)
    {
        return sql;
    }
    let shell_prompts = prompts
        .iter()
        .flatten()
        .filter(|(p, _)| *p == Prompt::Shell)
        .count();
    let console = prompts.iter().flatten().find_map(|(p, _)| match p {
        Prompt::Console(name) => Some(*name),
        _ => None,
    });
    // `# ` is a prompt in a session transcript, beside `$ ` prompts, or in
    // a root transcript: a command after `# `, then what it printed.
    let hash_is_prompt =
        lang == Lang::Session || shell_prompts > 0 || root_transcript(&lines, &prompts);
    let prompted = shell_prompts > 0
        || console.is_some()
        || (hash_is_prompt && prompts.iter().flatten().any(|(p, _)| *p == Prompt::Hash));

    let mut commands: Vec<String> = Vec::new();
    let mut output: Vec<String> = Vec::new();
    if prompted {
        let mut continues = false;
        for (line, prompt) in lines.iter().zip(&prompts) {
            match prompt {
                Some((Prompt::Hash, rest)) if hash_is_prompt => {
                    commands.push(rest.to_string());
                    continues = rest.trim_end().ends_with('\\');
                }
                Some((Prompt::Hash, _)) | None => {
                    if continues {
                        let l = line.strip_prefix("> ").unwrap_or(line);
                        commands.push(l.to_string());
                        continues = l.trim_end().ends_with('\\');
                    } else if !line.trim().is_empty() {
                        output.push(line.to_string());
                    } else {
                        output.push(String::new());
                    }
                }
                Some((_, rest)) => {
                    commands.push(rest.to_string());
                    continues = rest.trim_end().ends_with('\\');
                }
            }
        }
    } else {
        commands = lines.iter().map(|l| l.to_string()).collect();
        // Console transcripts without prompts still show results as `=> `.
        if matches!(lang, Lang::Console(_)) {
            let (results, typed): (Vec<String>, Vec<String>) = std::mem::take(&mut commands)
                .into_iter()
                .partition(|l| l.trim_start().starts_with("=> "));
            commands = typed;
            output = results;
        }
    }
    let out = output.join("\n").trim_matches('\n').to_string();
    finish(commands, out, lang, console, prompted)
}

/// A block written as a root shell's transcript (`# pstree -p`, then the
/// tree it printed): every `# ` line reads as a command rather than a
/// comment, and no other line reads as a command. A comment (`# drain
/// first`) over commands is not one.
fn root_transcript(lines: &[&str], prompts: &[Option<(Prompt, &str)>]) -> bool {
    let mut typed = 0;
    for (line, prompt) in lines.iter().zip(prompts) {
        if line.trim().is_empty() {
            continue;
        }
        match prompt {
            Some((Prompt::Hash, rest)) if reads_as_typed(rest) => typed += 1,
            Some((Prompt::Hash, _)) => return false,
            // Output comes after a command, never before.
            _ if typed == 0 || (looks_like_command(line) && !columns(line)) => return false,
            _ => {}
        }
    }
    typed > 0
}

/// Text after `# ` that is a command, not a comment in words: a known
/// command, a path, an option (`-TERM`), a substitution or a pipe.
fn reads_as_typed(rest: &str) -> bool {
    static SYNTAX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(^|\s)(-{1,2}[A-Za-z]|\$\(|\|\s)|^[./~]").expect("shell syntax pattern")
    });
    looks_like_command(rest) || SYNTAX.is_match(rest.trim())
}

/// A psql session written without prompts: statements, then the tables
/// psql printed (`---+---`, `(3 rows)`). The statements are pasted into
/// psql; a block of such tables alone is output, not a command.
/// `None`: the block holds no psql result.
fn psql_transcript(lines: &[&str]) -> Option<Option<Cmd>> {
    static RESULT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(\(\d+ rows?\)|-+(\+-+)+|-{3,})\s*$").expect("psql result pattern")
    });
    if !lines.iter().any(|l| RESULT.is_match(l)) {
        return None;
    }
    const SQL: [&str; 14] = [
        "select", "show", "with", "explain", "update", "insert", "delete", "alter", "create",
        "drop", "set", "grant", "vacuum", "\\",
    ];
    let starts_sql = |l: &str| {
        let first = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        SQL.iter()
            .any(|k| first == *k || (*k == "\\" && first.starts_with('\\')))
    };
    let mut commands = Vec::new();
    let mut output = Vec::new();
    let mut open = false;
    for line in lines {
        if open || starts_sql(line) {
            commands.push(line.to_string());
            let t = line.trim_end();
            open = !(t.ends_with(';') || t.starts_with('\\'));
        } else {
            output.push(line.to_string());
        }
    }
    if commands.is_empty() {
        return Some(None);
    }
    let output = output.join("\n").trim_matches('\n').to_string();
    Some(finish(commands, output, Lang::Shell, Some("psql"), true))
}

fn finish(
    commands: Vec<String>,
    output: String,
    lang: Lang,
    console: Option<&'static str>,
    prompted: bool,
) -> Option<Cmd> {
    let text = commands
        .join("\n")
        .trim_matches('\n')
        .trim_end()
        .to_string();
    if text.trim().is_empty() {
        return None;
    }
    let output = (!output.trim().is_empty()).then_some(output);
    let mut sql = false;
    let kind = if let Some(name) = console {
        CommandKind::Paste(name.to_string())
    } else {
        match lang {
            Lang::Sql => {
                sql = true;
                CommandKind::Paste("the database console (psql)".to_string())
            }
            Lang::Console(name) if !prompted => CommandKind::Paste(name.to_string()),
            // A shell prompt in a fence tagged for a console: the page
            // contradicts itself, so nothing runs it.
            Lang::Console(_) => CommandKind::Reference,
            Lang::Other => CommandKind::Reference,
            Lang::Shell if !prompted && reads_as_data(&text) => CommandKind::Reference,
            _ => session(&text).unwrap_or(CommandKind::Run),
        }
    };
    Some(Cmd {
        text,
        kind,
        output,
        prompted,
        sql,
        at: 0,
    })
}

/// A shell block that opens a session and keeps typing into it.
fn session(text: &str) -> Option<CommandKind> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let (_, before) = lines.split_last()?;
    const FIRST: [&str; 20] = [
        "gcloud",
        "sudo",
        "gitlab-rails",
        "rails",
        "bundle",
        "irb",
        "pry",
        "gitlab-psql",
        "psql",
        "mysql",
        "mariadb",
        "redis-cli",
        "chef-shell",
        "su",
        "ssh",
        "kubectl",
        "docker",
        "oc",
        "bash",
        "sh",
    ];
    before.iter().find_map(|line| {
        let first = line.split_whitespace().next().unwrap_or("");
        if !FIRST.contains(&first) {
            return None;
        }
        opened_by(line, false)
    })
}

/// The session a one-line command opens (`ssh host`, `sudo su`, `gitlab-rails
/// console`): where the lines typed after it go. With `shells_only`, only a
/// shell elsewhere (ssh, another user, a container's shell): the page's next
/// shell commands are typed there. A console is not: pages go back to the
/// shell without saying so.
pub(super) fn opened_by(line: &str, shells_only: bool) -> Option<CommandKind> {
    const SHELLS: [&str; 4] = [
        "the ssh session",
        "a root shell",
        "the container shell",
        "the shell it opens",
    ];
    let line = line.trim();
    // `kubectl exec -c etcdctl pod` names no command after `--`: the page
    // means a shell in that container (it left out `-it`).
    let words: Vec<&str> = line.split_whitespace().collect();
    if matches!(words.first(), Some(&("kubectl" | "oc")))
        && words.contains(&"exec")
        && !words.contains(&"--")
    {
        return Some(CommandKind::Paste(format!(
            "the container shell (opened by `{line}`)"
        )));
    }
    // `gcloud compute ssh node` without `--command` logs in to the node.
    if words.first() == Some(&"gcloud")
        && words.contains(&"compute")
        && words.contains(&"ssh")
        && !line.contains("--command")
    {
        return Some(CommandKind::Paste(format!(
            "the ssh session (opened by `{line}`)"
        )));
    }
    OPENERS.iter().find_map(|(re, into)| {
        if !re.is_match(line) || (shells_only && !SHELLS.contains(into)) {
            return None;
        }
        // `sudo su - packagecloud` opens that user's shell, not root's.
        let user = line
            .split_whitespace()
            .last()
            .filter(|u| *into == "a root shell" && !["su", "-", "-i", "-s", "root"].contains(u));
        Some(CommandKind::Paste(match user {
            Some(user) => format!("a shell as {user} (opened by `{line}`)"),
            None => format!("{into} (opened by `{line}`)"),
        }))
    })
}

/// Inline code that reads as a command someone would type.
pub(super) fn looks_like_command(code: &str) -> bool {
    const WORDS: [&str; 60] = [
        "sudo",
        "knife",
        "kubectl",
        "gitlab-",
        "chef-client",
        "systemctl",
        "service",
        "ssh",
        "scp",
        "curl",
        "wget",
        "docker",
        "helm",
        "git",
        "bundle",
        "make",
        "psql",
        "mysql",
        "redis-cli",
        "gcloud",
        "gsutil",
        "aws",
        "terraform",
        "journalctl",
        "tail",
        "cat",
        "ls",
        "grep",
        "echo",
        "export",
        "cd",
        "etcdctl",
        "consul",
        "vault",
        "tsh",
        "glsh",
        "bin/",
        "./",
        "df",
        "du",
        "ps",
        "lsblk",
        "mount",
        "umount",
        "chmod",
        "chown",
        "mkdir",
        "rm",
        "cp",
        "mv",
        "find",
        "jq",
        "rake",
        "tar",
        "rsync",
        "openssl",
        "dig",
        "nc",
        "scripts/",
        "gpg",
    ];
    let code = code.trim();
    let first = code.split_whitespace().next().unwrap_or("");
    code.contains(' ')
        && !code.contains('\n')
        && WORDS
            .iter()
            .any(|w| first == *w || (w.ends_with(['/', '-']) && first.starts_with(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &str, info: &str) -> Cmd {
        read(raw, lang(info)).expect("a command")
    }

    #[test]
    fn prompts_are_stripped_and_output_kept_apart() {
        let c = run("$ lsblk\nNAME MAJ:MIN\nsda 8:0\n$ df -h /\n", "");
        assert_eq!(c.text, "lsblk\ndf -h /");
        assert_eq!(c.output.as_deref(), Some("NAME MAJ:MIN\nsda 8:0"));
        assert_eq!(c.kind, CommandKind::Run);
        assert!(c.prompted);
    }

    #[test]
    fn user_host_prompts_and_continuations() {
        let c = run(
            "ops@db-1:~/src$ knife node show \\\n  worker1\nstatus: ok\n",
            "shell",
        );
        assert_eq!(c.text, "knife node show \\\n  worker1");
        assert_eq!(c.output.as_deref(), Some("status: ok"));
        let root = run("root@db-1:/# systemctl restart x\n", "");
        assert_eq!(root.text, "systemctl restart x");
    }

    #[test]
    fn psql_and_irb_sessions_without_prompts() {
        let c = run("show work_mem;\n work_mem\n----------\n 4MB\n(1 row)\n", "");
        assert_eq!(c.text, "show work_mem;");
        assert_eq!(c.kind, CommandKind::Paste("psql".into()));
        assert_eq!(
            c.output.as_deref(),
            Some(" work_mem\n----------\n 4MB\n(1 row)")
        );
        // Tables alone are output: detail, not a command.
        assert_eq!(
            read(" a | b\n---+---\n 1 | 2\n(1 row)\n", Lang::Shell),
            None
        );
        let redis = run("> slowlog get 10\n1) 1) (integer) 5\n", "shell");
        assert_eq!(redis.text, "slowlog get 10");
        assert_eq!(redis.output.as_deref(), Some("1) 1) (integer) 5"));
        assert_eq!(redis.kind.label(), "paste");
        let shell = run("> gpg --card-edit\n\nApplication ID: D27\n", "bash");
        assert_eq!(shell.text, "gpg --card-edit");
        assert_eq!(shell.kind, CommandKind::Run);
        let alone = run("> Project.find(1).expire_caches\n", "");
        assert_eq!(alone.text, "Project.find(1).expire_caches");
        assert_eq!(alone.kind.label(), "paste");
        let irb = run("> p = Project.find(1)\n=> #<Project id:1>\n", "");
        assert_eq!(irb.text, "p = Project.find(1)");
        assert_eq!(irb.kind.label(), "paste");
    }

    #[test]
    fn zsh_prompts() {
        let c = run("repo % ./bin/state gstg\nFetching...\n  3 fe UP\n", "");
        assert_eq!(c.text, "./bin/state gstg");
        assert_eq!(c.output.as_deref(), Some("Fetching...\n  3 fe UP"));
        // `%` inside a command is not a prompt.
        let c = run("printf '%s\\n' a", "sh");
        assert!(!c.prompted);
    }

    #[test]
    fn hash_is_a_prompt_only_beside_other_prompts() {
        let comment = run("# restart the cache\nsystemctl restart cache\n", "bash");
        assert_eq!(comment.text, "# restart the cache\nsystemctl restart cache");
        assert!(!comment.prompted);
        let root = run("$ sudo su\n# whoami\nroot\n", "");
        assert_eq!(root.text, "sudo su\nwhoami");
        assert_eq!(root.output.as_deref(), Some("root"));
        let session = run("# id -u\n0\n", "console");
        assert_eq!(session.text, "id -u");
    }

    #[test]
    fn console_prompts_make_a_paste() {
        let c = run(
            "[ stage ] production> p = Thing.find(7)\n=> #<Thing id: 7>\n",
            "ruby",
        );
        assert_eq!(c.text, "p = Thing.find(7)");
        assert_eq!(c.kind, CommandKind::Paste("the Rails console".into()));
        assert_eq!(c.output.as_deref(), Some("=> #<Thing id: 7>"));
        let psql = run("app=# select 1;\n ?column?\n", "");
        assert_eq!(psql.kind, CommandKind::Paste("psql".into()));
        assert_eq!(psql.text, "select 1;");
    }

    #[test]
    fn languages_decide_the_kind() {
        assert_eq!(run("select 1;", "sql").kind.label(), "paste");
        assert!(run("select 1;", "sql").sql);
        assert_eq!(
            run("Feature.enable(:x)", "ruby").kind,
            CommandKind::Paste("the Rails console".into())
        );
        for detail in [
            "mermaid", "json", "yaml", "promql", "plantuml", "text", "ini",
        ] {
            assert_eq!(read("graph TD\n  a --> b", lang(detail)), None, "{detail}");
        }
        assert_eq!(run("foo bar", "elixir").kind, CommandKind::Reference);
        assert_eq!(run("ls -la", "bash").kind, CommandKind::Run);
        // A shell prompt in a fence tagged Ruby: the page contradicts itself,
        // so it is shown, never run.
        let mixed = run("$ gitlab-rake db:x\nqueued\n", "ruby");
        assert_eq!(mixed.kind, CommandKind::Reference);
        assert_eq!(mixed.text, "gitlab-rake db:x");
    }

    #[test]
    fn untagged_data_is_reference() {
        assert_eq!(run("{\n  \"a\": 1\n}", "").kind, CommandKind::Reference);
        assert_eq!(
            run(
                "NAME   READY   STATUS   AGE\napi    1/1     Running  3d",
                ""
            )
            .kind,
            CommandKind::Reference
        );
        assert_eq!(run("[ -f /x ] && rm /x", "").kind, CommandKind::Run);
        assert_eq!(run("< list.txt xargs rm", "").kind, CommandKind::Run);
        assert_eq!(run("<config>\n</config>", "").kind, CommandKind::Reference);
    }

    #[test]
    fn a_session_opened_then_typed_into_is_a_paste() {
        let c = run("ssh db-1.example.com\nsudo gitlab-ctl restart\n", "");
        assert_eq!(
            c.kind,
            CommandKind::Paste("the ssh session (opened by `ssh db-1.example.com`)".into())
        );
        let alone = run("ssh db-1.example.com", "");
        assert_eq!(alone.kind, CommandKind::Run);
        let k = run("kubectl exec -it api-0 -- sh\nrm /tmp/lock\n", "");
        assert_eq!(k.kind.label(), "paste");
        let gke = run("gcloud compute --project prod ssh node-1\ntoolbox\n", "");
        assert_eq!(
            gke.kind,
            CommandKind::Paste(
                "the ssh session (opened by `gcloud compute --project prod ssh node-1`)".into()
            )
        );
        let one_shot = run("gcloud compute ssh node-1 --command 'uptime'\nls\n", "");
        assert_eq!(one_shot.kind, CommandKind::Run);
        let piped = run("kubectl get pods\nkubectl logs api-0\n", "");
        assert_eq!(piped.kind, CommandKind::Run);
        let user = run("sudo su - packagecloud\ncd /opt/app\n", "");
        assert_eq!(
            user.kind,
            CommandKind::Paste(
                "a shell as packagecloud (opened by `sudo su - packagecloud`)".into()
            )
        );
        let root = run("sudo su\nls /root\n", "");
        assert_eq!(
            root.kind,
            CommandKind::Paste("a root shell (opened by `sudo su`)".into())
        );
    }

    #[test]
    fn blocks_are_dedented_uniformly() {
        let c = run("    if true; then\n      echo yes\n    fi\n", "sh");
        assert_eq!(c.text, "if true; then\n  echo yes\nfi");
    }

    #[test]
    fn inline_commands() {
        assert!(looks_like_command("gitlab-ctl reconfigure"));
        assert!(looks_like_command("knife ssh 'roles:x' 'sudo chef-client'"));
        assert!(!looks_like_command("production"));
        assert!(!looks_like_command("db_password"));
        assert!(!looks_like_command("the value here"));
    }
}
