//! The Airbyte connector process: its private working files, spawning it in
//! its own process group, reading its stdout line by line with an idle
//! timeout, turning its side messages (LOG, TRACE, CONTROL, stray lines) into
//! log events, and its failure into the connector's own reason.

use std::borrow::Cow;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
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
    pub fn write(&self, name: &str, value: &Value) -> Result<PathBuf, Error> {
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
        let text = serde_json::to_vec(value).expect("a Value always serializes");
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

/// One Airbyte message line, its sub-objects left unparsed.
#[derive(Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    #[serde(borrow, default)]
    pub record: Option<Record<'a>>,
    #[serde(borrow, default)]
    pub state: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub log: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub trace: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub control: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub spec: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub catalog: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        rename = "connectionStatus",
        alias = "connection_status"
    )]
    pub connection_status: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub struct Record<'a> {
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub data: Data<'a>,
}

/// A record's `data`, scanned once: its top-level fields, borrowed from the
/// line. [`Data::raw`] recovers the object's original text from them.
pub struct Data<'a> {
    pub fields: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// `data` is not an object (then [`Data::raw`] is None).
    not_object: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Data<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Data<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Data<'de>, A::Error> {
                let mut fields = Vec::with_capacity(16);
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    fields.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Data {
                    fields,
                    not_object: false,
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Data<'de>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Data::other())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_str<E>(self, _: &str) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_unit<E>(self) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
        }
        d.deserialize_any(V)
    }
}

/// An object key borrowed from the line when it has no escapes (serde's own
/// `Cow<str>` always allocates).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'a> Data<'a> {
    fn other() -> Self {
        Data {
            fields: Vec::new(),
            not_object: true,
        }
    }

    /// The original text of the `data` object within `line` (the text it was
    /// parsed from), or None when it cannot be located from its fields (not
    /// an object, or a first key with escapes): then re-parse with
    /// [`raw_data`].
    #[inline]
    pub fn raw(&self, line: &'a str) -> Option<&'a str> {
        if self.not_object {
            return None;
        }
        let (Some((Cow::Borrowed(first), _)), Some((_, last))) =
            (self.fields.first(), self.fields.last())
        else {
            return if self.fields.is_empty() {
                Some("{}")
            } else {
                None
            };
        };
        let base = line.as_ptr() as usize;
        let bytes = line.as_bytes();
        // The key's text starts after its opening quote; `{` precedes it, maybe after whitespace.
        let mut start = (first.as_ptr() as usize)
            .checked_sub(base)?
            .checked_sub(1)?;
        loop {
            start = start.checked_sub(1)?;
            match bytes[start] {
                b'{' => break,
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ => return None,
            }
        }
        let mut end = (last.get().as_ptr() as usize - base) + last.get().len();
        loop {
            match bytes.get(end)? {
                b'}' => break,
                b' ' | b'\t' | b'\n' | b'\r' => end += 1,
                _ => return None,
            }
        }
        Some(&line[start..=end])
    }
}

/// The `data` text of a RECORD line, the slow way (see [`Data::raw`]).
pub fn raw_data(line: &str) -> Option<&str> {
    #[derive(Deserialize)]
    struct L<'a> {
        #[serde(borrow)]
        record: R<'a>,
    }
    #[derive(Deserialize)]
    struct R<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_str::<L>(line)
        .ok()
        .map(|l| l.record.data.get())
}

/// Parse a stdout line into the message and the line's text; a line that is
/// not an Airbyte message is logged as a warning and gives None.
pub fn parse(line: &[u8]) -> Option<(Envelope<'_>, &str)> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return None;
    }
    // Validate UTF-8 once for the whole line, then parse from &str (serde_json
    // then does not validate each borrowed string again).
    let parsed = match std::str::from_utf8(trimmed) {
        Ok(text) => serde_json::from_str::<Envelope>(text).map(|e| (e, text)),
        Err(err) => Err(serde_json::Error::io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            err,
        ))),
    };
    match parsed {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            let text = String::from_utf8_lossy(trimmed);
            let text: String = text.chars().take(2000).collect();
            tracing::warn!(target: "connector", error = %err, "the connector wrote a line that is not an Airbyte message: {text}");
            None
        }
    }
}

#[derive(Deserialize)]
struct Log {
    #[serde(default)]
    level: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Trace {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    error: Option<TraceError>,
}

#[derive(Deserialize)]
struct TraceError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    internal_message: Option<String>,
    #[serde(default)]
    failure_type: Option<String>,
    #[serde(default)]
    stack_trace: Option<String>,
}

