//! The real `weir` binary against a real `weir broker` process.

// Test support code panics on setup failure by design: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const WEIR: &str = env!("CARGO_BIN_EXE_weir");

struct BrokerProcess {
    child: Child,
    bootstrap: String,
    dir: tempfile::TempDir,
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_broker() -> BrokerProcess {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(WEIR)
        .args(["broker", "--override"])
        .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"))
        .arg("--override")
        .arg(format!("log.dirs={}", dir.path().display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    BrokerProcess {
        child,
        bootstrap: format!("127.0.0.1:{port}"),
        dir,
    }
}

fn weir(args: &[&str]) -> Output {
    Command::new(WEIR).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = weir(args);
    assert!(
        out.status.success(),
        "weir {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `weir args`, which must fail with one line on stderr (no stack trace); returns it.
fn fails_with_one_line(args: &[&str]) -> String {
    let out = weir(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    err
}

/// `weir topics --create` of a topic with `partitions` partitions.
fn create_topic(b: &str, topic: &str, partitions: u32) {
    let partitions = partitions.to_string();
    ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--create",
        "--topic",
        topic,
        "--partitions",
        &partitions,
    ]);
}

fn produce(b: &str, topic: &str, extra: &[&str], input: &str) {
    let mut child = Command::new(WEIR)
        .args(["produce", "--bootstrap-server", b, "--topic", topic])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn topics_produce_offsets_configs_dump_log() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    let out = ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--create",
        "--topic",
        "cli",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
        "--config",
        "retention.ms=123456",
    ]);
    assert_eq!(out, "Created topic cli.\n");
    assert!(ok(&["topics", "--bootstrap-server", b, "--list"])
        .lines()
        .any(|l| l == "cli"));
    let describe = ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--describe",
        "--topic",
        "cli",
    ]);
    let mut lines = describe.lines();
    let head = lines.next().unwrap();
    assert!(head.starts_with("Topic: cli\tTopicId: "), "{head}");
    assert!(
        head.ends_with("\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=123456"),
        "{head}"
    );
    for p in 0..3 {
        assert_eq!(
            lines.next().unwrap(),
            format!("\tTopic: cli\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1")
        );
    }

    // Keys land where the Java client would put them (murmur2 % 3): a->1, abc->0, ab->2.
    produce(
        b,
        "cli",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        "a:1\nabc:2\nab:3\nab:4\n",
    );
    produce(
        b,
        "cli",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
            "--compression-codec",
            "lz4",
            "--request-required-acks",
            "1",
        ],
        "h1:x,h2:y\tabc\twith-headers\n",
    );
    assert_eq!(
        ok(&["offsets", "--bootstrap-server", b, "--topic", "cli"]),
        "cli:0:2\ncli:1:1\ncli:2:2\n"
    );
    assert_eq!(
        ok(&[
            "offsets",
            "--bootstrap-server",
            b,
            "--topic",
            "cli",
            "--time",
            "-2",
            "--partitions",
            "0"
        ]),
        "cli:0:0\n"
    );

    let log = broker
        .dir
        .path()
        .join("cli-0")
        .join("00000000000000000000.log");
    let dump = ok(&[
        "dump-log",
        "--files",
        log.to_str().unwrap(),
        "--print-data-log",
    ]);
    assert!(
        dump.contains("baseOffset: 0 lastOffset: 0 count: 1"),
        "{dump}"
    );
    assert!(dump.contains("compresscodec: lz4"), "{dump}");
    assert!(dump.contains("isvalid: true"), "{dump}");
    assert!(dump.contains("key: abc payload: 2"), "{dump}");
    assert!(
        dump.contains("headerKeys: [h1,h2] key: abc payload: with-headers"),
        "{dump}"
    );
    assert!(!ok(&["dump-log", "--files", log.to_str().unwrap()]).contains("payload"));

    ok(&[
        "configs",
        "--bootstrap-server",
        b,
        "--entity-type",
        "topics",
        "--entity-name",
        "cli",
        "--alter",
        "--add-config",
        "retention.ms=5000,cleanup.policy=compact",
    ]);
    let d = ok(&[
        "configs",
        "--bootstrap-server",
        b,
        "--entity-type",
        "topics",
        "--entity-name",
        "cli",
        "--describe",
    ]);
    assert!(d.starts_with("Dynamic configs for topic cli are:\n"), "{d}");
    assert!(
        d.contains(
            "  retention.ms=5000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=5000}"
        ),
        "{d}"
    );
    assert!(d.contains("  cleanup.policy=compact "), "{d}");
    ok(&[
        "configs",
        "--bootstrap-server",
        b,
        "--entity-type",
        "topics",
        "--entity-name",
        "cli",
        "--alter",
        "--delete-config",
        "cleanup.policy",
    ]);
    let d = ok(&[
        "configs",
        "--bootstrap-server",
        b,
        "--entity-type",
        "topics",
        "--entity-name",
        "cli",
        "--describe",
    ]);
    assert!(!d.contains("cleanup.policy"), "{d}");
    let all = ok(&[
        "configs",
        "--bootstrap-server",
        b,
        "--entity-type",
        "brokers",
        "--entity-name",
        "1",
        "--describe",
        "--all",
    ]);
    assert!(all.starts_with("All configs for broker 1 are:\n"), "{all}");

    ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--alter",
        "--topic",
        "cli",
        "--partitions",
        "4",
    ]);
    assert!(ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--describe",
        "--topic",
        "cli"
    ])
    .contains("PartitionCount: 4"));
    ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--delete",
        "--topic",
        "cli",
    ]);
    assert!(!ok(&["topics", "--bootstrap-server", b, "--list"])
        .lines()
        .any(|l| l == "cli"));
}

