//! When Flow stops reading our stdout, we stop reading the connector's: the
//! connector blocks on its own stdout, and our memory stays bounded.

use crate::common::*;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `VmHWM` (peak resident set) of a process, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Lines the fake connector has written so far (it counts them in a file).
fn written(counter: &std::path::Path) -> u64 {
    std::fs::read_to_string(counter)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_stalled_reader_stalls_the_connector_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("written");
    // An endless connector: 1 KiB records, counting every 100 lines written.
    let fake = script(
        dir.path(),
        "fake",
        &format!(
            r#"pad=$(printf '%01000d' 0)
i=0
while true; do
  echo "{{\"type\":\"RECORD\",\"record\":{{\"stream\":\"s\",\"data\":{{\"id\":$i,\"pad\":\"$pad\"}},\"emitted_at\":1}}}}"
  i=$((i+1))
  if [ $((i % 100)) -eq 0 ]; then echo $i > '{}'; fi
done"#,
            counter.display()
        ),
    );
    let open = open_one_stream(json!({}));

    let mut child = Command::new(BIN)
        .args(["--connector-entrypoint", fake.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped()) // never read: Flow has stopped reading
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(open.as_bytes())
        .unwrap();

    // Let the pipes fill up, then check the connector has stopped writing.
    std::thread::sleep(Duration::from_secs(2));
    let first = written(&counter);
    std::thread::sleep(Duration::from_secs(2));
    let second = written(&counter);
    let rss = peak_rss_kb(child.id());
    child.kill().unwrap();
    child.wait().unwrap();

    eprintln!("connector wrote {first} then {second} lines; our peak RSS {rss} kB");
    assert!(first > 0, "the fake connector never started writing");
    // Two pipes of 64 KiB and our buffers hold a few hundred 1 KiB records;
    // allow for the counter's granularity of 100 lines.
    assert!(
        second - first <= 100,
        "the connector kept writing while nobody read our stdout: {first} then {second} lines"
    );
    assert!(
        second < 2_000,
        "{second} records were read although nobody read our stdout: reading is not bounded"
    );
    assert!(rss < 16 * 1024, "peak RSS {rss} kB: memory is not bounded");
}

/// A pipe on our stdout is enlarged to 1 MiB, so a batch's responses go out
/// in one write instead of four into Linux's default 64 KiB (each waiting for
/// Flow to read): measured on the faker replay, read by `cat`, a third of
/// the capture's wall time (`runtime/src/cli.rs`, `BlockingStdout`).
#[test]
fn a_pipe_on_stdout_is_enlarged_to_one_mib() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let max: i64 = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if max < 1 << 20 {
        testkit::skip(
            "a_pipe_on_stdout_is_enlarged_to_one_mib",
            &format!("/proc/sys/fs/pipe-max-size is {max}, below 1 MiB"),
        );
        return;
    }
    let mut child = Command::new(BIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // SAFETY: F_GETPIPE_SZ on a pipe fd we own.
    let before = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_GETPIPE_SZ) };
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"{\"apply\":{}}\n")
        .unwrap();
    // Its answer: the binary has set up its stdout by then.
    let mut line = Vec::new();
    let mut byte = [0u8];
    while byte[0] != b'\n' && stdout.read(&mut byte).unwrap() == 1 {
        line.push(byte[0]);
    }
    assert_eq!(String::from_utf8_lossy(&line).trim(), r#"{"applied":{}}"#);
    // SAFETY: as above.
    let after = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_GETPIPE_SZ) };
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(
        before < 1 << 20,
        "the pipe started smaller ({before} bytes)"
    );
    assert_eq!(
        after,
        1 << 20,
        "the pipe on our stdout after the binary started"
    );
}
