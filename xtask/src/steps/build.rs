//! Step 2 of the README, building: `cargo xtask build | expand | record-spec`.
//!
//! `build`: codegen writes `target/atf-gen/<name>.rs` (only when its content
//! changed, so cargo's fingerprints keep rebuilds incremental), then
//! `cargo build --profile connector -p entrypoint --target T` with `ATF_CONNECTOR_RS`
//! naming that file. T is `x86_64-unknown-linux-musl` when installed, else
//! `x86_64-unknown-linux-gnu` with `-C target-feature=+crt-static`; an explicit
//! `--target` keeps build scripts and proc macros (host builds) unaffected, and
//! the flags never vary so the caches survive.
use anyhow::{bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ground::{default_connectors_dir, load, run, target_dir, write_if_changed};

#[derive(Args)]
pub struct BuildArgs {
    /// Connector folder name, e.g. `source-faker`
    name: String,
    /// Folder holding connector folders
    #[arg(long, value_name = "DIR")]
    connectors_dir: Option<PathBuf>,
    /// Where the binary and image build context go [default: target/connectors/<name>]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Push the image with a personal tag ($CODESPACE_NAME, else $USER-airbyte)
    #[arg(short, long)]
    push: bool,
    /// Registry (and path) to push to with -p, e.g. `127.0.0.1:5000/estuary`
    #[arg(long, value_name = "HOST[/PATH]", default_value = DEFAULT_REGISTRY)]
    registry: String,
    /// Tag to push with -p [default: $CODESPACE_NAME, else $USER-airbyte]
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,
}

/// Where `-p` pushes by default (the seed's `local-build.sh -p`).
pub const DEFAULT_REGISTRY: &str = "ghcr.io/estuary";

#[derive(Args)]
pub struct ExpandArgs {
    /// Connector folder name, e.g. `source-faker`
    name: String,
    /// Folder holding connector folders
    #[arg(long, value_name = "DIR")]
    connectors_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct RecordSpecArgs {
    /// Connector folder name, e.g. `source-faker`
    name: String,
    /// The upstream connector's command (shell words), e.g.
    /// `.venvs/faker-7.2.1/bin/source-faker`; `spec` is appended. Without it,
    /// runs the connector.json `upstream` package (provisioned), else the
    /// `base_image` with Docker.
    #[arg(long, value_name = "CMD")]
    entrypoint: Option<String>,
    /// Folder holding connector folders
    #[arg(long, value_name = "DIR")]
    connectors_dir: Option<PathBuf>,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Connector folder name, e.g. `source-faker`.
    pub name: String,
    /// Folder holding connector folders (default: `<workspace>/connectors`).
    pub connectors_dir: PathBuf,
    /// Where the binary and image context go (default: `target/connectors/<name>`).
    pub out: Option<PathBuf>,
}

const MUSL: &str = "x86_64-unknown-linux-musl";
const GNU: &str = "x86_64-unknown-linux-gnu";
/// The cargo profile of connector binaries (root Cargo.toml): release without
/// LTO, so a patch edit relinks in about a second.
const PROFILE: &str = "connector";

fn musl_installed() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == MUSL)
        })
        .unwrap_or(false)
}

/// Fails unless `file` (or `ldd`) says `binary` has no dynamic dependencies.
fn check_static(binary: &Path) -> anyhow::Result<String> {
    if let Ok(out) = Command::new("file").arg("-b").arg(binary).output() {
        if out.status.success() {
            let desc = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if desc.contains("statically linked") || desc.contains("static-pie linked") {
                return Ok(format!("file: {desc}"));
            }
            bail!(
                "{} is not static (file says: {desc}); build with the musl target (`rustup target add {MUSL}`)",
                binary.display()
            );
        }
    }
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .context("neither `file` nor `ldd` could run to check that the binary is static; install one of them")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        Ok(format!("ldd: {}", text.trim()))
    } else {
        bail!(
            "{} is not static (ldd says: {}); build with the musl target (`rustup target add {MUSL}`)",
            binary.display(),
            text.trim()
        )
    }
}

/// The image build context: `Dockerfile` beside the binary named `name`.
pub fn dockerfile(name: &str, c: &codegen::ConnectorJson) -> String {
    // connector.json labels, then Flow's, which a connector cannot change.
    let mut labels: std::collections::BTreeMap<&str, &str> = c
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    labels.insert("FLOW_RUNTIME_PROTOCOL", "capture");
    labels.insert("CONNECTOR_PROTOCOL", "flow-capture");
    labels.insert("FLOW_RUNTIME_CODEC", "json");
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut out = format!(
        "# Generated by `cargo xtask build {name}` from connectors/{name}/connector.json.\n\
         FROM {}\n\
         COPY {name} /flow-connector/{name}\n",
        c.base_image
    );
    for (k, v) in &c.env {
        out.push_str(&format!("ENV {k}={}\n", q(v)));
    }
    for (k, v) in labels {
        out.push_str(&format!("LABEL {}={}\n", q(k), q(v)));
    }
    out.push_str(&format!("ENTRYPOINT [\"/flow-connector/{name}\"]\n"));
    out
}

