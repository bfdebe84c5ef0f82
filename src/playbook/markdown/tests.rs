use super::*;

const ANNOTATED: &str = r#"<!-- rollsafe: id=pg-upgrade kind=migration budget=45m tags=postgres,upgrade -->
# Upgrade Postgres 15 → 16

Upgrade the primary with **pg_upgrade**, keeping the old cluster for rollback.

## Prepare <!-- rollsafe: id=prep -->

- [ ] Snapshot the volume <!-- rollsafe: id=snapshot timebox=10m role=dba -->
  ```sh
  aws ec2 create-snapshot --volume-id ${VOLUME}
  ```
  <!-- verify: aws ec2 describe-snapshots --owner self => completed -->
- [ ] Announce the window in [#ops](https://chat.example.com/ops)
  <!-- rollsafe: timebox=2m role="incident commander" -->

## Cut over

1. Stop writes <!-- rollsafe: id=stop-writes on_fail=goto:restore -->

   ```sh
   kubectl scale deploy/api --replicas=0
   ```

   Wait until connections drain.
2. Run pg_upgrade <!-- rollsafe: pnr rollback="restore the snapshot" timebox=20m -->
   ```
   pg_upgrade --link -b /usr/lib/postgresql/15/bin -B /usr/lib/postgresql/16/bin
   ```
   <!-- verify: psql -tAc 'show server_version' => ^16\. -->

## Roll back

- Restore from the snapshot <!-- rollsafe: id=restore on_fail=stop -->
"#;

const WIKI: &str = r#"# Redis failover

Use this page when the primary Redis node is unhealthy. Owner: [SRE team](https://wiki.example.com/sre).

## Before you start

- [ ] Open the [Redis dashboard](https://grafana.example.com/redis)
- [x] Tell `#incidents` you are starting

| Host    | Role    |
|---------|---------|
| redis-1 | primary |
| redis-2 | replica |

## Failover

1. Check replication on the replica:
   ```bash
   redis-cli -h redis-2 info replication
   ```
   `master_link_status` must be `up`.
2. Promote the *replica*
   ```bash
   redis-cli -h redis-2 replicaof no one
   ```
3. Point the app at the new primary:

```bash
kubectl set env deploy/app REDIS_HOST=redis-2
```

## Verify

Check that writes succeed:

```bash
redis-cli -h redis-2 set probe 1
```

Expected output: `OK`.

## Contacts

Page the on-call DBA if anything looks wrong.
"#;

const BROKEN: &str = "# Broken drill

## Steps

- [ ] First <!-- rollsafe: timebox=5x -->
- [ ] Second <!-- rollsafe: id=dup -->
- [ ] Third <!-- rollsafe: id=dup on_fail=goto:nowhere colour=red -->
";

const ODD: &str = "<!-- rollsafe: kind=deploy budget=soon owner=me -->
# Odd

- [ ] Check <!-- verify: curl -s localhost => ([ -->
- [ ] Go <!-- rollsafe: on_fail=explode pnr=maybe -->
";

const SUBSTEPS: &str = "# Restart the API

Restart pods one zone at a time.

### Drain zone A
```sh
kubectl drain -l zone=a
```
Watch the error rate.

### Restart pods <!-- rollsafe: timebox=5m -->
```sh
kubectl rollout restart deploy/api
```
";

const SUBPHASES: &str = "# Deploy

## Rollout

Ship it on a weekday.

### Checks
- [ ] CI is green
- [ ] Change approved

### Ship
```sh
make deploy
```
";

const PROSE: &str = "# Failover

## Promote

Check lag on the replica first:

```sql
select now() - pg_last_xact_replay_timestamp();
```

Lag must be under a second.

Then promote it. This takes about thirty seconds.

```sh
pg_ctl promote -D /var/lib/postgresql/data
```
";

const CHECKLIST: &str = "# Rotate TLS certificates
Rotate the edge certificates before they expire.
- [ ] Generate a CSR
- [ ] Upload the certificate
  ```text
  OK: uploaded
  ```
";

const NO_TITLE: &str = "<!-- rollsafe: kind=incident -->
Flush the CDN cache when stale assets are served.

```sh
cdnctl purge --all
```
";

fn load(file: &str, text: &str) -> Playbook {
    parse(file, text).unwrap_or_else(|problems| {
        let lines: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
        panic!("{file} should load:\n{}", lines.join("\n"))
    })
}

fn problems(file: &str, text: &str) -> Vec<(usize, usize, String)> {
    match parse(file, text) {
        Ok(p) => panic!("{file} should not load, got {p:#?}"),
        Err(found) => found
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect(),
    }
}

fn titles(p: &Playbook) -> Vec<(&str, &str)> {
    p.steps()
        .map(|(_, phase, step)| (phase.title.as_str(), step.title.as_str()))
        .collect()
}

#[test]
fn annotated_playbook_loads_every_annotation() {
    let p = load("runbooks/upgrade.md", ANNOTATED);
    assert_eq!(p.id, "pg-upgrade");
    assert_eq!(p.title, "Upgrade Postgres 15 → 16");
    assert_eq!(
        p.description,
        "Upgrade the primary with **pg_upgrade**, keeping the old cluster for rollback."
    );
    assert_eq!(p.kind, PlaybookKind::Migration);
    assert_eq!(p.budget, Some(Duration::from_secs(45 * 60)));
    assert_eq!(p.tags, ["postgres", "upgrade"]);
    let phase_ids: Vec<&str> = p.phases.iter().map(|ph| ph.id.as_str()).collect();
    assert_eq!(phase_ids, ["prep", "cut-over", "roll-back"]);
    let ids: Vec<&str> = p.steps().map(|(_, _, s)| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "snapshot",
            "announce-the-window-in-ops",
            "stop-writes",
            "run-pg-upgrade",
            "restore"
        ]
    );

    let snapshot = &p.phases[0].steps[0];
    assert_eq!(snapshot.title, "Snapshot the volume");
    assert_eq!(snapshot.timebox, Some(Duration::from_secs(600)));
    assert_eq!(snapshot.role.as_deref(), Some("dba"));
    assert_eq!(
        snapshot.command.as_deref(),
        Some("aws ec2 create-snapshot --volume-id ${VOLUME}")
    );
    let verify = snapshot.verify.as_ref().expect("snapshot has a verify");
    assert_eq!(verify.command, "aws ec2 describe-snapshots --owner self");
    assert_eq!(verify.expect.regex.as_deref(), Some("completed"));
    assert_eq!(snapshot.detail, "");

    let announce = &p.phases[0].steps[1];
    assert_eq!(
        announce.title, "Announce the window in #ops",
        "link text kept"
    );
    assert_eq!(announce.role.as_deref(), Some("incident commander"));
    assert_eq!(announce.timebox, Some(Duration::from_secs(120)));

    let stop = &p.phases[1].steps[0];
    assert_eq!(stop.on_fail, OnFail::Goto("restore".into()));
    assert_eq!(
        stop.command.as_deref(),
        Some("kubectl scale deploy/api --replicas=0")
    );
    assert_eq!(stop.detail, "Wait until connections drain.");
    assert!(!stop.point_of_no_return);

    let upgrade = &p.phases[1].steps[1];
    assert!(upgrade.point_of_no_return);
    assert_eq!(upgrade.rollback.as_deref(), Some("restore the snapshot"));
    assert_eq!(upgrade.timebox, Some(Duration::from_secs(1200)));
    assert_eq!(
        upgrade.command.as_deref(),
        Some("pg_upgrade --link -b /usr/lib/postgresql/15/bin -B /usr/lib/postgresql/16/bin")
    );
    let verify = upgrade.verify.as_ref().expect("upgrade has a verify");
    assert_eq!(verify.command, "psql -tAc 'show server_version'");
    assert_eq!(verify.expect.regex.as_deref(), Some(r"^16\."));
    assert_eq!(verify.expect.exit_code, None);

    assert_eq!(p.phases[2].steps[0].on_fail, OnFail::Stop);
    assert_eq!(p.points_of_no_return(), 1);

    for (_, _, step) in p.steps() {
        for text in [&step.title, &step.detail] {
            assert!(
                !text.contains("<!--") && !text.contains("rollsafe") && !text.contains("verify:"),
                "annotation leaked into {text:?}"
            );
        }
    }
}

#[test]
fn plain_wiki_runbook_loads_sensible_steps() {
    let p = load("wiki/redis-failover.md", WIKI);
    assert_eq!(p.id, "redis-failover", "id from the file name");
    assert_eq!(p.title, "Redis failover");
    assert_eq!(
        p.description,
        "Use this page when the primary Redis node is unhealthy. Owner: [SRE team](https://wiki.example.com/sre)."
    );
    assert_eq!(
        titles(&p),
        [
            ("Before you start", "Open the Redis dashboard"),
            ("Before you start", "Tell #incidents you are starting"),
            ("Failover", "Check replication on the replica"),
            ("Failover", "Promote the replica"),
            ("Failover", "Point the app at the new primary"),
            ("Verify", "Verify"),
            ("Contacts", "Contacts"),
        ]
    );
    let commands: Vec<Option<&str>> = p.steps().map(|(_, _, s)| s.command.as_deref()).collect();
    assert_eq!(
        commands,
        [
            None,
            None,
            Some("redis-cli -h redis-2 info replication"),
            Some("redis-cli -h redis-2 replicaof no one"),
            Some("kubectl set env deploy/app REDIS_HOST=redis-2"),
            Some("redis-cli -h redis-2 set probe 1"),
            None,
        ]
    );
    let details: Vec<&str> = p.steps().map(|(_, _, s)| s.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "",
            "| Host    | Role    |\n|---------|---------|\n| redis-1 | primary |\n| redis-2 | replica |",
            "`master_link_status` must be `up`.",
            "",
            "",
            "Check that writes succeed:\n\nExpected output: `OK`.",
            "Page the on-call DBA if anything looks wrong.",
        ]
    );
    let ids: Vec<&str> = p.phases.iter().map(|ph| ph.id.as_str()).collect();
    assert_eq!(ids, ["before-you-start", "failover", "verify", "contacts"]);
    assert!(
        p.steps()
            .all(|(_, _, s)| s.on_fail == OnFail::Stop && s.verify.is_none())
    );

    let crlf = load("wiki/redis-failover.md", &WIKI.replace('\n', "\r\n"));
    assert_eq!(crlf, p, "Windows line ends load the same");
}

#[test]
fn step_problems_are_reported_together_at_their_position() {
    let found = problems("broken.md", BROKEN);
    let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(at, [(5, 36), (7, 31), (7, 43), (7, 56)], "{found:#?}");
    assert!(
        found[0].2.starts_with("bad duration \"5x\""),
        "{}",
        found[0].2
    );
    assert!(
        found[1].2.starts_with("duplicate step id \"dup\""),
        "{}",
        found[1].2
    );
    assert_eq!(found[2].2, "on_fail goes to unknown step \"nowhere\"");
    assert!(
        found[3].2.starts_with("unknown annotation key `colour`"),
        "{}",
        found[3].2
    );
}

#[test]
fn playbook_and_verify_problems_point_into_the_comment() {
    let found = problems("odd.md", ODD);
    let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(
        at,
        [(1, 21), (1, 35), (1, 40), (4, 47), (5, 33), (5, 45)],
        "{found:#?}"
    );
    assert!(found[0].2.starts_with("unknown kind \"deploy\""));
    assert!(found[1].2.starts_with("bad duration \"soon\""));
    assert!(found[2].2.starts_with("unknown annotation key `owner`"));
    assert!(found[3].2.starts_with("bad verify regex"));
    assert!(found[4].2.starts_with("bad on_fail \"explode\""));
    assert!(found[5].2.contains("flag"));
}

#[test]
fn misplaced_and_unclosed_annotations_are_reported() {
    let text = "# T\n<!-- verify: true -->\n\n## A <!-- rollsafe: role=dba -->\n\n- one\n- two\n\n## B\n\n- three <!-- rollsafe: id=x\n\n- <!-- rollsafe: id=y -->\n";
    let found = problems("t.md", text);
    let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(at, [(2, 1), (4, 21), (11, 9), (13, 3)], "{found:#?}");
    assert!(found[0].2.contains("belongs to a step"));
    assert!(found[1].2.contains("belongs to a step, not to a heading"));
    assert!(found[2].2.contains("not closed"));
    assert!(found[3].2.contains("empty list item"));
}

#[test]
fn sub_headings_without_lists_are_steps() {
    let p = load("restart.md", SUBSTEPS);
    assert_eq!(p.description, "Restart pods one zone at a time.");
    assert_eq!(p.phases.len(), 1);
    assert_eq!(p.phases[0].title, "Steps");
    assert_eq!(
        titles(&p),
        [("Steps", "Drain zone A"), ("Steps", "Restart pods")]
    );
    let drain = &p.phases[0].steps[0];
    assert_eq!(drain.command.as_deref(), Some("kubectl drain -l zone=a"));
    assert_eq!(drain.detail, "Watch the error rate.");
    let restart = &p.phases[0].steps[1];
    assert_eq!(
        restart.command.as_deref(),
        Some("kubectl rollout restart deploy/api")
    );
    assert_eq!(
        restart.timebox,
        Some(Duration::from_secs(300)),
        "annotation on the ### line"
    );
}

#[test]
fn sub_headings_with_lists_are_phases() {
    let p = load("deploy.md", SUBPHASES);
    let phases: Vec<(&str, &str)> = p
        .phases
        .iter()
        .map(|ph| (ph.id.as_str(), ph.title.as_str()))
        .collect();
    assert_eq!(
        phases,
        [
            ("rollout-checks", "Rollout › Checks"),
            ("rollout-ship", "Rollout › Ship")
        ],
        "the empty \"Rollout\" part is dropped"
    );
    assert_eq!(
        titles(&p),
        [
            ("Rollout › Checks", "CI is green"),
            ("Rollout › Checks", "Change approved"),
            ("Rollout › Ship", "Ship"),
        ]
    );
    assert_eq!(
        p.phases[0].steps[0].detail, "Ship it on a weekday.",
        "phase intro kept"
    );
    assert_eq!(p.phases[1].steps[0].command.as_deref(), Some("make deploy"));
}

#[test]
fn pages_without_phase_headings_get_one_phase() {
    let p = load("tls.md", CHECKLIST);
    assert_eq!(
        p.description,
        "Rotate the edge certificates before they expire."
    );
    assert_eq!(
        titles(&p),
        [
            ("Steps", "Generate a CSR"),
            ("Steps", "Upload the certificate")
        ]
    );
    let upload = &p.phases[0].steps[1];
    assert_eq!(
        upload.command, None,
        "```text shows output, it is not a command"
    );
    assert_eq!(upload.detail, "```text\nOK: uploaded\n```");

    let p = load("runbooks/flush-cache.md", NO_TITLE);
    assert_eq!(
        (p.id.as_str(), p.title.as_str()),
        ("flush-cache", "Flush cache")
    );
    assert_eq!(p.kind, PlaybookKind::Incident);
    assert_eq!(titles(&p), [("Steps", "Flush cache")]);
    let step = &p.phases[0].steps[0];
    assert_eq!(
        step.detail,
        "Flush the CDN cache when stale assets are served."
    );
    assert_eq!(step.command.as_deref(), Some("cdnctl purge --all"));
}

#[test]
fn prose_sections_split_at_code_blocks() {
    let p = load("failover.md", PROSE);
    assert_eq!(
        titles(&p),
        [
            ("Promote", "Check lag on the replica first"),
            ("Promote", "Then promote it")
        ]
    );
    let (lag, promote) = (&p.phases[0].steps[0], &p.phases[0].steps[1]);
    assert_eq!(
        lag.command.as_deref(),
        Some("select now() - pg_last_xact_replay_timestamp();")
    );
    assert_eq!(lag.detail, "Lag must be under a second.");
    assert_eq!(
        promote.command.as_deref(),
        Some("pg_ctl promote -D /var/lib/postgresql/data")
    );
    assert_eq!(
        promote.detail,
        "Then promote it. This takes about thirty seconds."
    );
}

#[test]
fn heading_annotation_covers_a_single_step_section() {
    let text = "# T\n\n## Promote replica <!-- rollsafe: id=promote timebox=5m pnr -->\n\nRun:\n\n```sh\npg_ctl promote\n```\n";
    let p = load("t.md", text);
    assert_eq!(p.phases[0].id, "promote");
    let step = &p.phases[0].steps[0];
    assert_eq!(
        (step.id.as_str(), step.title.as_str()),
        ("promote", "Promote replica")
    );
    assert_eq!(step.timebox, Some(Duration::from_secs(300)));
    assert!(step.point_of_no_return);
    assert_eq!(step.detail, "Run:");
    assert_eq!(step.command.as_deref(), Some("pg_ctl promote"));
}

#[test]
fn item_titles_nested_items_and_details() {
    let text = "# T\n\n## Go\n\n- [ ] Promote the replica once lag is below\n  one second.\n  Then tell the team.\n  - check `pg_stat_replication`\n  - check the [dashboard](https://example.com)\n\n  ```sh\n  pg_ctl promote\n  ```\n\n  ```sh\n  echo second block stays in the detail\n  ```\n- **Bold** and `code`:\n";
    let p = load("t.md", text);
    assert_eq!(
        titles(&p),
        [
            ("Go", "Promote the replica once lag is below one second."),
            ("Go", "Bold and code")
        ]
    );
    let first = &p.phases[0].steps[0];
    assert_eq!(first.command.as_deref(), Some("pg_ctl promote"));
    assert_eq!(
        first.detail,
        "Then tell the team.\n- check `pg_stat_replication`\n- check the [dashboard](https://example.com)\n\n```sh\necho second block stays in the detail\n```"
    );
}

#[test]
fn derived_ids_are_made_unique_but_explicit_ones_are_kept() {
    let text = "# Checks\n\n## Again\n\n- Check lag\n- Check lag\n- Check lag <!-- rollsafe: id=check-lag-2 -->\n\n## Again\n\n- y\n";
    let p = load("checks.md", text);
    let ids: Vec<&str> = p.steps().map(|(_, _, s)| s.id.as_str()).collect();
    assert_eq!(ids, ["check-lag", "check-lag-3", "check-lag-2", "y"]);
    let phases: Vec<&str> = p.phases.iter().map(|ph| ph.id.as_str()).collect();
    assert_eq!(phases, ["again", "again-2"]);
    assert_eq!(p.id, "checks");
}

#[test]
fn lists_above_the_first_phase_are_description() {
    let text =
        "# T\n\n- [ ] VPN access\n- [ ] Pager <!-- rollsafe: id=pager -->\n\n## Go\n\n- Do it\n";
    let found = problems("t.md", text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].0, found[0].1), (4, 13));
    assert!(found[0].2.contains("description"), "{}", found[0].2);
    let p = load(
        "t.md",
        "# T\n\n- [ ] VPN access\n- [ ] Pager\n\n## Go\n\n- Do it\n",
    );
    assert_eq!(p.description, "- [ ] VPN access\n- [ ] Pager");
    assert_eq!(titles(&p), [("Go", "Do it")]);
}

#[test]
fn empty_pages_are_reported_at_the_top() {
    for text in ["", "  \n\n\t\n"] {
        let found = problems("empty.md", text);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].0, found[0].1), (1, 1));
        assert!(found[0].2.starts_with("empty playbook"), "{}", found[0].2);
    }
    let found = problems("title-only.md", "# Just a title\n");
    assert_eq!((found[0].0, found[0].1), (1, 1));
    assert!(found[0].2.starts_with("empty playbook"), "{}", found[0].2);
    // Only a description: it becomes the one step rather than nothing.
    let p = load("intro.md", "# Intro\n\nRead this first.\n\n## Later\n");
    assert_eq!(titles(&p), [("Steps", "Intro")]);
    assert_eq!(p.phases[0].steps[0].detail, "Read this first.");
}

