//! The Airbyte connector process: its private working files, spawning it in
//! its own process group, reading its stdout (line by line, or in chunks)
//! with an idle timeout, and its exit: the exit code, and its failure as the
//! connector's own reason (the last TRACE ERROR, which the reader of its
//! messages stores in [`Process::last_error`], see `crate::airbyte::side`).
//! What the lines say is [`crate::airbyte`]'s business.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout};

use crate::{Error, Options};

/// A private temporary directory (0700) for the connector's input files
/// (0600), removed when dropped.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("airbyte-to-flow-")
            .tempdir()
            .map_err(Error::io(
                "creating a private temporary directory (set TMPDIR to a writable folder)",
            ))?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).map_err(
            Error::io(format!("making {} private", dir.path().display())),
        )?;
        Ok(Workdir { dir })
    }

    /// Write `value` as JSON to `name` in the directory, readable only by us.
    pub fn write<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<PathBuf, Error> {
        use std::io::Write;
        let path = self.dir.path().join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(Error::io(format!("creating {}", path.display())))?;
        // One write, not one per JSON token: a catalog of large schemas is
        // tens of thousands of tokens (measured: 73k write calls, 40 ms of
        // a 10x-schema open's startup, `cargo xtask bench`).
        // `value` is a `Value` or the typed catalog, whose maps have string keys.
        let text = serde_json::to_vec(value).expect("a Value or the catalog always serializes");
        f.write_all(&text)
            .and_then(|()| f.flush())
            .map_err(Error::io(format!("writing {}", path.display())))?;
        Ok(path)
    }
}

/// Bytes the connector can write ahead of us on its stdout pipe.
const PIPE_SIZE: libc::c_int = 256 * 1024;

/// Make the connector's stdout pipe larger than Linux's default 64 KiB, so
/// it and we make fewer, larger `write`/`read` calls and wake each other
/// less often. Best effort: the default size works too.
fn grow_pipe(pipe: &ChildStdout) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a pipe fd we own; F_SETPIPE_SZ takes an int.
    let r = unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    if r < 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "could not enlarge the connector's stdout pipe");
    }
}

/// A running connector.
pub struct Process {
    child: Child,
    pgid: Option<i32>,
    reaped: bool,
    stdout: BufReader<ChildStdout>,
    idle: Duration,
    stderr_task: Option<tokio::task::JoinHandle<()>>,
    stderr_tail: Arc<Mutex<Option<String>>>,
    /// The message of the last TRACE ERROR (or failed CONNECTION_STATUS).
    pub last_error: Option<String>,
    /// The command, for messages (`read`, `discover`, ...).
    pub command: &'static str,
    /// The connector wrote something on stdout: it got as far as speaking
    /// the Airbyte protocol (a crash at import writes nothing there).
    spoke: bool,
    /// The connector's folder name, for the hint of a pre-protocol crash.
    name: String,
}

/// Start `entrypoint... <command> <args...>`.
pub fn spawn(
    connector: &patches::Connector,
    opts: &Options,
    command: &'static str,
    args: &[&std::ffi::OsStr],
) -> Result<Process, Error> {
    let (program, rest) = opts.entrypoint.split_first().ok_or(Error::NoEntrypoint)?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest)
        .arg(command)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in connector.upstream.env {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().map_err(|err| Error::Connector {
        message: format!(
            "could not start the Airbyte connector {program:?} ({err}); check --connector-entrypoint or AIRBYTE_ENTRYPOINT"
        ),
        exit_code: None,
    })?;
    let pgid = child.id().map(|p| p as i32);
    tracing::debug!(pid = pgid, command, "started the connector");
    let child_stdout = child.stdout.take().expect("stdout is piped");
    grow_pipe(&child_stdout);
    let stdout = BufReader::with_capacity(256 * 1024, child_stdout);
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr_tail = Arc::new(Mutex::new(None));
    let tail = stderr_tail.clone();
    let stderr_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            tracing::info!(target: "connector", stream = "stderr", "{line}");
            *tail.lock().unwrap() = Some(line);
        }
    });
    Ok(Process {
        child,
        pgid,
        reaped: false,
        stdout,
        idle: opts.idle_timeout,
        stderr_task: Some(stderr_task),
        stderr_tail,
        last_error: None,
        command,
        spoke: false,
        name: connector.name.to_string(),
    })
}