/// The environment variable that asks for a dev build (see [`dev_build`]).
pub const DEV_PROFILE_ENV: &str = "ATF_CONNECTOR_PROFILE";

/// `ATF_CONNECTOR_PROFILE=dev` (what `cargo xtask demo` sets): the binary is
/// built with cargo's dev profile for this machine, without `--target`, so
/// it reuses every dependency that compiling xtask and `cargo xtask test`
/// build (same profile, same target folder) instead of compiling them again
/// optimized for the connector target. Not static: for local runs only.
fn dev_build() -> bool {
    std::env::var(DEV_PROFILE_ENV).is_ok_and(|v| v == "dev")
}

fn docker_available() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Generates, validates and compile one connector; returns the path of
/// its static binary. Progress goes to stderr.
pub fn build_connector(opts: &BuildOptions) -> anyhow::Result<PathBuf> {
    let name = &opts.name;
    let dir = opts.connectors_dir.join(name);
    let started = std::time::Instant::now();
    if !dir.is_dir() {
        let hint = crate::ground::Hint {
            connectors_dir: Some(opts.connectors_dir.clone())
                .filter(|d| *d != default_connectors_dir()),
            ..Default::default()
        };
        return Err(crate::ground::unknown_connector(
            &opts.connectors_dir,
            name,
            &hint,
        ));
    }
    let loaded = load(&dir)?;
    let code = codegen::render(&loaded);
    let connector = loaded.connector;
    let target = target_dir();
    // One generated file per connector name and one `connector` binary per
    // target triple are shared by every build: hold a lock from writing the
    // file until the binary is copied, so two builds at once cannot mix them.
    let lock_path = target.join("atf-gen").join(".build.lock");
    std::fs::create_dir_all(target.join("atf-gen"))
        .with_context(|| format!("cannot create {}", target.join("atf-gen").display()))?;
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    #[allow(clippy::incompatible_msrv)]
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    let gen_path = target.join("atf-gen").join(format!("{name}.rs"));
    let wrote = write_if_changed(&gen_path, &code)?;
    eprintln!(
        "build: {name}: generated {} ({})",
        gen_path.display(),
        if wrote { "changed" } else { "unchanged" }
    );

    let dev = dev_build();
    let triple = if musl_installed() { MUSL } else { GNU };
    let mut cargo = crate::ground::cargo();
    if dev {
        eprintln!("build: {name}: {DEV_PROFILE_ENV}=dev: a dev build for this machine (cargo's dev profile, no --target, not static: not for images)");
        cargo
            .current_dir(crate::ground::workspace_root())
            .args(["build", "-p", "entrypoint"])
            .env("ATF_CONNECTOR_RS", &gen_path)
            .stdout(Stdio::null());
    } else {
        cargo
            .current_dir(crate::ground::workspace_root())
            .args([
                "build",
                "--profile",
                PROFILE,
                "-p",
                "entrypoint",
                "--target",
                triple,
            ])
            .env("ATF_CONNECTOR_RS", &gen_path)
            .stdout(Stdio::null());
        if triple == MUSL {
            eprintln!("build: {name}: static binary for {MUSL} (the musl target is installed)");
        } else {
            eprintln!("build: {name}: {MUSL} is not installed (`rustup target add {MUSL}`): static glibc binary for {GNU} with -C target-feature=+crt-static");
            cargo.env(
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
                "-C target-feature=+crt-static",
            );
        }
        // The first build of this profile and target compiles every
        // dependency; later ones only what changed.
        let first = !target.join(triple).join(PROFILE).join("connector").exists();
        eprintln!(
            "build: {name}: compiling with cargo (profile {PROFILE}, target {triple}){}",
            if first {
                ": the first build compiles every dependency and takes minutes; later ones take seconds"
            } else {
                ""
            }
        );
    }
    run(&mut cargo)?;
    let built = if dev {
        target.join("debug").join("connector")
    } else {
        target.join(triple).join(PROFILE).join("connector")
    };

    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| target.join("connectors").join(name));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let binary = out.join(name);
    // Copy through a temporary name so a running copy of the old binary is not overwritten in place.
    let tmp = out.join(format!(".{name}.tmp"));
    std::fs::copy(&built, &tmp)
        .with_context(|| format!("cannot copy {} to {}", built.display(), tmp.display()))?;
    std::fs::rename(&tmp, &binary)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), binary.display()))?;
    drop(lock);
    if !dev {
        let how = check_static(&binary)?;
        let size = std::fs::metadata(&binary).map_or(0, |m| m.len());
        eprintln!(
            "build: {name}: static ({how}), stripped, {:.1} MB ({size} bytes): {}",
            size as f64 / 1e6,
            binary.display()
        );
    }

    write_if_changed(&out.join("Dockerfile"), &dockerfile(name, &connector))?;
    let image = local_image(name);
    if !dev && docker_available() {
        eprintln!("build: {name}: docker build -t {image} {}", out.display());
        let started = std::time::Instant::now();
        run(Command::new("docker")
            .args(["build", "-t", &image])
            .arg(&out)
            .stdout(Stdio::null()))?;
        eprintln!(
            "build: {name}: image built in {:.1?} and tagged {image} (`local`: built on this machine, never pushed; -p pushes it as <registry>/{name}:<tag>)",
            started.elapsed()
        );
    } else {
        eprintln!(
            "build: {name}: skipped `docker build` (no Docker engine answers `docker info`); the image context is {}",
            out.display()
        );
    }
    eprintln!("build: {name}: done in {:.1?}", started.elapsed());
    Ok(binary)
}