impl Process {
    /// Handle a message that is not the caller's business: LOG, TRACE and
    /// CONTROL become log events (TRACE ERROR is remembered as the failure
    /// reason), anything else is logged at debug level.
    pub fn side_message(&mut self, env: &Envelope<'_>) {
        match env.ty.as_ref() {
            "LOG" => {
                let Some(log) = env
                    .log
                    .and_then(|l| serde_json::from_str::<Log>(l.get()).ok())
                else {
                    tracing::warn!(target: "connector", "the connector wrote a LOG message without level and message");
                    return;
                };
                let m = &log.message;
                match log.level.to_ascii_uppercase().as_str() {
                    "FATAL" | "ERROR" => {
                        tracing::error!(target: "connector", level_name = %log.level, "{m}")
                    }
                    "WARN" | "WARNING" => tracing::warn!(target: "connector", "{m}"),
                    "DEBUG" => tracing::debug!(target: "connector", "{m}"),
                    "TRACE" => tracing::trace!(target: "connector", "{m}"),
                    _ => tracing::info!(target: "connector", "{m}"),
                }
            }
            "TRACE" => {
                let Some(trace) = env
                    .trace
                    .and_then(|t| serde_json::from_str::<Trace>(t.get()).ok())
                else {
                    return;
                };
                match (trace.ty.as_str(), trace.error) {
                    ("ERROR", Some(e)) => {
                        tracing::error!(
                            target: "connector",
                            failure_type = e.failure_type.as_deref().unwrap_or(""),
                            internal_message = e.internal_message.as_deref().unwrap_or(""),
                            stack_trace = e.stack_trace.as_deref().unwrap_or(""),
                            "{}", e.message
                        );
                        self.last_error = Some(if e.message.is_empty() {
                            e.internal_message.unwrap_or_default()
                        } else {
                            e.message
                        });
                    }
                    (ty, _) => {
                        tracing::debug!(target: "connector", trace_type = ty, trace = env.trace.map(|t| t.get()).unwrap_or(""), "connector trace");
                    }
                }
            }
            "CONTROL" => {
                // The control message may carry the whole config (secrets): log its type only.
                let ty = env
                    .control
                    .and_then(|c| serde_json::from_str::<Value>(c.get()).ok())
                    .and_then(|c| c.get("type").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                tracing::info!(target: "connector", control_type = %ty, "the connector emitted a CONTROL message (ignored; its contents are not logged as they may hold secrets)");
            }
            other => {
                tracing::debug!(target: "connector", message_type = other, "ignoring an Airbyte message");
            }
        }
    }

    /// Read every line until EOF, returning the last message of type `want`
    /// (e.g. `CATALOG`, the object under its field), then wait for the exit.
    pub async fn collect(&mut self, want: &str) -> Result<Value, Error> {
        let mut buf = Vec::with_capacity(4096);
        let mut found: Option<Value> = None;
        while self.next_line(&mut buf).await? {
            let Some((env, _)) = parse(&buf) else {
                continue;
            };
            if env.ty == want {
                let raw = match want {
                    "SPEC" => env.spec,
                    "CATALOG" => env.catalog,
                    "CONNECTION_STATUS" => env.connection_status,
                    _ => None,
                };
                match raw.map(|r| serde_json::from_str::<Value>(r.get())) {
                    Some(Ok(v)) => found = Some(v),
                    _ => {
                        tracing::warn!(target: "connector", "the connector wrote a {want} message without its body")
                    }
                }
            } else {
                self.side_message(&env);
            }
        }
        self.finish().await?;
        found.ok_or_else(|| Error::Connector {
            message: format!(
                "the connector's `{}` exited successfully without writing a {want} message",
                self.command
            ),
            exit_code: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_of(line: &str) -> Option<String> {
        let (env, text) = parse(line.as_bytes()).unwrap();
        let rec = env.record.unwrap();
        Some(
            rec.data
                .raw(text)
                .map(str::to_string)
                .unwrap_or_else(|| raw_data(text).unwrap().to_string()),
        )
    }

    #[test]
    fn data_text_is_recovered_byte_for_byte() {
        for (line, data) in [
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":{"id":1,"a":[1,{"b":2}]},"emitted_at":1}}"#,
                r#"{"id":1,"a":[1,{"b":2}]}"#,
            ),
            (
                r#"{"type": "RECORD", "record": {"stream": "s", "data": { "id": 1, "n": "Zo\u00eb" }, "emitted_at": 1}}"#,
                r#"{ "id": 1, "n": "Zo\u00eb" }"#,
            ),
            (
                r#"{"type":"RECORD","record":{"data":{"k\u0065y":1,"x":{}},"stream":"s"}}"#,
                r#"{"k\u0065y":1,"x":{}}"#,
            ),
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":{}}}"#,
                "{}",
            ),
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":[1, 2]}}"#,
                "[1, 2]",
            ),
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":"text"}}"#,
                r#""text""#,
            ),
        ] {
            assert_eq!(data_of(line).unwrap(), data, "{line}");
        }
    }

    #[test]
    fn plain_keys_are_borrowed_so_data_is_found_in_one_parse() {
        let line = r#"{"type":"RECORD","record":{"stream":"s","data":{"id":1,"a":"x"}}}"#;
        let (env, text) = parse(line.as_bytes()).unwrap();
        let rec = env.record.unwrap();
        assert!(matches!(rec.data.fields[0].0, Cow::Borrowed("id")));
        assert_eq!(rec.data.raw(text), Some(r#"{"id":1,"a":"x"}"#));
    }

    #[test]
    fn lines_that_are_not_messages_are_none() {
        assert!(parse(b"Traceback (most recent call last):").is_none());
        assert!(parse(b"   \n").is_none());
        assert!(parse(b"{\"type\":\"LOG\",\"log\":{\"message\":\"\xff\"}}").is_none());
    }
}
