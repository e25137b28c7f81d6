//! The short requests: spec, discover and validate (apply needs no connector).
//! Each runs the connector once and waits for the one message it answers
//! with ([`collect`]).

use serde_json::{json, Value};
use tokio::io::AsyncWrite;

use patches::apply;

use crate::airbyte;
use crate::connector::{self, Process, Workdir};
use crate::flow::{self, write_response};
use crate::{Error, Options};

/// Parse JSON text baked into the description (validated at build time).
pub(crate) fn baked(what: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|err| {
        Error::Request(format!(
            "the baked {what} of this binary is not valid JSON ({err}); rebuild it with `cargo xtask build`"
        ))
    })
}

pub async fn spec<W: AsyncWrite + Unpin>(
    connector: &'static patches::Connector,
    opts: &Options,
    out: &mut W,
) -> Result<(), Error> {
    if let Some(recorded) = &connector.spec.recorded {
        tracing::debug!(
            upstream_version = recorded.upstream_version,
            "answering spec from the recording"
        );
        let response = baked("recorded spec response", recorded.response)?;
        return write_response(out, "spec", &response).await;
    }
    let mut process = connector::spawn(connector, opts, "spec", &[])?;
    let airbyte_spec = collect(&mut process, "SPEC").await?;
    let config_patch = connector
        .spec
        .config_patch
        .map(|p| baked("spec.patch.json", p))
        .transpose()?;
    let oauth2_value;
    let oauth2 = match connector.spec.oauth2 {
        patches::OAuth2::Upstream => patches::OAuth2::Upstream,
        patches::OAuth2::Disabled => patches::OAuth2::Disabled,
        patches::OAuth2::Replace(text) => {
            oauth2_value = baked("oauth2.patch.json", text)?;
            patches::OAuth2::Replace(&oauth2_value)
        }
    };
    let response = apply::flow_spec(
        &airbyte_spec,
        config_patch.as_ref(),
        oauth2,
        connector.spec.documentation_url,
    )?;
    write_response(out, "spec", &response).await
}

/// The config the connector sees: `spec.map.json` applied, our own
/// `_atf_skip_interval` removed.
pub(crate) fn connector_config(
    connector: &patches::Connector,
    config: &Value,
) -> Result<Value, Error> {
    let mut config = config.clone();
    apply::remap_config(&mut config, connector.spec.config_map)?;
    if let Some(obj) = config.as_object_mut() {
        obj.remove("_atf_skip_interval");
    }
    Ok(config)
}

/// Runs the connector's `command --config FILE` with the capture's config
/// (remapped) in a private directory, and returns the payload of its
/// `expected` message.
async fn run_with_config(
    connector: &'static patches::Connector,
    opts: &Options,
    command: &'static str,
    config: &Value,
    expected: &str,
) -> Result<Value, Error> {
    let dir = Workdir::new()?;
    let config = dir.write("config.json", &connector_config(connector, config)?)?;
    let mut process = connector::spawn(
        connector,
        opts,
        command,
        &["--config".as_ref(), config.as_os_str()],
    )?;
    collect(&mut process, expected).await
}

/// Read every line of `process` until EOF, returning the last message of type
/// `want` (e.g. `CATALOG`, the object under its field), then wait for the exit.
async fn collect(process: &mut Process, want: &str) -> Result<Value, Error> {
    let mut buf = Vec::with_capacity(4096);
    let mut found: Option<Value> = None;
    while process.next_line(&mut buf).await? {
        let Some((env, _)) = airbyte::parse(&buf) else {
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
            airbyte::side_message(&env, &mut process.last_error);
        }
    }
    process.finish().await?;
    found.ok_or_else(|| Error::Connector {
        message: format!(
            "the connector's `{}` exited successfully without writing a {want} message",
            process.command
        ),
        exit_code: None,
    })
}

pub async fn discover<W: AsyncWrite + Unpin>(
    connector: &'static patches::Connector,
    opts: &Options,
    req: flow::Discover,
    out: &mut W,
) -> Result<(), Error> {
    let catalog = run_with_config(connector, opts, "discover", &req.config, "CATALOG").await?;
    let streams = catalog
        .get("streams")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut bindings = Vec::with_capacity(streams.len());
    for stream in streams {
        if let Some(b) = apply::discovered_binding(stream, &connector.streams)? {
            bindings.push(b);
        }
    }
    tracing::info!(
        streams = streams.len(),
        bindings = bindings.len(),
        "discovered"
    );
    write_response(out, "discovered", &json!({ "bindings": bindings })).await
}

pub async fn validate<W: AsyncWrite + Unpin>(
    connector: &'static patches::Connector,
    opts: &Options,
    req: flow::Validate,
    out: &mut W,
) -> Result<(), Error> {
    let mut paths = Vec::with_capacity(req.bindings.len());
    for b in &req.bindings {
        paths.push(json!({ "resourcePath": apply::resource_path(&b.resource_config)? }));
    }
    let status =
        run_with_config(connector, opts, "check", &req.config, "CONNECTION_STATUS").await?;
    if status.get("status").and_then(Value::as_str) != Some("SUCCEEDED") {
        let message = status
            .get("message")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "the connector's check reported status {} without a message",
                    status.get("status").unwrap_or(&Value::Null)
                )
            });
        return Err(Error::Connector {
            message,
            exit_code: None,
        });
    }
    write_response(out, "validated", &json!({ "bindings": paths })).await
}
