//! Stand-in base images: no registry is reachable from tests, so the upstream
//! Airbyte images a connector's image starts `FROM` (`airbyte/source-x:V`)
//! are made here, under the same name, from the same pinned packages
//! `cargo xtask setup` installs:
//!
//! 1. a Debian bookworm minbase root filesystem with `python3` (3.11, as in
//!    Airbyte's python-connector-base) made by `debootstrap`, cached once;
//! 2. a copy of it with a virtualenv at `/airbyte/venv` holding the pinned
//!    lock installed with `pip` inside a `chroot` (by Debian's Python, or,
//!    for a connector pinned to another one, by the very interpreter its
//!    `cargo xtask provision` venv uses, copied in at the same path: upstream's
//!    base then was `python:3.10-slim`, a CPython built into bookworm), and
//!    `/airbyte/integration_code/main.py` (upstream's) launching the
//!    connector (for a manifest-only connector: the source-declarative-manifest
//!    image's `main.py`, its pinned cdk's lock, and the connector's pinned
//!    `manifest.yaml` and `components.py` at upstream's path,
//!    `/airbyte/integration_code/source_declarative_manifest/`, as Airbyte's
//!    manifest-only build lays them over that image); cached in a folder
//!    named by a hash of the recipe, the lock, `main.py` and those files, so
//!    a changed pin rebuilds it;
//! 3. `docker import`ed into the engine with upstream's entrypoint, workdir,
//!    labels and a `PATH` on which `python` is the venv's.
//!
//! The cache is `$ATF_CACHE_DIR`, else `$XDG_CACHE_HOME/airbyte-to-flow`,
//! else `~/.cache/airbyte-to-flow` (outside the worktree: it survives
//! `cargo clean` and is shared by clones). A lock file serializes builders.

use crate::docker::Engine;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One upstream image to stand in for.
pub struct StandIn {
    /// The upstream image's name, e.g. `airbyte/source-faker:7.2.1`.
    pub image: &'static str,
    /// The pinned lock (a full `pip freeze`), relative to the workspace root.
    pub lock: &'static str,
    /// Upstream's `/airbyte/integration_code/main.py`.
    pub main_py: &'static str,
    /// `None`: Debian's python3 (3.11). `Some(connector)`: the Python of that
    /// connector's provisioned venv (its `upstream.python`, e.g. 3.10, which
    /// bookworm lacks), copied into the stand-in at the same path.
    pub python_of: Option<&'static str>,
    /// More files of `/airbyte/integration_code/` (paths relative to it, and
    /// their bytes), made when the stand-in is built: [`declarative_code`]
    /// for a manifest-only connector, none for the others.
    pub code: fn() -> Vec<(String, Vec<u8>)>,
}

fn no_code() -> Vec<(String, Vec<u8>)> {
    Vec::new()
}

/// The `main.py` of Airbyte's `source-declarative-manifest` image, the base
/// of every manifest-only connector's image. Its Dockerfile
/// (airbytehq/airbyte-python-cdk, the 3.11 one) lays the cdk's
/// `source_declarative_manifest/_run.py` out as the package
/// `source_declarative_manifest` (`__init__.py`, `run.py`, `spec.json`) in
/// `/airbyte/integration_code`, so its `SourceLocalYaml` finds the baked
/// `manifest.yaml` beside it (`pkgutil.get_data` of its own package).
pub const DECLARATIVE_MAIN_PY: &str =
    "from source_declarative_manifest.run import run\n\nif __name__ == \"__main__\":\n    run()\n";

/// The `source_declarative_manifest` package of a manifest-only connector's
/// image: the pinned cdk's `_run.py` as `run.py` and its `spec.json` (from
/// the provisioned cdk venv: the same pinned version), an empty
/// `__init__.py`, and the connector's pinned `manifest.yaml` and
/// `components.py` (fetched and hash-checked by `cargo xtask provision`).
pub fn declarative_code(connector: &str) -> Vec<(String, Vec<u8>)> {
    let entrypoint = crate::provision(connector);
    let argv = shell_words::split(&entrypoint).expect("a shell-words entrypoint");
    let arg = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .map(|i| PathBuf::from(&argv[i + 1]))
    };
    let read = |path: &Path| {
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let package = "source_declarative_manifest";
    let mut out = vec![(format!("{package}/__init__.py"), Vec::new())];
    // <venv>/bin/python -> <venv>/lib/python3.X/site-packages/airbyte_cdk/...
    let venv = Path::new(&argv[0])
        .parent()
        .and_then(Path::parent)
        .expect("a venv's bin/python");
    let site = std::fs::read_dir(venv.join("lib"))
        .expect("the venv's lib/")
        .flatten()
        .map(|e| {
            e.path()
                .join("site-packages/airbyte_cdk/cli/source_declarative_manifest")
        })
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "{} holds no airbyte_cdk/cli/source_declarative_manifest",
                venv.display()
            )
        });
    out.push((format!("{package}/run.py"), read(&site.join("_run.py"))));
    out.push((
        format!("{package}/spec.json"),
        read(&site.join("spec.json")),
    ));
    let mut pinned = 0;
    for (flag, name) in [
        ("--manifest", "manifest.yaml"),
        ("--components", "components.py"),
    ] {
        if let Some(path) = arg(flag) {
            out.push((format!("{package}/{name}"), read(&path)));
            pinned += 1;
        }
    }
    assert!(
        pinned > 0,
        "{connector}'s entrypoint {entrypoint:?} names no manifest: is its upstream manifest-only?"
    );
    out
}

