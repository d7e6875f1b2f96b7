//! Child processes that cannot outlive the test process, and free ports.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// A free TCP port on 127.0.0.1 (bound, then released: good enough for a
/// child that binds right after).
pub fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("while finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// A child process killed when this value drops or the test process dies.
#[derive(Debug)]
pub struct Watched {
    child: Child,
    lifeline: Option<ChildStdin>,
}

impl Watched {
    /// Runs `program args…` under the watchdog, which stops it with
    /// `SIG{stop_signal}`. `as_user` runs it as another Unix user (PostgreSQL
    /// refuses to run as root), exec'd in place so the signal reaches it.
    /// Output goes to `log`.
    pub fn spawn(
        program: &Path,
        args: &[String],
        as_user: Option<&str>,
        log: &Path,
        envs: &[(&str, &str)],
        stop_signal: &str,
    ) -> anyhow::Result<Self> {
        let mut cmdline = String::new();
        if let Some(user) = as_user {
            let u = shell_quote(user);
            cmdline.push_str(&format!("setpriv --reuid={u} --regid={u} --init-groups -- "));
        }
        cmdline.push_str(&shell_quote(&program.display().to_string()));
        for a in args {
            cmdline.push(' ');
            cmdline.push_str(&shell_quote(a));
        }
        // The watchdog: start the child, wait for stdin to close, kill it.
        let script = format!(
            "{cmdline} >>{log} 2>&1 </dev/null & pid=$!; echo $pid >{log}.pid; trap 'kill -{sig} $pid 2>/dev/null' EXIT; cat >/dev/null; kill -{sig} $pid 2>/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 $pid 2>/dev/null || break; sleep 0.2; done; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null",
            log = shell_quote(&log.display().to_string()),
            sig = stop_signal
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().with_context(|| format!("while starting {}", program.display()))?;
        let lifeline = child.stdin.take();
        Ok(Self { child, lifeline })
    }

    /// The child's process id (written by the watchdog once started).
    pub fn pid(&self, log: &Path) -> Option<u32> {
        let pidfile = format!("{}.pid", log.display());
        for _ in 0..100 {
            if let Ok(s) = std::fs::read_to_string(&pidfile) {
                if let Ok(pid) = s.trim().parse() {
                    return Some(pid);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the child and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut l) = self.lifeline.take() {
            let _ = l.flush();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Quotes a word for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration, log: &Path) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let tail = std::fs::read_to_string(log).unwrap_or_default();
    bail!("nothing listened on port {port} within {timeout:?}; log:\n{tail}")
}