/// Deterministic garbage: the loader answers Ok or Err, never panics.
#[test]
fn garbage_never_panics() {
    const PIECES: [&str; 48] = [
        "#",
        "# ",
        "## ",
        "### ",
        "#### ",
        "- ",
        "- [ ] ",
        "- [x] ",
        "1. ",
        "* ",
        "```",
        "```sh\n",
        "    ",
        "\n",
        "\n\n",
        "<!--",
        "-->",
        "<!-- rollsafe: ",
        "<!-- verify: ",
        "id=",
        "timebox=5m",
        "on_fail=goto:",
        "pnr",
        "=>",
        "\"",
        "|",
        "|---|",
        "> ",
        "[",
        "](x)",
        "*",
        "`",
        "!",
        "<",
        ">",
        "é",
        "日本",
        "🚀",
        "\t",
        " ",
        "step",
        "\r\n",
        "---",
        "\\",
        "=",
        "rollback=\"a b",
        "kind=",
        "  ",
    ];
    const CHARS: &str = "#-[]*`<>!\n =\"|:x1é日🚀\t\\";
    let chars: Vec<char> = CHARS.chars().collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % bound
    };
    for round in 0..600 {
        let mut text = String::new();
        let len = next(80);
        for _ in 0..len {
            if round % 2 == 0 {
                text.push_str(PIECES[next(PIECES.len())]);
            } else {
                text.push(chars[next(chars.len())]);
            }
        }
        match parse("fuzz.md", &text) {
            Ok(p) => {
                assert!(!p.phases.is_empty(), "{text:?}");
                assert!(p.phases.iter().all(|ph| !ph.steps.is_empty()), "{text:?}");
                assert!(
                    p.steps().all(|(_, _, s)| !s.title.trim().is_empty()),
                    "{text:?}"
                );
            }
            Err(found) => {
                assert!(!found.is_empty(), "{text:?}");
                assert!(
                    found.iter().all(|d| d.line >= 1 && d.column >= 1),
                    "{text:?}"
                );
            }
        }
    }
}

