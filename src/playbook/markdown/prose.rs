//! Whether a line of prose tells the reader to do something or describes
//! how things are. Service overviews list facts as bullets ("We use a single
//! cookbook …", "Logs can be found on Kibana"); those bullets are notes to
//! read, not steps to follow.

use std::sync::LazyLock;

use regex::Regex;

/// What a sentence reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    /// An instruction: it starts with a verb of doing, a condition ("If …,
    /// restart …"), a purpose ("To drain …"), or asks something to check.
    Action,
    /// A description: it starts with an article or pronoun ("The …", "We
    /// …"), or a verb of being follows its first few words ("Chef role X
    /// is …", "Logs can be found …").
    Statement,
    /// Neither is clear (a bare noun phrase: "Operating DNS").
    Other,
}

/// Verbs that start instructions in runbooks. A sentence starting with one
/// is an action even when a verb of being follows ("Make sure the node is
/// drained").
const DOING: &[&str] = &[
    "abort",
    "acknowledge",
    "activate",
    "add",
    "adjust",
    "alert",
    "allow",
    "announce",
    "apply",
    "approve",
    "archive",
    "ask",
    "assign",
    "attach",
    "audit",
    "back",
    "be",
    "block",
    "boot",
    "bootstrap",
    "browse",
    "build",
    "bump",
    "call",
    "cancel",
    "capture",
    "change",
    "check",
    "choose",
    "clean",
    "clear",
    "click",
    "clone",
    "close",
    "collect",
    "comment",
    "commit",
    "compare",
    "configure",
    "confirm",
    "connect",
    "consider",
    "contact",
    "continue",
    "converge",
    "copy",
    "cordon",
    "create",
    "declare",
    "decrease",
    "delete",
    "deploy",
    "destroy",
    "detach",
    "determine",
    "disable",
    "disconnect",
    "dismiss",
    "do",
    "don't",
    "double-check",
    "download",
    "drain",
    "drop",
    "dump",
    "edit",
    "email",
    "enable",
    "ensure",
    "enter",
    "escalate",
    "evaluate",
    "examine",
    "execute",
    "exit",
    "expand",
    "export",
    "extend",
    "failover",
    "fetch",
    "file",
    "fill",
    "find",
    "fix",
    "flush",
    "follow",
    "force",
    "forward",
    "generate",
    "get",
    "give",
    "go",
    "grant",
    "grep",
    "identify",
    "import",
    "increase",
    "inform",
    "inspect",
    "install",
    "investigate",
    "invoke",
    "kill",
    "label",
    "launch",
    "leave",
    "let",
    "list",
    "load",
    "locate",
    "lock",
    "log",
    "login",
    "look",
    "make",
    "mark",
    "merge",
    "migrate",
    "modify",
    "monitor",
    "mount",
    "move",
    "mute",
    "navigate",
    "never",
    "notify",
    "obtain",
    "open",
    "page",
    "pause",
    "perform",
    "pick",
    "ping",
    "please",
    "post",
    "prepare",
    "press",
    "promote",
    "provision",
    "pull",
    "purge",
    "push",
    "put",
    "query",
    "read",
    "reboot",
    "rebuild",
    "record",
    "recover",
    "recreate",
    "redeploy",
    "refresh",
    "reload",
    "remember",
    "remove",
    "rename",
    "repeat",
    "replace",
    "reply",
    "report",
    "request",
    "reset",
    "resize",
    "resolve",
    "restart",
    "restore",
    "resume",
    "retry",
    "revert",
    "review",
    "revoke",
    "roll",
    "rollback",
    "rotate",
    "run",
    "save",
    "scale",
    "schedule",
    "search",
    "see",
    "select",
    "send",
    "set",
    "share",
    "shut",
    "silence",
    "skip",
    "snapshot",
    "ssh",
    "start",
    "stop",
    "submit",
    "suspend",
    "switch",
    "sync",
    "take",
    "tell",
    "terminate",
    "test",
    "tick",
    "toggle",
    "trigger",
    "try",
    "turn",
    "type",
    "uncordon",
    "undo",
    "unlock",
    "unmount",
    "update",
    "upgrade",
    "upload",
    "use",
    "validate",
    "verify",
    "visit",
    "wait",
    "watch",
    "wipe",
    "write",
];

/// Words that open a condition or purpose: the sentence goes on to say what
/// to do ("If the node is down, restart it").
const LEADS: &[&str] = &[
    "if", "when", "once", "after", "before", "unless", "to", "in", "whenever", "while", "until",
];