/// `airbyte/source-faker:7.2.1`. main.py as in airbytehq/airbyte
/// `airbyte-integrations/connectors/source-faker/main.py`.
pub const FAKER: StandIn = StandIn {
    image: "airbyte/source-faker:7.2.1",
    lock: "xtask/python/faker-7.2.1.txt",
    main_py: "from source_faker.run import run\n\nif __name__ == \"__main__\":\n    run()\n",
    python_of: None,
    code: no_code,
};

/// `airbyte/source-sentry:0.8.14`, manifest-only: Airbyte builds it over the
/// `source-declarative-manifest` image of its cdk (its pinned cdk's lock
/// here, on Debian's Python 3.11), with the manifest at
/// `source_declarative_manifest/manifest.yaml`.
pub const SENTRY: StandIn = StandIn {
    image: "airbyte/source-sentry:0.8.14",
    lock: "cdk/airbyte-cdk-7.23.4.lock.txt",
    main_py: DECLARATIVE_MAIN_PY,
    python_of: None,
    code: || declarative_code("source-sentry"),
};

/// `airbyte/source-freshdesk:3.1.3` (airbyte-cdk 0.88.4, which needs Python
/// 3.10: on 3.11 its dataclasses fail to import). main.py as upstream's
/// (`source_freshdesk/run.py` has `run()`).
pub const FRESHDESK: StandIn = StandIn {
    image: "airbyte/source-freshdesk:3.1.3",
    lock: "connectors/source-freshdesk/upstream.lock.txt",
    main_py: "from source_freshdesk.run import run\n\nif __name__ == \"__main__\":\n    run()\n",
    python_of: Some("source-freshdesk"),
    code: no_code,
};

const MIRROR: &str = "http://deb.debian.org/debian";
/// The root filesystem's recipe; its text is the cached folder's stamp.
const ROOTFS_RECIPE: &str = "debootstrap --variant=minbase --include=python3,python3-venv bookworm";
/// Bump when the stand-in layout below changes.
const LAYOUT: &str = "stand-in v1: venv /airbyte/venv, main.py /airbyte/integration_code";
const STAMP: &str = ".atf-done";
const VENV_PATH: &str =
    "/airbyte/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What [`import`] did, with its timings.
#[derive(Debug)]
pub struct Imported {
    pub image: String,
    /// `debootstrap` time when the root filesystem was not cached.
    pub rootfs_built_in: Option<Duration>,
    /// venv install time when the stand-in was not cached.
    pub stand_in_built_in: Option<Duration>,
    /// `tar | docker import` time.
    pub imported_in: Duration,
    /// The imported image's size in bytes.
    pub size: u64,
}

/// The cache folder (see the module docs).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ATF_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"));
    base.join("airbyte-to-flow")
}

/// 64-bit FNV-1a, as `cargo xtask setup` stamps its venvs (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{what}: {cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stamped(dir: &Path, stamp: &str) -> bool {
    std::fs::read_to_string(dir.join(STAMP)).ok().as_deref() == Some(stamp)
}

fn fresh(dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
    }
}

/// The cached bookworm minbase root filesystem; builds it when missing.
fn rootfs(cache: &Path) -> (PathBuf, Option<Duration>) {
    let dir = cache.join("rootfs-bookworm-python3");
    if stamped(&dir, ROOTFS_RECIPE) {
        return (dir, None);
    }
    let started = Instant::now();
    let tmp = cache.join("rootfs-bookworm-python3.tmp");
    fresh(&tmp);
    fresh(&dir);
    eprintln!(
        "stand-in: {ROOTFS_RECIPE} {} (about a minute, once)",
        tmp.display()
    );
    let mut cmd = Command::new("debootstrap");
    cmd.args(ROOTFS_RECIPE.split(' ').skip(1))
        .arg(&tmp)
        .arg(MIRROR);
    run(
        &mut cmd,
        "the stand-in root filesystem (needs Debian's `debootstrap` and deb.debian.org)",
    );
    std::fs::write(tmp.join(STAMP), ROOTFS_RECIPE).unwrap();
    std::fs::rename(&tmp, &dir).unwrap();
    (dir, Some(started.elapsed()))
}

