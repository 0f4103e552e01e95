//! Database definitions on lab nodes: hostile values arrive as literal text, the clock
//! section starts the daemon under libfaketime, tarball installs are idempotent.
//! Needs root; runs under CI=true, skips elsewhere.

mod common;

use std::path::Path;
use std::time::Duration;

use splitbrain_control::db::{Db, DbDef};
use splitbrain_control::{Cluster, Cmd, Node, Session};

use common::{FAKETIME, available, config, connect, lab_available, with_lab};

const EVIL: &str = "$(touch /tmp/sb-pwned) `touch /tmp/sb-pwned`; touch /tmp/sb-pwned && echo ' \"q\" \\ $HOME\nline2 | x > /tmp/sb-pwned";

fn no_side_effect_on_host() {
    assert!(
        !Path::new("/tmp/sb-pwned").exists(),
        "a hostile value ran on the host"
    );
}

async fn no_side_effect_on(s: &Session) {
    let seen = s
        .output(&Cmd::new("ls").arg("/tmp/sb-pwned"))
        .await
        .unwrap();
    assert_ne!(seen.status, 0, "a hostile value ran on {}", s.node());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_node_names_and_config_values_arrive_literally() {
    if !lab_available("hostile_node_names_and_config_values_arrive_literally") {
        return;
    }
    let _ = std::fs::remove_file("/tmp/sb-pwned");
    with_lab(config("tquo", 31, 2), |inv| async move {
        // Real-machine style nodes may have any name: give the lab's nodes hostile ones.
        let names = ["n1'; touch /tmp/sb-pwned; echo '", "$(touch /tmp/sb-pwned)\n`x`;|&"];
        let nodes: Vec<Node> = inv.nodes.iter().zip(names).map(|(n, name)| Node::new(name, n.host.clone(), n.port)).collect();
        let cluster = Cluster::connect(&nodes, &inv.ssh_config()).await.unwrap();

        // Plain commands: every part is a hostile value.
        let s = &cluster.sessions()[0];
        let dir = format!("/tmp/{}", EVIL.replace('/', "_"));
        s.exec(&Cmd::new("mkdir").arg("-p").arg(&dir)).await.unwrap();
        let out = s
            .exec(&Cmd::shell(r#"printf '%s|%s|%s|' "$1" "$V" "$(pwd)"; cat"#).arg(EVIL).env("V", EVIL).cwd(&dir).stdin(EVIL))
            .await
            .unwrap();
        assert_eq!(out.stdout, format!("{EVIL}|{EVIL}|{dir}|{EVIL}"));
        let out = s.exec(&Cmd::new("printf").arg("%s").arg(EVIL)).await.unwrap();
        assert_eq!(out.stdout, EVIL);

        // A database definition whose values and node names are hostile.
        let yaml = r#"
name: quoting
vars:
  evil: "@@EVIL@@"
data_dir: /opt/quoting/data
cluster:
  peer: "{{node}}@{{ip}}"
install:
  skip_if: test -f /opt/quoting/never-{{node}}
  commands:
    - mkdir -p /opt/quoting && printf '%s\n' {{node}} {{evil}} > /opt/quoting/install.out
configure:
  files:
    - path: /opt/quoting/config
      content: "node={{node}}\nevil={{evil}}\n"
      mode: "0600"
daemon:
  command: [sh, -c, 'printf "%s\n" "$@" > /opt/quoting/argv; printf %s "$EVIL" > /opt/quoting/env; exec sleep 1000', sh, "{{node}}", "--evil={{evil}}", "{{peers}}"]
  env: {EVIL: "{{evil}}"}
  pid_file: /run/quoting.pid
  log_file: /var/log/quoting.log
  stop_timeout: 2s
ready:
  command: test -s /opt/quoting/env && test {{evil}} = "$(cat /opt/quoting/env)"
  timeout: 10s
leader:
  command: test {{index}} = 1 && test -n {{evil}}
teardown:
  wipe: [/opt/quoting]
"#
        .replace("@@EVIL@@", &EVIL.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
        let def = DbDef::parse(&yaml, Path::new("quoting.yaml")).unwrap_or_else(|e| panic!("{e}"));
        let db = Db::new(def, &cluster).unwrap();
        assert_eq!(db.vars(names[0]).unwrap()["evil"], EVIL);
        db.setup(&cluster).await.unwrap_or_else(|e| panic!("{e}"));

        let peers = format!("{}@{},{}@{}", names[0], nodes[0].host, names[1], nodes[1].host);
        for (s, name) in cluster.sessions().iter().zip(names) {
            let read = |p: &'static str| async move { String::from_utf8(s.download_bytes(p, false).await.unwrap()).unwrap() };
            assert_eq!(read("/opt/quoting/argv").await, format!("{name}\n--evil={EVIL}\n{peers}\n"));
            assert_eq!(read("/opt/quoting/env").await, EVIL);
            assert_eq!(read("/opt/quoting/config").await, format!("node={name}\nevil={EVIL}\n"));
            assert_eq!(read("/opt/quoting/install.out").await, format!("{name}\n{EVIL}\n"));
            let mode = s.exec(&Cmd::new("stat").arg("-c").arg("%a").arg("/opt/quoting/config")).await.unwrap();
            assert_eq!(mode.out(), "600");
            no_side_effect_on(s).await;
        }
        let leaders = db.leader(&cluster).await.unwrap().unwrap();
        assert_eq!(leaders, vec![nodes[0].clone()]);
        db.teardown_all(&cluster).await.unwrap();
        for s in cluster.sessions() {
            assert!(!db.running(s).await.unwrap());
            assert_ne!(s.output(&Cmd::new("test").arg("-e").arg("/opt/quoting")).await.unwrap().status, 0);
            no_side_effect_on(s).await;
        }
        no_side_effect_on_host();
    })
    .await;
    no_side_effect_on_host();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clock_section_runs_the_daemon_under_libfaketime() {
    if !available(
        "clock_section_runs_the_daemon_under_libfaketime",
        &[FAKETIME],
    ) {
        return;
    }
    with_lab(config("tclk", 32, 1), |inv| async move {
        let cluster = connect(&inv).await;
        let yaml = r#"
name: clock
data_dir: /opt/clock
daemon:
  command: [sh, -c, 'while :; do date +%s > /tmp/now.new && mv /tmp/now.new /tmp/now; sleep 0.1; done']
  pid_file: /run/clock.pid
  log_file: /var/log/clock.log
  stop_timeout: 1s
ready:
  command: test -s /tmp/now
  timeout: 10s
clock:
  faketime: true
  file: /run/clock-offset
"#;
        let db = Db::new(DbDef::parse(yaml, Path::new("clock.yaml")).unwrap(), &cluster).unwrap();
        db.setup(&cluster).await.unwrap_or_else(|e| panic!("{e}"));
        let s = &cluster.sessions()[0];
        let now = || async {
            let real = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let seen: i64 = s.exec(&Cmd::new("cat").arg("/tmp/now")).await.unwrap().out().parse().unwrap();
            seen - real
        };
        assert!(now().await.abs() <= 2, "offset +0 should be the real time");
        assert_eq!(db.clock_file(s).unwrap(), "/run/clock-offset");
        s.upload("-1d\n", "/run/clock-offset", false).await.unwrap();
        // The daemon writes every 0.1 s; on a loaded machine that can take a while: poll.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let skew = now().await;
            if (skew + 86_400).abs() <= 2 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "expected one day behind, got {skew}s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        db.teardown_all(&cluster).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tarball_install_is_idempotent() {
    if !lab_available("tarball_install_is_idempotent") {
        return;
    }
    with_lab(config("ttar", 33, 1), |inv| async move {
        let cluster = connect(&inv).await;
        let s = &cluster.sessions()[0];
        // A release-like archive with a top-level directory, served from the node's own disk.
        s.exec(&Cmd::shell(
            "mkdir -p /tmp/src/app-1.0/bin && printf '#!/bin/sh\\necho app 1.0\\n' > /tmp/src/app-1.0/bin/app && chmod +x /tmp/src/app-1.0/bin/app && tar -czf /tmp/app.tar.gz -C /tmp/src app-1.0",
        ))
        .await
        .unwrap();
        let yaml = r#"
name: app
data_dir: /opt/app-data
install:
  tarball:
    url: file:///tmp/app.tar.gz
    dest: /opt/app
daemon:
  command: [/opt/app/bin/app]
  pid_file: /run/app.pid
  log_file: /var/log/app.log
ready:
  command: "true"
"#;
        let db = Db::new(DbDef::parse(yaml, Path::new("app.yaml")).unwrap(), &cluster).unwrap();
        db.install(s).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.exec(&Cmd::new("/opt/app/bin/app")).await.unwrap().out(), "app 1.0");
        // Installed already: the archive is not fetched again (it is gone now).
        s.exec(&Cmd::new("rm").arg("/tmp/app.tar.gz")).await.unwrap();
        db.install(s).await.unwrap_or_else(|e| panic!("second install: {e}"));
        assert_eq!(s.exec(&Cmd::new("/opt/app/bin/app")).await.unwrap().out(), "app 1.0");
    })
    .await;
}