#[test]
fn an_annotation_of_many_bad_keys_reports_the_first_hundred_and_a_count() {
    let keys: String = (0..5000).map(|i| format!(" k{i}=v")).collect();
    let text = format!("# T\n\n## S\n\n1. Step <!-- rollsafe:{keys} -->\n");
    let found = problems("p.md", &text);
    assert_eq!(found.len(), super::super::diagnostic::MAX_PROBLEMS + 1);
    assert!(
        found[0].2.contains("unknown annotation key `k0`"),
        "{:?}",
        found[0]
    );
    let last = &found.last().unwrap().2;
    assert!(last.starts_with("4900 more problems not shown"), "{last}");
}

#[test]
fn a_line_of_many_brackets_is_one_step() {
    let text = format!("# T\n\n## S\n\n1. Open {}\n", "[".repeat(20_000));
    let p = load("p.md", &text);
    assert_eq!(p.step_count(), 1);
    assert!(p.phases[0].steps[0].title.starts_with("Open [[["));
}

#[test]
fn a_file_past_the_size_ceiling_is_refused_before_parsing() {
    let text = "x".repeat(crate::playbook::MAX_BYTES + 1);
    let found = crate::playbook::parse("big.md", &text).unwrap_err();
    assert_eq!(found.len(), 1);
    assert!(
        found[0].message.contains("too large"),
        "{}",
        found[0].message
    );
}