#[test]
fn errors_are_one_line_with_a_non_zero_exit() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    create_topic(b, "dup", 1);
    for (args, expect) in [
        (
            vec![
                "topics",
                "--bootstrap-server",
                b,
                "--create",
                "--topic",
                "dup",
                "--partitions",
                "1",
            ],
            "TopicAlreadyExists",
        ),
        (
            vec!["topics", "--bootstrap-server", "127.0.0.1:1", "--list"],
            "cannot connect",
        ),
        (
            vec![
                "topics",
                "--bootstrap-server",
                b,
                "--describe",
                "--topic",
                "nope",
            ],
            "UnknownTopicOrPartition",
        ),
        (
            vec![
                "configs",
                "--bootstrap-server",
                b,
                "--entity-type",
                "users",
                "--entity-name",
                "x",
                "--describe",
            ],
            "--entity-type",
        ),
    ] {
        let err = fails_with_one_line(&args);
        assert!(
            err.starts_with("error: ") && err.contains(expect),
            "{args:?}: {err}"
        );
    }
    // if-not-exists makes the duplicate create a no-op.
    ok(&[
        "topics",
        "--bootstrap-server",
        b,
        "--create",
        "--topic",
        "dup",
        "--partitions",
        "1",
        "--if-not-exists",
    ]);
}