/// The name `docker build` gives a connector's image on this machine:
/// `ghcr.io/estuary/<name>:local`. The tag `local` says "built here": the
/// image is never pushed under it; `-p` tags it `<registry>/<name>:<tag>`
/// and pushes that (see [`push`]).
pub fn local_image(name: &str) -> String {
    format!("{DEFAULT_REGISTRY}/{name}:local")
}

/// The seed's personal tag: `$CODESPACE_NAME`, else `$USER-airbyte`.
pub fn personal_tag() -> String {
    std::env::var("CODESPACE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}-airbyte",
                std::env::var("USER").unwrap_or_else(|_| "local".into())
            )
        })
}

/// What `-p` pushes: `<registry>/<name>:<tag>`, or an error naming the bad
/// registry or tag.
pub fn push_target(name: &str, registry: &str, tag: &str) -> anyhow::Result<String> {
    let registry = registry.trim_end_matches('/');
    if registry.is_empty() || tag.is_empty() || tag.contains(['/', ':']) {
        bail!("cannot push to registry {registry:?} with tag {tag:?}: give --registry HOST[/PATH] and a --tag without '/' or ':'");
    }
    Ok(format!("{registry}/{name}:{tag}"))
}

/// Tags the built image of `name` as `<registry>/<name>:<tag>` and pushes it;
/// fails, with the engine's words, when the push does not go through.
pub fn push(name: &str, registry: &str, tag: &str) -> anyhow::Result<String> {
    let pushed = push_target(name, registry, tag)?;
    let registry = registry.trim_end_matches('/');
    let image = local_image(name);
    run(Command::new("docker").args(["tag", &image, &pushed]))?;
    eprintln!("build: {name}: docker push {pushed}");
    let out = Command::new("docker")
        .args(["push", &pushed])
        .stdin(Stdio::null())
        .output()
        .context("cannot run `docker push`")?;
    if !out.status.success() {
        bail!(
            "push of {pushed:?} failed ({}): {}; check that {registry:?} answers and that you are logged in (`docker login {}`)",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            registry.split('/').next().unwrap_or(registry)
        );
    }
    eprintln!("build: {name}: pushed {pushed}");
    Ok(pushed)
}

pub fn build(args: BuildArgs) -> anyhow::Result<()> {
    let tag = args.tag.clone().unwrap_or_else(personal_tag);
    // With -p, what would be pushed is checked before minutes of compiling.
    if args.push {
        let pushed = push_target(&args.name, &args.registry, &tag)?;
        if !docker_available() {
            bail!(
                "cannot push {pushed:?} (registry {:?}, name {:?}, tag {tag:?}): no Docker engine answers `docker info`; start one (or point DOCKER_HOST at one) and run the same command again, or leave out -p to build the binary and the image context only",
                args.registry.trim_end_matches('/'),
                args.name
            );
        }
    }
    let connectors_dir = args.connectors_dir.unwrap_or_else(default_connectors_dir);
    let binary = build_connector(&BuildOptions {
        name: args.name.clone(),
        connectors_dir: connectors_dir.clone(),
        out: args.out,
    })?;
    if args.push {
        push(&args.name, &args.registry, &tag)?;
    }
    eprintln!("{}", next_after_build(&args.name, &connectors_dir));
    println!("{}", binary.display());
    Ok(())
}