// ---------------------------------------------------------------------------
// Pages as teams write them (issue 13): samples written for these tests.

fn step<'p>(p: &'p Playbook, title: &str) -> &'p Step {
    p.steps()
        .map(|(_, _, s)| s)
        .find(|s| s.title == title)
        .unwrap_or_else(|| panic!("no step {title:?} in {:#?}", titles(p)))
}

fn warnings(text: &str) -> Vec<(usize, String)> {
    let (_, found) = parse_reviewed("page.md", text).expect("page loads");
    found.into_iter().map(|d| (d.line, d.message)).collect()
}

const TRANSCRIPT: &str = "# Disk full on a cache node

## Diagnosis

1. Look at the disks
   ```
   ops@cache-1:~$ lsblk
   NAME   MAJ:MIN
   sda      8:0
   ```
2. Check the feature flag
   ```ruby
   [ prod ] production> Feature.enabled?(:big_cache)
   => true
   ```
3. Count the sessions
   ```sql
   select count(*) from sessions;
   ```
4. How traffic flows
   ```mermaid
   graph TD
     lb --> cache
   ```
5. `sudo gitlab-ctl reconfigure`
6. Apply it to the fleet: `knife ssh 'roles:cache' 'sudo chef-client'`
";

#[test]
fn commands_are_what_a_person_types_and_fences_decide_the_kind() {
    let p = load("disk.md", TRANSCRIPT);
    let disks = step(&p, "Look at the disks");
    assert_eq!(disks.command.as_deref(), Some("lsblk"));
    assert_eq!(disks.command_kind, CommandKind::Run);
    assert_eq!(
        disks.expected_output.as_deref(),
        Some("NAME   MAJ:MIN\nsda      8:0")
    );

    let flag = step(&p, "Check the feature flag");
    assert_eq!(
        flag.command.as_deref(),
        Some("Feature.enabled?(:big_cache)")
    );
    assert_eq!(
        flag.command_kind,
        CommandKind::Paste("the Rails console".into())
    );
    assert_eq!(flag.runnable_command(), None);

    let sql = step(&p, "Count the sessions");
    assert_eq!(sql.command_kind.label(), "paste");

    let diagram = step(&p, "How traffic flows");
    assert_eq!(diagram.command, None, "a diagram is detail");
    assert!(diagram.detail.contains("lb --> cache"));

    let inline = step(&p, "sudo gitlab-ctl reconfigure");
    assert_eq!(
        inline.command.as_deref(),
        Some("sudo gitlab-ctl reconfigure")
    );
    let fleet = step(
        &p,
        "Apply it to the fleet: knife ssh 'roles:cache' 'sudo chef-client'",
    );
    assert_eq!(
        fleet.command.as_deref(),
        Some("knife ssh 'roles:cache' 'sudo chef-client'")
    );
}

