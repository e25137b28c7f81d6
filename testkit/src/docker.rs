//! A private Docker engine for one test: its own `dockerd` (and the
//! `containerd` it manages) with its own data root, exec root and socket in a
//! temporary folder, no iptables and no bridge, so it touches nothing of the
//! machine's and cannot clash with another test run. Containers get
//! `--network none` (or `host` for a build that downloads).
//!
//! [`Engine::start`] returns `None`, printing `skipped: <test>: ...`, where no
//! engine can start (no `dockerd`, not root, it does not answer); with
//! `ATF_REQUIRE_DOCKER=1` it panics instead. Dropping the [`Engine`] (also
//! while a test panics) sends SIGTERM to that `dockerd`'s PID, which stops
//! its containers and containerd, waits, and SIGKILLs it if it hangs. The
//! child also gets SIGTERM if the test thread dies without unwinding
//! (`PR_SET_PDEATHSIG`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long `dockerd` gets to answer `docker info` (measured 0.3 s idle).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `dockerd` gets to stop after SIGTERM (measured ~1 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running private `dockerd`; stopped by PID on drop.
pub struct Engine {
    child: Child,
    dir: Option<tempfile::TempDir>,
    host: String,
    log: PathBuf,
    /// From spawning `dockerd` to its first answer to `docker info`.
    pub started_in: Duration,
}

fn skip_or_panic(test: &str, why: &str) -> Option<Engine> {
    if std::env::var("ATF_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("{test}: ATF_REQUIRE_DOCKER=1 but no Docker engine can start: {why}");
    }
    crate::skip(test, &format!("no Docker engine can start here: {why}"));
    None
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

impl Engine {
    /// Starts a private engine for `test`, or prints why not and returns `None`.
    pub fn start(test: &str) -> Option<Engine> {
        for program in ["dockerd", "docker"] {
            if !on_path(program) {
                return skip_or_panic(
                    test,
                    &format!(
                        "`{program}` is not on PATH (install Debian's `docker.io`; `.ci/run` does)"
                    ),
                );
            }
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return skip_or_panic(
                test,
                "dockerd needs root and this test runs as another user",
            );
        }
        // Short paths: unix socket paths (ours and containerd's, under the
        // exec root) must stay under 108 bytes.
        let dir = match tempfile::Builder::new()
            .prefix("atf-dockerd-")
            .tempdir_in("/tmp")
        {
            Ok(d) => d,
            Err(e) => return skip_or_panic(test, &format!("cannot create a folder in /tmp: {e}")),
        };
        let root = dir.path();
        let socket = root.join("docker.sock");
        let host = format!("unix://{}", socket.display());
        let log = root.join("dockerd.log");
        let log_file = std::fs::File::create(&log).expect("a log file in a new temporary folder");
        let started = Instant::now();
        let mut cmd = Command::new("dockerd");
        cmd.arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("dockerd.pid"))
            .args(["-H", &host])
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            // No BuildKit daemon side: the legacy builder needs nothing more.
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("a file handle"))
            .stderr(log_file);
        // SAFETY: prctl is async-signal-safe; this runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return skip_or_panic(test, &format!("cannot run dockerd: {e}")),
        };
        let mut engine = Engine {
            child,
            dir: Some(dir),
            host,
            log,
            started_in: Duration::ZERO,
        };
        loop {
            if let Ok(Some(status)) = engine.child.try_wait() {
                let why = format!(
                    "dockerd exited ({status}); its log ends:\n{}",
                    engine.log_tail()
                );
                return skip_or_panic(test, &why);
            }
            if engine
                .docker()
                .arg("info")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
            {
                break;
            }
            if started.elapsed() > START_TIMEOUT {
                let why = format!(
                    "dockerd did not answer `docker info` within {START_TIMEOUT:?}; its log ends:\n{}",
                    engine.log_tail()
                );
                return skip_or_panic(test, &why);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        engine.started_in = started.elapsed();
        eprintln!(
            "docker: private engine {} (pid {}) answered in {:.2?}",
            engine.host,
            engine.pid(),
            engine.started_in
        );
        Some(engine)
    }

    /// `DOCKER_HOST` of this engine, `unix:///tmp/atf-dockerd-.../docker.sock`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The PID of this engine's `dockerd`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The engine's temporary folder (data root, exec root, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("the folder lives as long as the engine")
            .path()
    }

    /// A `docker` client command talking to this engine only.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        self.point(&mut c);
        c
    }

    /// Points `cmd` (e.g. `cargo xtask build`) at this engine: `DOCKER_HOST`,
    /// and a client config of its own so the machine's credentials and
    /// contexts stay out.
    pub fn point<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.dir().join("client"))
            .env_remove("DOCKER_CONTEXT")
    }

    /// Runs `docker args` on this engine; panics with its stderr when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs `docker args` on this engine.
    pub fn output(&self, args: &[&str]) -> Output {
        self.docker()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the docker client runs")
    }

    /// The size in bytes of a local image (`docker image inspect`).
    pub fn image_size(&self, image: &str) -> u64 {
        let s = self.ok(&["image", "inspect", "-f", "{{.Size}}", image]);
        s.parse()
            .unwrap_or_else(|_| panic!("image size of {image:?} is not a number: {s:?}"))
    }

    /// The last lines of `dockerd`'s log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: our own child, not yet reaped, so the PID is still ours.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + STOP_TIMEOUT;
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() > deadline {
                    eprintln!(
                        "docker: dockerd {pid} ignored SIGTERM for {STOP_TIMEOUT:?}: SIGKILL"
                    );
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // dockerd unmounts its layers when it stops, but not the host network
        // namespace it bind-mounts for `--network host` (exec/netns/default),
        // nor anything after a SIGKILL: detach what is left under the folder,
        // deepest first, then remove it (else keep it, and say so).
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
            let mut left: Vec<&str> = mounts
                .lines()
                .filter_map(|l| l.split(' ').nth(1))
                .filter(|m| Path::new(m).starts_with(&path))
                .collect();
            left.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in left {
                if let Ok(c) = std::ffi::CString::new(m) {
                    // SAFETY: a valid C string; MNT_DETACH only detaches.
                    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                }
            }
            if let Err(e) = dir.close() {
                eprintln!("docker: cannot remove {}: {e}", path.display());
            }
        }
    }
}