/// The `next:` lines after a build: the form, then discover; a connector
/// whose connector.json names no `upstream` package needs the upstream
/// connector's command (`--entrypoint`), which only the user knows.
fn next_after_build(name: &str, connectors_dir: &Path) -> String {
    let hint = crate::ground::Hint {
        connectors_dir: Some(connectors_dir.to_path_buf())
            .filter(|d| *d != default_connectors_dir()),
        ..Default::default()
    };
    let dir = connectors_dir.join(name);
    let has_upstream = std::fs::read_to_string(dir.join(codegen::CONNECTOR_JSON))
        .ok()
        .and_then(|t| serde_json::from_str::<codegen::ConnectorJson>(&t).ok())
        .is_some_and(|c| c.upstream.is_some());
    if has_upstream {
        format!(
            "next: check the config form, then discover the streams:\n  {}\n  {}",
            hint.command("form", &[name]),
            hint.command("discover", &[name])
        )
    } else {
        // The form needs the upstream connector only without a recorded spec.
        let form = if dir.join(codegen::SPEC_RECORDED).is_file() {
            hint.command("form", &[name])
        } else {
            hint.command("form", &[name, "--entrypoint", "CMD"])
        };
        format!(
            "next: check the config form, then discover the streams ({name} names no \"upstream\" package in connector.json: CMD is the installed upstream connector's command):\n  {form}\n  {}",
            hint.command("discover", &[name, "--entrypoint", "CMD"])
        )
    }
}

pub fn expand(args: ExpandArgs) -> anyhow::Result<()> {
    let dir = args
        .connectors_dir
        .unwrap_or_else(default_connectors_dir)
        .join(&args.name);
    print!("{}", codegen::render(&load(&dir)?));
    Ok(())
}

/// Runs the upstream connector's `spec` and writes `spec.recorded.json`.
pub fn record_spec(args: RecordSpecArgs) -> anyhow::Result<()> {
    let dir = args
        .connectors_dir
        .unwrap_or_else(default_connectors_dir)
        .join(&args.name);
    let cj_path = dir.join(codegen::CONNECTOR_JSON);
    let text = std::fs::read_to_string(&cj_path).with_context(|| {
        format!(
            "cannot read {}; is {:?} a connector folder?",
            cj_path.display(),
            args.name
        )
    })?;
    let connector: codegen::ConnectorJson = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid connector.json", cj_path.display()))?;

    // Without --entrypoint: the connector.json `upstream` package, provisioned.
    let entrypoint = match &args.entrypoint {
        Some(ep) => Some(ep.clone()),
        None if connector.upstream.is_some() => crate::steps::provision::entrypoint(&dir, None)?,
        None => None,
    };
    let mut cmd = match &entrypoint {
        Some(ep) => {
            let argv = codegen::split_command(ep)
                .with_context(|| format!("--entrypoint {ep:?} is not a shell-words command"))?;
            let Some((program, rest)) = argv.split_first() else {
                bail!("--entrypoint is empty: give the upstream connector's command");
            };
            let mut cmd = Command::new(program);
            cmd.args(rest).envs(&connector.env);
            cmd
        }
        None if docker_available() => {
            let mut cmd = Command::new("docker");
            cmd.args(["run", "--rm", "-i"]);
            cmd.arg(&connector.base_image);
            cmd
        }
        None => bail!(
            "no --entrypoint and no Docker engine: pass the upstream connector's command, e.g. `cargo xtask record-spec {} --entrypoint .venvs/faker-7.2.1/bin/source-faker`",
            args.name
        ),
    };
    cmd.arg("spec")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    eprintln!("record-spec: {}: running {cmd:?}", args.name);
    let output = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let spec = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|m| m.get("type").and_then(|t| t.as_str()) == Some("SPEC"))
        .and_then(|m| m.get("spec").cloned());
    let Some(spec) = spec else {
        bail!(
            "{cmd:?} printed no SPEC message (exit {}); check that the command runs the connector of {}",
            output.status,
            connector.base_image
        );
    };
    let recorded = codegen::RecordedSpecFile {
        upstream_image: connector.base_image.clone(),
        spec,
    };
    let path = dir.join(codegen::SPEC_RECORDED);
    let text = serde_json::to_string_pretty(&recorded)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "record-spec: {}: wrote {} (upstream {})",
        args.name,
        path.display(),
        connector.base_image
    );
    Ok(())
}