#[test]
fn sql_runs_through_the_client_the_page_names() {
    let page = format!(
        "<!-- rollsafe: sql_client=\"psql $DATABASE_URL\" -->\n{}",
        TRANSCRIPT
    );
    let p = load("disk.md", &page);
    let sql = step(&p, "Count the sessions");
    assert_eq!(sql.command_kind, CommandKind::Run);
    assert_eq!(
        sql.command.as_deref(),
        Some("psql $DATABASE_URL <<'SQL'\nselect count(*) from sessions;\nSQL")
    );
}

#[test]
fn prompts_in_commands_are_warned_about_where_the_code_is() {
    let found = warnings(TRANSCRIPT);
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 6 && m.contains("prompts and output")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 12 && m.contains("prompts")),
        "{found:?}"
    );
}

const POINTERS: &str = "# Cache latency

## Steps

1. Drain the node
   ```sh
   cachectl drain cache-1
   ```
   - [Drain dashboard](https://dash.example.com/drain)
2. Restart it
   ```sh
   cachectl restart cache-1
   ```
- [Latency dashboard](https://dash.example.com/latency)
- [Runbook index](../README.md)
3. Undrain the node
   ```sh
   cachectl undrain cache-1
   ```

## Troubleshooting pointers

* [../network/packet-loss.md](../network/packet-loss.md)
* [Cache saturation](../cache/saturation.md): when memory is full
";

#[test]
fn link_lists_are_not_steps() {
    let p = load("latency.md", POINTERS);
    assert_eq!(
        titles(&p),
        [
            ("Steps", "Drain the node"),
            ("Steps", "Restart it"),
            ("Steps", "Undrain the node"),
        ]
    );
    // Links among the steps are notes of the step before them.
    assert!(
        step(&p, "Restart it")
            .detail
            .contains("[Latency dashboard]")
    );
    // A section of links is the page's sources.
    assert_eq!(
        p.sources,
        [
            "../network/packet-loss.md",
            "Cache saturation: ../cache/saturation.md"
        ]
    );
    let found = warnings(POINTERS);
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 21 && m.contains("list of links")),
        "{found:?}"
    );
}

