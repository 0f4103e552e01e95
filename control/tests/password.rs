//! Password logins (SSH through an sshpass-started master) and `sudo -S` with the password
//! on standard input, as Jepsen does. The test creates a throwaway user with a password and
//! a sudoers entry for the length of the test (lab nodes share /etc with the host) and
//! removes both afterwards; root's password is never touched. Needs root, sshpass and sudo;
//! runs under CI=true, skips elsewhere.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use splitbrain_control::{Cmd, RemoteError, Session, SshConfig};

use common::{config, lab_available, with_lab};

/// The throwaway user; removed on drop, even when the test panics.
struct TempUser {
    name: String,
    sudoers: String,
}

impl TempUser {
    fn create(name: &str, password: &str) -> TempUser {
        let user = TempUser {
            name: name.into(),
            sudoers: format!("/etc/sudoers.d/{name}"),
        };
        user.remove(); // leftovers of a crashed run
        let ok = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", name])
            .status()
            .unwrap()
            .success();
        assert!(ok, "useradd {name}");
        let mut chpasswd = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(chpasswd.stdin.as_mut().unwrap(), "{name}:{password}").unwrap();
        assert!(chpasswd.wait().unwrap().success());
        std::fs::write(&user.sudoers, format!("{name} ALL=(ALL:ALL) ALL\n")).unwrap();
        Command::new("chmod")
            .args(["0440", &user.sudoers])
            .status()
            .unwrap();
        user
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.sudoers);
        let _ = Command::new("userdel")
            .args(["-r", "-f", &self.name])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        self.remove();
    }
}

fn have(tool: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_login_and_sudo_with_the_password_on_stdin() {
    if !lab_available("password_login_and_sudo_with_the_password_on_stdin") {
        return;
    }
    for tool in ["sshpass", "sudo", "useradd", "chpasswd"] {
        if !have(tool) {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI=true but {tool} is missing: apt-get install -y sshpass sudo"
            );
            eprintln!(
                "SKIPPED password_login_and_sudo_with_the_password_on_stdin: {tool} is missing (apt-get install -y sshpass sudo)"
            );
            return;
        }
    }
    let password = "pw with 'quotes' $(and) `more`";
    let user = TempUser::create("sbpwtest", password);
    let mut cfg = config("tpw", 51, 1);
    cfg.password_auth = true;
    let name = user.name.clone();
    with_lab(cfg, move |inv| async move {
        let node = inv.nodes[0].clone();
        let ssh = SshConfig {
            user: name.clone(),
            password: Some(password.into()),
            known_hosts: inv.known_hosts.clone(),
            strict_host_key_checking: true,
            ..SshConfig::default()
        };
        let s = Session::connect(node.clone(), Arc::new(ssh.clone()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.exec(&Cmd::new("id").arg("-un")).await.unwrap().out(),
            name
        );
        // sudo -S: the password goes first on stdin, the command's own input after it.
        assert_eq!(
            s.exec(&Cmd::new("id").arg("-un").sudo_root())
                .await
                .unwrap()
                .out(),
            "root"
        );
        let out = s
            .exec(&Cmd::new("cat").stdin("the command's own input").sudo_root())
            .await
            .unwrap();
        assert_eq!(out.stdout, "the command's own input");
        let hostile = "$(touch /tmp/sb-pwned); `id` 'q' \"d\"";
        let out = s
            .exec(
                &Cmd::new("printf")
                    .arg("%s")
                    .arg(hostile)
                    .env("X", hostile)
                    .sudo_root(),
            )
            .await
            .unwrap();
        assert_eq!(out.stdout, hostile);
        s.upload("root-owned", "/opt/sb-sudo/file", true)
            .await
            .unwrap();
        let owner = s
            .exec(
                &Cmd::new("stat")
                    .arg("-c")
                    .arg("%U")
                    .arg("/opt/sb-sudo/file"),
            )
            .await
            .unwrap();
        assert_eq!(owner.out(), "root");
        s.close().await;

        // A wrong password: one line naming the node and why, and no retry storm.
        let wrong = SshConfig {
            password: Some("nope".into()),
            ..ssh
        };
        let err = Session::connect(node, Arc::new(wrong)).await.unwrap_err();
        assert!(matches!(err, RemoteError::Connect { .. }), "{err}");
        assert!(
            err.to_string().starts_with("n1: cannot reach ")
                && err.to_string().contains("wrong user or password"),
            "{err}"
        );
    })
    .await;
    drop(user);
    assert!(!Path::new("/tmp/sb-pwned").exists());
}