#[test]
fn perf_produce_reports_kafka_lines_and_json() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    let out = ok(&[
        "perf",
        "produce",
        "--topic",
        "perf",
        "--num-records",
        "20000",
        "--record-size",
        "100",
        "--throughput",
        "-1",
        "--producer-props",
        &format!("bootstrap.servers={b}"),
        "acks=1",
        "linger.ms=2",
        "--json",
        "--reporting-interval",
        "0.2",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let summary = lines[lines.len() - 2];
    assert!(summary.starts_with("20000 records sent, "), "{out}");
    for part in [
        "records/sec",
        "MB/sec",
        "ms avg latency",
        "ms max latency",
        "ms 50th",
        "ms 95th",
        "ms 99th",
        "ms 99.9th.",
    ] {
        assert!(summary.contains(part), "{summary}");
    }
    let json = lines[lines.len() - 1];
    assert!(
        json.starts_with("{\"records\": 20000,") && json.ends_with('}'),
        "{json}"
    );
    for key in [
        "records_per_sec",
        "mb_per_sec",
        "avg_latency_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "p999_ms",
    ] {
        assert!(json.contains(&format!("\"{key}\": ")), "{json}");
    }
    assert_eq!(
        ok(&["offsets", "--bootstrap-server", b, "--topic", "perf"]),
        "perf:0:20000\n"
    );
    let _ = Path::new(WEIR);
}

#[test]
fn consume_prints_like_the_console_consumer() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    create_topic(b, "cons", 1);
    produce(
        b,
        "cons",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
        ],
        "h1:x,h2:y\tk0\tv0\n\tk1\tv1\n\tk2\tv2\n",
    );
    let consume = |extra: &[&str]| {
        let mut args = vec![
            "consume",
            "--bootstrap-server",
            b,
            "--topic",
            "cons",
            "--timeout-ms",
            "3000",
        ];
        args.extend_from_slice(extra);
        let out = weir(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (out, err) = consume(&["--from-beginning"]);
    assert_eq!(out, "v0\nv1\nv2\n");
    assert!(err.contains("Processed a total of 3 messages"), "{err}");
    let (out, _) = consume(&[
        "--from-beginning",
        "--max-messages",
        "2",
        "--property",
        "print.key=true",
        "--property",
        "print.headers=true",
        "--property",
        "print.partition=true",
        "--property",
        "print.offset=true",
        "--property",
        "key.separator=|",
    ]);
    assert_eq!(
        out,
        "Partition:0|Offset:0|h1:x,h2:y|k0|v0\nPartition:0|Offset:1|NO_HEADERS|k1|v1\n"
    );
    let (out, _) = consume(&["--partition", "0", "--offset", "2"]);
    assert_eq!(out, "v2\n");
    let (out, _) = consume(&[
        "--partition",
        "0",
        "--offset",
        "earliest",
        "--max-messages",
        "1",
        "--property",
        "print.timestamp=true",
        "--isolation-level",
        "read_committed",
    ]);
    assert!(
        out.starts_with("CreateTime:") && out.ends_with("\tv0\n"),
        "{out}"
    );
    // A group: the first run reads everything and commits, the second finds nothing new.
    let (out, _) = consume(&["--group", "cg", "--from-beginning"]);
    assert_eq!(out, "v0\nv1\nv2\n");
    produce(b, "cons", &[], "v3\n");
    let (out, _) = consume(&["--group", "cg", "--from-beginning"]);
    assert_eq!(out, "v3\n");
    // Latest: nothing before the timeout.
    let (out, _) = consume(&[]);
    assert_eq!(out, "");
    fails_with_one_line(&[
        "consume",
        "--bootstrap-server",
        b,
        "--topic",
        "nope",
        "--timeout-ms",
        "100",
    ]);
}

#[test]
fn groups_list_describe_and_perf_consume() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    create_topic(b, "gt", 2);
    produce(b, "gt", &[], "a\nb\nc\nd\n");
    // A member that stays in the group while it is described.
    let mut member = Command::new(WEIR)
        .args([
            "consume",
            "--bootstrap-server",
            b,
            "--topic",
            "gt",
            "--group",
            "live",
            "--from-beginning",
            "--timeout-ms",
            "30000",
            "--consumer-property",
            "auto.commit.interval.ms=100",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let describe = loop {
        assert!(Instant::now() < deadline, "the member never committed");
        let out = weir(&[
            "groups",
            "--bootstrap-server",
            b,
            "--describe",
            "--group",
            "live",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("live ")).collect();
        let complete = |r: &&str| {
            let cols: Vec<&str> = r.split_whitespace().collect();
            cols.len() == 9 && cols[3] != "-" && cols[6] != "-"
        };
        if rows.len() == 2 && rows.iter().all(complete) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = member.kill();
    let _ = member.wait();
    let lines: Vec<&str> = describe.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID"),
        "{describe}"
    );
    for row in &lines[1..] {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], "live");
        assert_eq!(cols[1], "gt");
        assert_eq!(cols[3], cols[4], "{row}"); // everything consumed
        assert_eq!(cols[5], "0");
        assert!(cols[6].starts_with("weir-console-consumer"), "{row}");
        assert_eq!(cols[8], "weir-console-consumer", "{row}");
    }
    assert!(ok(&["groups", "--bootstrap-server", b, "--list"])
        .lines()
        .any(|l| l == "live"));
    let out = weir(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "none",
    ]);
    assert!(!out.status.success());
    // A member that read everything and left: reset its offsets, then delete it.
    let out = ok(&[
        "consume",
        "--bootstrap-server",
        b,
        "--topic",
        "gt",
        "--group",
        "rs",
        "--from-beginning",
        "--timeout-ms",
        "1000",
    ]);
    assert_eq!(out.lines().count(), 4);
    let reset = |extra: &[&str]| {
        let mut a = vec![
            "groups",
            "--bootstrap-server",
            b,
            "--reset-offsets",
            "--group",
            "rs",
            "--topic",
            "gt",
        ];
        a.extend_from_slice(extra);
        ok(&a)
    };
    let lag_of = |describe: &str| -> i64 {
        describe
            .lines()
            .filter(|l| l.starts_with("rs "))
            .map(|l| l.split_whitespace().nth(5).unwrap().parse::<i64>().unwrap())
            .sum()
    };
    let out = reset(&["--to-earliest"]);
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("rs ")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|r| r.ends_with(" 0")), "{out}");
    // A dry run changed nothing: the lag is still 0.
    let describe = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "rs",
    ]);
    assert!(describe.contains("has no active members"), "{describe}");
    assert_eq!(lag_of(&describe), 0, "{describe}");
    reset(&["--to-earliest", "--execute"]);
    let describe = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "rs",
    ]);
    assert_eq!(lag_of(&describe), 4, "{describe}");
    reset(&["--shift-by", "1", "--execute"]);
    let out = ok(&[
        "consume",
        "--bootstrap-server",
        b,
        "--topic",
        "gt",
        "--group",
        "rs",
        "--timeout-ms",
        "1000",
    ]);
    assert_eq!(out.lines().count(), 4 - out_of_shift(&describe), "{out}");
    assert_eq!(
        ok(&[
            "groups",
            "--bootstrap-server",
            b,
            "--delete",
            "--group",
            "rs"
        ]),
        "Deletion of requested consumer groups ('rs') was successful.\n"
    );
    assert!(!ok(&["groups", "--bootstrap-server", b, "--list"])
        .lines()
        .any(|l| l == "rs"));

    let out = ok(&[
        "perf",
        "consume",
        "--bootstrap-server",
        b,
        "--topic",
        "gt",
        "--messages",
        "4",
        "--json",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("start.time, end.time, data.consumed.in.MB"),
        "{out}"
    );
    assert!(lines[2].starts_with("4 records received, "), "{out}");
    assert!(
        lines[3].starts_with("{\"records\": 4,") && lines[3].contains("\"p99_ms\": "),
        "{out}"
    );
}