#[test]
fn a_link_with_words_before_it_or_a_task_box_is_a_step() {
    let p = load(
        "x.md",
        "# X\n\n## Steps\n\n- Open the [dashboard](https://d.example.com)\n- [ ] [Upgrade the exporter](https://git.example.com/exporter)\n",
    );
    assert_eq!(p.step_count(), 2);
}

#[test]
fn a_checklist_in_a_fence_is_steps() {
    let p = load(
        "rotate.md",
        "# Rotate the password\n\n## Change issue\n\nPaste this into the change issue:\n\n```\n1. [ ] Announce the change\n1. [ ] Run `sudo gitlab-ctl reconfigure` on one node\n    1. [ ] If it fails, revert\n1. [ ] Converge the fleet\n```\n",
    );
    let got: Vec<&str> = p.steps().map(|(_, _, s)| s.title.as_str()).collect();
    assert_eq!(
        got,
        [
            "Announce the change",
            "Run sudo gitlab-ctl reconfigure on one node",
            "Converge the fleet"
        ]
    );
    assert!(p.steps().all(|(_, _, s)| s.command.is_none()
        || s.command.as_deref() == Some("sudo gitlab-ctl reconfigure")));
    assert_eq!(p.page, Some(PageKind::Checklist));
}

#[test]
fn page_kinds() {
    let alert = "# HighLatency\n\n## Meaning\n\nRequests are slow.\n\n## Impact\n\nUsers wait.\n\n## Diagnosis\n\nCheck the pods.\n\n## Mitigation\n\n```sh\nkubectl rollout restart deploy/api\n```\n";
    assert_eq!(load("a.md", alert).page, Some(PageKind::AlertRunbook));
    assert_eq!(load("w.md", WIKI).page, Some(PageKind::Procedure));
    let reference = "# Cache service\n\nThe cache sits in front of the API.\n\n## Architecture\n\nThree nodes behind a balancer.\n\n## Links\n\n- [Dashboard](https://d.example.com)\n- [Logs](https://l.example.com)\n";
    let p = load("r.md", reference);
    assert_eq!(p.page, Some(PageKind::Reference));
    let found = warnings(reference);
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 1 && m.contains("reference page")),
        "{found:?}"
    );
    // A page of nothing but links still loads: one step to read it.
    let links = "# Index\n\n- [One](one.md)\n- [Two](two.md)\n";
    let p = load("i.md", links);
    assert_eq!(p.step_count(), 1);
    assert_eq!(p.page, Some(PageKind::Reference));
}

#[test]
fn the_toml_export_marks_guesses_and_loads() {
    let p = load("disk.md", TRANSCRIPT);
    let text = super::super::toml_format::to_toml_for_review(&p);
    assert!(
        text.contains("# review: the page reads as a procedure"),
        "{text}"
    );
    assert!(
        text.contains("paste_into = \"the Rails console\""),
        "{text}"
    );
    assert!(
        text.contains(
            "# review: \"check-the-feature-flag\": the command is pasted into the Rails console"
        ),
        "{text}"
    );
    let again = super::super::toml_format::parse("disk.toml", &text).expect("export loads");
    let again_flag = again
        .steps()
        .map(|(_, _, s)| s)
        .find(|s| s.title == "Check the feature flag")
        .expect("step kept");
    assert_eq!(
        again_flag.command_kind,
        CommandKind::Paste("the Rails console".into())
    );
    assert_eq!(again.step_count(), p.step_count());
}

#[test]
fn lists_that_name_things_are_detail() {
    let p = load(
        "lb.md",
        "# Load balancer\n\n## Frontends\n\n- `http`: port 80\n  - redirects to https\n- `ssh`: port 22\n\n## Engines that rebalance\n\n- cassandra\n- ceph\n- kafka\n\n## Drain\n\n1. Drain the node\n   ```sh\n   lbctl drain lb-1\n   ```\n2. Stop: wait for connections to end\n",
    );
    assert_eq!(
        titles(&p),
        [
            ("Frontends", "Frontends"),
            ("Engines that rebalance", "Engines that rebalance"),
            ("Drain", "Drain the node"),
            ("Drain", "Stop: wait for connections to end"),
        ]
    );
    assert!(p.phases[0].steps[0].detail.contains("`http`: port 80"));
}

#[test]
fn an_undo_procedure_under_a_deeper_heading_is_not_merged_into_the_forward_step() {
    let p = load(
        "flag.md",
        "# Feature flag\n\n## Change\n\n### Enable the flag\n\nRun it on the console host.\n\n```sh\nflagctl enable big_cache\n```\n\n#### Rollback\n\n```sh\nflagctl disable big_cache\n```\n\n### Watch the error rate\n\nFor 15 minutes.\n",
    );
    assert_eq!(
        titles(&p),
        [
            ("Change", "Enable the flag"),
            ("Change", "Rollback"),
            ("Change", "Watch the error rate"),
        ]
    );
    assert_eq!(
        p.phases[0].steps[0].command.as_deref(),
        Some("flagctl enable big_cache")
    );
    assert!(!p.phases[0].steps[0].detail.contains("disable"));
    assert_eq!(
        p.phases[0].steps[1].command.as_deref(),
        Some("flagctl disable big_cache")
    );
}