/// Runs `argv` inside the root filesystem `root` with a clean environment
/// plus `env`.
fn chroot(root: &Path, argv: &[&str], env: &[(&str, &str)], what: &str) {
    let mut cmd = Command::new("chroot");
    cmd.arg(root)
        .args(argv)
        .env_clear()
        .env("PATH", VENV_PATH)
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .envs(env.iter().copied());
    run(&mut cmd, what);
}

/// The CA bundle the host's pip trusts (`$PIP_CERT`, `$SSL_CERT_FILE`, else
/// Debian's): copied into the chroot, so pip there reaches PyPI through
/// whatever the host's pip goes through (e.g. a TLS-inspecting proxy).
fn host_ca_bundle() -> Option<PathBuf> {
    ["PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .chain([PathBuf::from("/etc/ssl/certs/ca-certificates.crt")])
        .find(|p| p.is_file())
}

/// A Python of the host to copy into a stand-in.
struct HostPython {
    /// Its installation prefix (`sys.base_prefix`), e.g. `/root/.pyenv/versions/3.10.13`.
    prefix: PathBuf,
    /// `3.10`.
    short: String,
}

/// The Python that `connector`'s provisioned venv runs on (provisioning it
/// when needed, `crate::provision`).
fn host_python(connector: &str) -> HostPython {
    let entrypoint = crate::provision(connector);
    let python = Path::new(&entrypoint)
        .parent()
        .expect("the entrypoint is in the venv's bin/")
        .join("python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys; print(sys.base_prefix); print('%d.%d' % sys.version_info[:2])",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(out.status.success(), "{} failed: {out:?}", python.display());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let prefix = PathBuf::from(lines.next().unwrap_or_default());
    let short = lines.next().unwrap_or_default().to_string();
    assert!(
        prefix.is_absolute() && prefix.join("bin/python3").exists(),
        "{}: no Python installation at {:?}",
        python.display(),
        prefix
    );
    HostPython { prefix, short }
}

/// The cached stand-in root filesystem of `s`; builds it when missing.
fn stand_in_dir(cache: &Path, s: &StandIn) -> (PathBuf, Option<Duration>, Option<Duration>) {
    let lock_path = crate::workspace_root().join(s.lock);
    let lock = std::fs::read_to_string(&lock_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display()));
    let mut recipe = format!(
        "{ROOTFS_RECIPE}\n{LAYOUT}\n{}\n{lock}\n{}",
        s.image, s.main_py
    );
    if let Some(c) = s.python_of {
        // Its connector.json names the Python (`upstream.python`): a cached
        // stand-in needs no provisioning to be found.
        let manifest = crate::workspace_root()
            .join("connectors")
            .join(c)
            .join("connector.json");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
        recipe.push_str(&format!("\npython of {c}: {text}"));
    }
    let extra = (s.code)();
    let mut recipe = recipe.into_bytes();
    for (path, bytes) in &extra {
        recipe.extend_from_slice(format!("\n{path} {}\n", bytes.len()).as_bytes());
        recipe.extend_from_slice(bytes);
    }
    let stamp = format!("{:016x}", fnv1a(&recipe));
    let slug = s.image.replace(['/', ':'], "-");
    let dir = cache.join(format!("{slug}-{stamp}"));
    if stamped(&dir, &stamp) {
        return (dir, None, None);
    }
    let python = s.python_of.map(host_python);
    let (base, rootfs_built_in) = rootfs(cache);
    let started = Instant::now();
    let tmp = cache.join(format!("{slug}-{stamp}.tmp"));
    fresh(&tmp);
    fresh(&dir);
    eprintln!(
        "stand-in: {}: installing {} into a copy of {}",
        s.image,
        lock_path.display(),
        base.display()
    );
    run(
        Command::new("cp").arg("-a").arg(&base).arg(&tmp),
        "copy of the root filesystem",
    );
    let _ = std::fs::remove_file(tmp.join(STAMP));
    // pip downloads from PyPI inside the chroot: the host's resolver config.
    let resolv = tmp.join("etc/resolv.conf");
    let _ = std::fs::remove_file(&resolv);
    std::fs::copy("/etc/resolv.conf", &resolv).expect("/etc/resolv.conf is readable");
    std::fs::copy(&lock_path, tmp.join("tmp/requirements.txt")).unwrap();
    let mut pip_env = vec![];
    if let Some(ca) = host_ca_bundle() {
        std::fs::copy(&ca, tmp.join("tmp/ca.crt")).unwrap();
        pip_env.push(("PIP_CERT", "/tmp/ca.crt"));
    }
    let index = std::env::var("PIP_INDEX_URL").unwrap_or_default();
    if !index.is_empty() {
        pip_env.push(("PIP_INDEX_URL", index.as_str()));
    }
    let interpreter = match &python {
        None => "python3".to_string(),
        Some(p) => {
            let inside = tmp.join(p.prefix.strip_prefix("/").expect("an absolute prefix"));
            std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
            run(
                Command::new("cp").arg("-a").arg(&p.prefix).arg(&inside),
                "copy of the host's Python into the stand-in",
            );
            // Its test suite is a fifth of it and never imported.
            let _ = std::fs::remove_dir_all(inside.join(format!("lib/python{}/test", p.short)));
            p.prefix.join("bin/python3").display().to_string()
        }
    };
    chroot(
        &tmp,
        &[interpreter.as_str(), "-m", "venv", "/airbyte/venv"],
        &[],
        &format!("{interpreter} -m venv in the stand-in"),
    );
    chroot(
        &tmp,
        &[
            "/airbyte/venv/bin/pip",
            "install",
            "--quiet",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
            "/tmp/requirements.txt",
        ],
        &pip_env,
        &format!("pip install -r {} in the stand-in", lock_path.display()),
    );
    std::fs::remove_file(tmp.join("tmp/requirements.txt")).unwrap();
    let _ = std::fs::remove_file(tmp.join("tmp/ca.crt"));
    std::fs::write(&resolv, "").unwrap();
    let code = tmp.join("airbyte/integration_code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join("main.py"), s.main_py).unwrap();
    for (path, bytes) in &extra {
        let to = code.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    std::fs::write(tmp.join(STAMP), &stamp).unwrap();
    std::fs::rename(&tmp, &dir).unwrap();
    (dir, rootfs_built_in, Some(started.elapsed()))
}

/// Builds (or takes from the cache) the stand-in of `s` and imports it into
/// `engine` under the upstream image's name.
pub fn import(engine: &Engine, s: &StandIn) -> Imported {
    let cache = cache_dir();
    std::fs::create_dir_all(&cache)
        .unwrap_or_else(|e| panic!("cannot create the cache {}: {e}", cache.display()));
    let lock_file = std::fs::File::create(cache.join(".lock")).unwrap();
    #[allow(clippy::incompatible_msrv)]
    lock_file.lock().expect("the stand-in cache lock");
    let (dir, rootfs_built_in, stand_in_built_in) = stand_in_dir(&cache, s);

    let started = Instant::now();
    let image = patches::image::ImageRef::parse(s.image).expect("an image reference");
    let (name, version) = (
        image.repository,
        image.tag.expect("an image name with a tag"),
    );
    let mut import = engine.docker();
    import.arg("import");
    for change in [
        format!("ENV PATH={VENV_PATH}"),
        "ENV AIRBYTE_ENTRYPOINT=\"python /airbyte/integration_code/main.py\"".to_string(),
        "WORKDIR /airbyte/integration_code".to_string(),
        format!("LABEL io.airbyte.name={name} io.airbyte.version={version}"),
        "ENTRYPOINT [\"python\", \"/airbyte/integration_code/main.py\"]".to_string(),
    ] {
        import.arg("--change").arg(change);
    }
    let mut tar = Command::new("tar")
        .args(["--numeric-owner", "--exclude=./.atf-done", "-C"])
        .arg(&dir)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tar runs");
    let out = import
        .arg("-")
        .arg(s.image)
        .stdin(tar.stdout.take().unwrap())
        .output()
        .expect("the docker client runs");
    let tar_status = tar.wait().unwrap();
    assert!(
        tar_status.success() && out.status.success(),
        "tar {} | docker import - {} failed (tar {tar_status}, docker {}): {}",
        dir.display(),
        s.image,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let imported_in = started.elapsed();
    let size = engine.image_size(s.image);
    eprintln!(
        "stand-in: {} imported in {imported_in:.1?} ({} MB; root filesystem {}, venv {})",
        s.image,
        size / 1_000_000,
        rootfs_built_in.map_or("cached".into(), |d| format!("built in {d:.1?}")),
        stand_in_built_in.map_or("cached".into(), |d| format!("built in {d:.1?}")),
    );
    Imported {
        image: s.image.to_string(),
        rootfs_built_in,
        stand_in_built_in,
        imported_in,
        size,
    }
}