/// Articles, determiners and pronouns: an instruction never starts with one.
const SUBJECTS: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "these",
    "those",
    "that",
    "there",
    "it",
    "its",
    "we",
    "our",
    "they",
    "their",
    "each",
    "every",
    "all",
    "some",
    "most",
    "many",
    "both",
    "he",
    "she",
    "i",
    "my",
    "note",
    "currently",
    "usually",
    "typically",
    "generally",
    "ideally",
];

/// Verbs of being and modal verbs: after a subject, the sentence describes.
const BEING: &[&str] = &[
    "is",
    "are",
    "was",
    "were",
    "will",
    "would",
    "can",
    "cannot",
    "can't",
    "could",
    "may",
    "might",
    "must",
    "should",
    "shall",
    "has",
    "have",
    "had",
    "does",
    "doesn't",
    "isn't",
    "aren't",
    "won't",
    "==",
    "means",
    "refers",
    "represents",
    "contains",
    "provides",
];

/// How many words may come before the verb of being in a description
/// ("Agent failure on nodes running GitLab Services == …").
const SUBJECT_WORDS: usize = 8;

/// What `line` (plain text, the first line of a list item) reads as.
pub(super) fn reads(line: &str) -> Reads {
    let line = line.trim();
    if line.ends_with('?') {
        return Reads::Action;
    }
    let words: Vec<String> = line
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '=' || c == '-'))
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let Some(first) = words.first() else {
        return Reads::Other;
    };
    // "Closely watch the graphs": an adverb before the verb.
    let verb = match words.get(1) {
        Some(next) if first.ends_with("ly") => next,
        _ => first,
    };
    if DOING.contains(&verb.as_str()) || LEADS.contains(&first.as_str()) {
        return Reads::Action;
    }
    let being = words
        .iter()
        .skip(1)
        .take(SUBJECT_WORDS)
        .position(|w| BEING.contains(&w.as_str()));
    // "From a node, you can ping the backend": the reader is told what to do.
    let to_reader = being.is_some_and(|k| words[..=k].iter().any(|w| w == "you"));
    if to_reader {
        Reads::Action
    } else if SUBJECTS.contains(&first.as_str()) || being.is_some() {
        Reads::Statement
    } else {
        Reads::Other
    }
}

/// The host a step says, in words, to type its command on ("Log in to the
/// shard …, run", "On a database node, run"): that place, as the page
/// words it. Not the operator's own machine ("on your workstation"), and
/// not a page about a host ("on the host status dashboard").
pub(super) fn remote_host(text: &str) -> Option<String> {
    static PLACE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:log\s?in(?:to|\s+to)|ssh\s+(?:in)?to|on)\s+((?:the|a|an|each|any|every|all)\s+(?:[\w.-]+\s+){0,2}?(?:node|host|server|box|machine|shard|vm|instance|replica)s?)\b",
        )
        .expect("host pattern")
    });
    const PAGES: [&str; 6] = ["dashboard", "status", "page", "graph", "metrics", "list"];
    PLACE.captures_iter(text).find_map(|c| {
        let place = c.get(1)?;
        let next = text[place.end()..]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_lowercase();
        let own = ["your", "local", "workstation", "laptop"]
            .iter()
            .any(|w| place.as_str().to_lowercase().contains(w));
        (!own && !PAGES.iter().any(|p| next.starts_with(p))).then(|| place.as_str().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_descriptions_and_names() {
        for line in [
            "Make sure the node is drained",
            "Stop the consul service on nodes where we need to demote",
            "If there is a single backend server alerting, check the node",
            "Is the alert specific to canary servers?",
            "To block: edit deny-403-ips.lst",
            "Closely watch monitoring and be ready to slow down",
            "From a HAProxy node, you can ping and/or curl the backend server",
        ] {
            assert_eq!(reads(line), Reads::Action, "{line}");
        }
        for line in [
            "We use a single cookbook to control both our agents",
            "Chef role <env>-infra-consul is the primary role",
            "All agents will have the recipe in their run_list",
            "Logs can be found on Kibana under the index.",
            "Agent failure on nodes running GitLab Services == GitLab services will be unable",
            "The references after the frontends refer to node concept",
        ] {
            assert_eq!(reads(line), Reads::Statement, "{line}");
        }
        for line in ["Operating DNS", "Backends configure a list of servers", ""] {
            assert_eq!(reads(line), Reads::Other, "{line}");
        }
    }

    #[test]
    fn hosts_named_in_words() {
        assert_eq!(
            remote_host("Log in to the shard we think the repository is under, run").as_deref(),
            Some("the shard")
        );
        assert_eq!(
            remote_host("On a database node, run this").as_deref(),
            Some("a database node")
        );
        assert_eq!(remote_host("On your local machine, run"), None);
        assert_eq!(remote_host("check it on the host status dashboard"), None);
        assert_eq!(remote_host("Export the token in your shell session"), None);
    }
}