// ---------------------------------------------------------------------------
// Pages read by hand a second time (issue 13): what was still a step, or
// still lost, on pages of the measured collections.

/// A service overview: sections to read, bullets of facts, one short
/// numbered procedure.
const OVERVIEW: &str = "# Cache service

## Configuration

- We use one cookbook for the agents and the servers.
- The role `cache-server` is the primary role of the servers.
- All agents will have the recipe in their run list.

## Dependencies

- A healthy network
- Working DNS
- A healthy server

## Recovery

Consul has a set of common error messages.

1. Stop the cache on the broken node
2. Move the data directory away
3. Start the cache again

## Monitoring

- [Overview dashboard](https://dash.example.com/cache)
- Logs can be found in Kibana under the cache index.
- We only alert on saturation of the nodes.
";

#[test]
fn bullets_that_describe_are_notes_and_a_service_overview_is_a_reference_page() {
    let p = load("cache.md", OVERVIEW);
    assert_eq!(
        titles(&p),
        [
            ("Configuration", "Configuration"),
            ("Dependencies", "Dependencies"),
            ("Recovery", "Stop the cache on the broken node"),
            ("Recovery", "Move the data directory away"),
            ("Recovery", "Start the cache again"),
            ("Monitoring", "Monitoring"),
        ]
    );
    let config = step(&p, "Configuration");
    assert!(config.detail.contains("We use one cookbook"), "{config:?}");
    assert!(step(&p, "Monitoring").detail.contains("Logs can be found"));
    // Three of six steps come from a list, no step has a command: the page
    // is read, not followed.
    assert_eq!(p.page, Some(PageKind::Procedure));
    let more = format!(
        "{OVERVIEW}\n## Scalability\n\nAdd nodes by hand.\n\n## Durability\n\nNo backups are taken.\n\n## Security\n\nTLS between nodes.\n\n## Performance\n\nNever tested.\n"
    );
    assert_eq!(load("cache.md", &more).page, Some(PageKind::Reference));
    let found = warnings(&more);
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == 1 && m.contains("3 of its 10 steps come from a list")),
        "{found:?}"
    );
}

#[test]
fn a_statement_among_bulleted_actions_is_a_note_of_the_step_before() {
    let p = load(
        "lb.md",
        "# Errors on the balancer\n\n## Resolution\n\n* If one backend alerts, check the node on the host dashboard.\n* Balancer logs are not sent to the log cluster.\n* Restart the balancer when nothing else helps.\n\n## Checks\n\n1. Errors are being reported by the balancer.\n2. Look at the dashboard.\n",
    );
    assert_eq!(
        titles(&p),
        [
            (
                "Resolution",
                "If one backend alerts, check the node on the host dashboard."
            ),
            (
                "Resolution",
                "Restart the balancer when nothing else helps."
            ),
            // Numbered items are steps whatever they say: the numbers give an order.
            ("Checks", "Errors are being reported by the balancer."),
            ("Checks", "Look at the dashboard."),
        ]
    );
    assert!(p.phases[0].steps[0].detail.contains("logs are not sent"));
}

#[test]
fn placeholders_and_bold_terms_explained_below_are_not_steps() {
    let p = load(
        "rotate.md",
        "# Rotate the password\n\nChange the following in the steps below:\n* `[old-user]` to the current user, usually `app`\n* `<env>` to the environment, e.g. `gstg`\n\n1. [ ] Create the temporary user\n1. [ ] Switch the app to it\n",
    );
    assert_eq!(
        titles(&p),
        [
            ("Steps", "Create the temporary user"),
            ("Steps", "Switch the app to it"),
        ]
    );
    assert!(p.description.contains("`[old-user]` to the current user"));
    let p = load(
        "move.md",
        "# Move a repository\n\n## Failure modes\n\nA move can fail in two ways.\n\n- **Checksum failure**\n  * The refs of the copy differ from the original.\n- **Timeout**\n  * The copy took too long.\n\n## Move\n\n1. Start the move\n",
    );
    assert_eq!(
        titles(&p),
        [
            ("Failure modes", "Failure modes"),
            ("Move", "Start the move")
        ]
    );
}

#[test]
fn a_sub_section_with_several_commands_keeps_every_command() {
    let p = load(
        "reindex.md",
        "# Packages\n\n## Re-indexing\n\nWhen indexing fails, re-index.\n\n### Trigger a re-index\n\nOpen the console on the node:\n\n```sh\nsudo pkgctl console\n```\n\nLoad the helper:\n\n```ruby\ndef reindex(p) = Package.find(p).reindex\n```\n\nCall it:\n\n```ruby\nreindex('app-1.2.rpm')\n```\n\n### Check\n\nThe package shows no label.\n",
    );
    let commands: Vec<&str> = p
        .steps()
        .filter_map(|(_, _, s)| s.command.as_deref())
        .collect();
    assert_eq!(
        commands,
        [
            "sudo pkgctl console",
            "def reindex(p) = Package.find(p).reindex",
            "reindex('app-1.2.rpm')"
        ]
    );
    assert_eq!(step(&p, "Check").command, None);
}

#[test]
fn a_section_whose_command_is_inline_gets_it() {
    let p = load(
        "scale.md",
        "# Scale up\n\n## Step 1\n\nCreate the node with the usual change.\n\n## Step 2\n\nOn the node, run: `systemctl enable patroni && systemctl start patroni`\n\n## Step 3\n\nThe admin console needs a tunnel.\n\n`ssh -L 7331:localhost:7331 lb-1.internal`\n\nThen open it in a browser.\n",
    );
    assert_eq!(step(&p, "Step 1").command, None);
    assert_eq!(
        step(&p, "Step 2").command.as_deref(),
        Some("systemctl enable patroni && systemctl start patroni")
    );
    assert_eq!(
        step(&p, "Step 3").command.as_deref(),
        Some("ssh -L 7331:localhost:7331 lb-1.internal")
    );
    assert_eq!(p.page, Some(PageKind::Procedure));
}