/// How many records `--shift-by 1` skips: one per partition that has records.
fn out_of_shift(describe: &str) -> usize {
    describe
        .lines()
        .filter(|l| l.starts_with("rs "))
        .filter(|l| l.split_whitespace().nth(4).unwrap() != "0")
        .count()
}

#[test]
fn perf_e2e_measures_latency_at_a_fixed_rate() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    let out = ok(&[
        "perf",
        "e2e",
        "--bootstrap-server",
        b,
        "--topic",
        "e2e",
        "--num-records",
        "2000",
        "--throughput",
        "2000",
        "--record-size",
        "64",
        "--json",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let summary = lines[lines.len() - 2];
    assert!(
        summary.starts_with("2000 records at 2000 records/s, "),
        "{out}"
    );
    for part in ["ms avg latency", "ms 50th", "ms 99th", "ms 99.9th."] {
        assert!(summary.contains(part), "{summary}");
    }
    let json = lines[lines.len() - 1];
    assert!(json.starts_with("{\"records\": 2000,"), "{json}");
    let p99: f64 = json
        .split("\"p99_ms\": ")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1.0);
    // A latency is positive; an unparsed or negative figure means the tool misreported.
    assert!(p99 > 0.0, "{json}");
    // The tool created the topic and every record went through it.
    assert_eq!(
        ok(&["offsets", "--bootstrap-server", b, "--topic", "e2e"]),
        "e2e:0:2000\n"
    );
    // A record size too small for the stamp is refused with one line.
    fails_with_one_line(&[
        "perf",
        "e2e",
        "--bootstrap-server",
        b,
        "--topic",
        "e2e",
        "--record-size",
        "8",
    ]);
}