impl Process {
    /// Read the next stdout line into `buf` (cleared first, newline kept).
    /// Returns false at EOF. A connector silent for the idle timeout is killed.
    #[inline]
    pub async fn next_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        buf.clear();
        // Only arm the idle timer when we may have to wait for the child.
        let n = if self.stdout.buffer().contains(&b'\n') {
            self.stdout.read_until(b'\n', buf).await
        } else {
            match tokio::time::timeout(self.idle, self.stdout.read_until(b'\n', buf)).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::error!(
                        idle_timeout = %humantime::format_duration(self.idle),
                        "the connector was idle for too long, killing it"
                    );
                    self.kill().await;
                    return Err(Error::Idle(self.idle));
                }
            }
        }
        .map_err(Error::io("reading the connector's stdout"))?;
        self.spoke |= n != 0;
        Ok(n != 0)
    }

    /// Append what the connector wrote next to `buf` (at least `min_spare`
    /// bytes of room are reserved first), waiting for it up to the idle
    /// timeout. Returns the number of bytes read; 0 at EOF.
    pub async fn read_chunk(
        &mut self,
        buf: &mut Vec<u8>,
        min_spare: usize,
    ) -> Result<usize, Error> {
        if let Some(n) = self.take_buffered(buf) {
            return Ok(n);
        }
        buf.reserve(min_spare);
        match tokio::time::timeout(self.idle, self.stdout.get_mut().read_buf(buf)).await {
            Ok(r) => {
                let n = r.map_err(Error::io("reading the connector's stdout"))?;
                self.spoke |= n != 0;
                Ok(n)
            }
            Err(_) => {
                tracing::error!(
                    idle_timeout = %humantime::format_duration(self.idle),
                    "the connector was idle for too long, killing it"
                );
                self.kill().await;
                Err(Error::Idle(self.idle))
            }
        }
    }

    /// Like [`Process::read_chunk`] without waiting: None when the connector
    /// has nothing more for us right now.
    pub async fn try_read_chunk(
        &mut self,
        buf: &mut Vec<u8>,
        min_spare: usize,
    ) -> Result<Option<usize>, Error> {
        use std::future::Future;
        use std::task::Poll;
        if let Some(n) = self.take_buffered(buf) {
            return Ok(Some(n));
        }
        buf.reserve(min_spare);
        let read = self.stdout.get_mut().read_buf(buf);
        tokio::pin!(read);
        std::future::poll_fn(|cx| {
            Poll::Ready(match read.as_mut().poll(cx) {
                Poll::Ready(r) => Some(r),
                Poll::Pending => None,
            })
        })
        .await
        .transpose()
        .map_err(Error::io("reading the connector's stdout"))
        .inspect(|n| self.spoke |= n.is_some_and(|n| n != 0))
    }

    /// Move what [`Process::next_line`]'s buffer still holds into `buf`.
    fn take_buffered(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        let n = self.stdout.buffer().len();
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(self.stdout.buffer());
        std::pin::Pin::new(&mut self.stdout).consume(n);
        self.spoke = true;
        Some(n)
    }

    /// Kill the connector's whole process group and reap it.
    pub async fn kill(&mut self) {
        if let Some(pgid) = self.pgid.filter(|_| !self.reaped) {
            // SAFETY: plain syscall on a process group we created.
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
        let _ = self.child.kill().await;
        self.reaped = true;
    }

    /// Wait for the connector to exit (after stdout EOF).
    pub async fn wait(&mut self) -> Result<ExitStatus, Error> {
        let status = self
            .child
            .wait()
            .await
            .map_err(Error::io("waiting for the connector to exit"))?;
        self.reaped = true;
        if let Some(task) = self.stderr_task.take() {
            // Orphaned grandchildren may hold stderr open; don't wait on them forever.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        Ok(status)
    }

    /// Wait for exit; a failure becomes an error carrying the connector's own reason.
    pub async fn finish(&mut self) -> Result<(), Error> {
        let status = self.wait().await?;
        if status.success() {
            tracing::debug!(command = self.command, "the connector exited successfully");
            return Ok(());
        }
        let exit_code = exit_code(status);
        let message = match self.last_error.take() {
            Some(m) => m,
            None if !self.spoke => self.pre_protocol_failure(exit_code),
            None => {
                let tail = self.stderr_tail.lock().unwrap().take();
                match tail {
                    Some(t) => format!(
                        "the connector's `{}` exited with code {exit_code} without an error message on stdout; its last stderr line was: {t}",
                        self.command
                    ),
                    None => format!(
                        "the connector's `{}` exited with code {exit_code} without saying why (see its log lines above)",
                        self.command
                    ),
                }
            }
        };
        Err(Error::Connector {
            message,
            exit_code: Some(exit_code),
        })
    }
}

impl Process {
    /// The one-line reason of a connector that exited before writing anything
    /// on stdout: it never got to the Airbyte protocol, which for a Python
    /// connector means its install is broken (an import error, a missing
    /// module, a dependency resolved to an incompatible version), or the
    /// command is not the connector.
    fn pre_protocol_failure(&self, exit_code: i32) -> String {
        let tail = self.stderr_tail.lock().unwrap().take();
        let said = match &tail {
            Some(t) => format!("its last stderr line: {t:?}"),
            None => "and wrote nothing on stderr either".to_string(),
        };
        let provision = if self.name.is_empty() {
            String::new()
        } else {
            format!(", e.g. `cargo xtask provision {}`", self.name)
        };
        format!(
            "the Airbyte connector failed before it spoke the Airbyte protocol: `{}` exited with code {exit_code} without writing anything on stdout; {said}; \
             this usually means its install is broken (an import error or missing module: a dependency resolved to an incompatible version): \
             install it from pinned dependencies (the connector's lock file{provision}), or check --connector-entrypoint / AIRBYTE_ENTRYPOINT",
            self.command
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.filter(|_| !self.reaped) {
            // SAFETY: plain syscall on the process group we created and have not reaped.
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