#[test]
fn a_root_transcript_runs_the_command_not_its_output() {
    let p = load(
        "procs.md",
        "# Old processes\n\n## Fix\n\n* Show the process tree:\n\n```\n# pstree -p $(pgrep -f /usr/sbin/lb)\nsystemd,1 --system\n  └─lb,28214 -Ws -f /etc/lb.cfg\n```\n\n* Kill the older one:\n\n```\n# kill -TERM 1827\n```\n\n* Drain first:\n\n```\n# Drain, but wait 1 minute\nsudo drain.sh -w 60\n```\n",
    );
    let tree = step(&p, "Show the process tree");
    assert_eq!(
        tree.command.as_deref(),
        Some("pstree -p $(pgrep -f /usr/sbin/lb)")
    );
    assert_eq!(
        tree.expected_output.as_deref(),
        Some("systemd,1 --system\n  └─lb,28214 -Ws -f /etc/lb.cfg")
    );
    assert_eq!(
        step(&p, "Kill the older one").command.as_deref(),
        Some("kill -TERM 1827")
    );
    // A comment in words over a command stays a comment.
    assert_eq!(
        step(&p, "Drain first").command.as_deref(),
        Some("# Drain, but wait 1 minute\nsudo drain.sh -w 60")
    );
}

#[test]
fn a_usage_message_in_a_fence_is_not_run() {
    let p = load(
        "state.md",
        "# Server state\n\n## Set it\n\n```\nSets server state on frontend balancers\n./bin/set-server-state {gprd,gstg} <ready|drain> [filter]\n```\n",
    );
    assert_eq!(p.phases[0].steps[0].command_kind, CommandKind::Reference);
}

#[test]
fn commands_after_a_step_that_opens_a_session_are_typed_there() {
    let p = load(
        "runner.md",
        "# Runner errors\n\n## Checks\n\n1. SSH into the machine:\n   ```\n   ssh runner-1.example.com\n   ```\n2. List the machines:\n   ```\n   /root/machines.sh list\n   ```\n3. Leave it:\n   ```\n   exit\n   ```\n4. Look at the dashboard:\n   ```\n   open https://dash.example.com\n   ```\n\n## Resolution\n\n1. Remove failing machines:\n   ```\n   ./remove-failing.sh\n   ```\n",
    );
    assert_eq!(
        step(&p, "SSH into the machine").command_kind,
        CommandKind::Run
    );
    assert_eq!(
        step(&p, "List the machines").command_kind,
        CommandKind::Paste("the ssh session (opened by `ssh runner-1.example.com`)".into())
    );
    assert_eq!(
        step(&p, "Look at the dashboard").command_kind,
        CommandKind::Run
    );
    assert_eq!(
        step(&p, "Remove failing machines").command_kind,
        CommandKind::Run
    );
    // `kubectl exec` naming no command after `--` opens the container's shell.
    let p = load(
        "etcd.md",
        "# etcd down\n\n## Diagnosis\n\nExec into the etcdctl container:\n\n```shell\n$ kubectl exec -c etcdctl -n etcd etcd-0\n```\n\nCheck the health:\n\n```shell\n$ etcdctl endpoint health\n```\n\nList the data directory:\n\n```shell\n$ kubectl exec -n etcd etcd-0 -- ls /var/lib/etcd\n```\n",
    );
    assert_eq!(
        step(&p, "Check the health").command_kind,
        CommandKind::Paste(
            "the container shell (opened by `kubectl exec -c etcdctl -n etcd etcd-0`)".into()
        )
    );
}

#[test]
fn nested_commands_with_notes_below_them_are_the_items_command() {
    let p = load(
        "rotate.md",
        "# Rotate\n\n1. [ ] Make sure no client uses the old user by running all of the following:\n    1. [ ] `knife ssh 'roles:base' 'sudo grep username /etc/app/database.yml'`\n        * Should be no output\n    1. [ ] `knife ssh 'roles:db' 'sudo psql -c \"SELECT 1\"'`\n        * All counts should be zero\n    1. [ ] Check Sentry for failed logins\n1. [ ] Drop the old user\n",
    );
    assert_eq!(
        p.phases[0].steps[0].command.as_deref(),
        Some(
            "knife ssh 'roles:base' 'sudo grep username /etc/app/database.yml'\nknife ssh 'roles:db' 'sudo psql -c \"SELECT 1\"'"
        )
    );
    assert!(p.phases[0].steps[0].detail.contains("Check Sentry"));
}

#[test]
fn a_command_for_a_host_named_in_words_is_not_run_locally() {
    let p = load(
        "missing.md",
        "# Missing repository\n\n## Checks\n\n### On disk?\n\nLog in to the shard we think the repository is under, run\n\n```\n$ sudo ls /var/opt/git/repo.git\n```\n\n### Everywhere\n\n```\nknife ssh 'roles:stor' 'sudo ls /var/opt/git'\n```\n\n### Locally\n\nOn your workstation, run\n\n```\ngit clone git@example.com:ops/runbooks.git\n```\n",
    );
    assert_eq!(
        step(&p, "On disk?").command_kind,
        CommandKind::Paste("a shell on the shard, as the step says in words".into())
    );
    assert_eq!(step(&p, "Everywhere").command_kind, CommandKind::Run);
    assert_eq!(step(&p, "Locally").command_kind, CommandKind::Run);
}