#[test]
fn groups_reset_offsets_by_datetime_and_duration() {
    let broker = start_broker();
    let b = broker.bootstrap.as_str();
    create_topic(b, "dt", 1);
    produce(b, "dt", &[], "a\nb\nc\n");
    // Timestamps are milliseconds: leave a clear gap on both sides of the cut.
    std::thread::sleep(Duration::from_millis(300));
    let cut = chrono::Utc::now();
    std::thread::sleep(Duration::from_millis(300));
    produce(b, "dt", &[], "d\ne\nf\n");
    let out = ok(&[
        "consume",
        "--bootstrap-server",
        b,
        "--topic",
        "dt",
        "--group",
        "g",
        "--from-beginning",
        "--timeout-ms",
        "1000",
    ]);
    assert_eq!(out.lines().count(), 6, "{out}");
    let new_offset = |spec: &[&str]| -> String {
        let mut a = vec![
            "groups",
            "--bootstrap-server",
            b,
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "dt",
        ];
        a.extend_from_slice(spec);
        let out = ok(&a);
        let row = out
            .lines()
            .find(|l| l.starts_with("g "))
            .unwrap_or_else(|| panic!("no row in {out}"))
            .to_string();
        row.split_whitespace().nth(3).unwrap().to_string()
    };
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    assert_eq!(new_offset(&["--to-datetime", &at(cut)]), "3");
    // With an explicit offset from UTC, the same instant.
    let plus_two = cut.with_timezone(&chrono::FixedOffset::east_opt(7200).unwrap());
    let s = plus_two.format("%Y-%m-%dT%H:%M:%S%.3f+02:00").to_string();
    assert_eq!(new_offset(&["--to-datetime", &s]), "3");
    // Before everything: the first record; after everything: the log end.
    assert_eq!(
        new_offset(&["--to-datetime", "2000-01-01T00:00:00.000Z"]),
        "0"
    );
    let future = at(chrono::Utc::now() + chrono::Duration::hours(1));
    assert_eq!(new_offset(&["--to-datetime", &future]), "6");
    assert_eq!(new_offset(&["--by-duration", "PT1H"]), "0");
    assert_eq!(new_offset(&["--by-duration", "PT0S"]), "6");
    // --execute commits it: the group's lag becomes 3.
    new_offset(&["--to-datetime", &at(cut), "--execute"]);
    let describe = ok(&[
        "groups",
        "--bootstrap-server",
        b,
        "--describe",
        "--group",
        "g",
    ]);
    let lag: i64 = describe
        .lines()
        .filter(|l| l.starts_with("g "))
        .map(|l| l.split_whitespace().nth(5).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(lag, 3, "{describe}");
    // Malformed input: one line, non-zero exit, nothing committed.
    for bad in [["--to-datetime", "yesterday"], ["--by-duration", "1 hour"]] {
        let mut a = vec![
            "groups",
            "--bootstrap-server",
            b,
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "dt",
            "--execute",
        ];
        a.extend_from_slice(&bad);
        let out = weir(&a);
        assert!(!out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim().lines().count(),
            1
        );
    }
}
