//! The test CA, made when the mock starts, and one TLS server configuration
//! per host it is asked to serve (a certificate for that host signed by the CA).

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    configs: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl Ca {
    pub fn new() -> anyhow::Result<Ca> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "airbyte-to-flow mock API test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().context("cannot make the test CA key")?;
        let cert = params
            .self_signed(&key)
            .context("cannot make the test CA")?;
        Ok(Ca {
            cert,
            key,
            configs: Mutex::new(HashMap::new()),
        })
    }

    /// The CA certificate, PEM (what clients trust).
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// The server configuration for `host` (a name or an IP address), made
    /// on first use.
    pub fn config_for(&self, host: &str) -> anyhow::Result<Arc<ServerConfig>> {
        let mut configs = self.configs.lock().unwrap();
        if let Some(c) = configs.get(host) {
            return Ok(c.clone());
        }
        let mut names = vec![host.to_string()];
        if host == "127.0.0.1" {
            names.push("localhost".into());
        }
        let mut params = CertificateParams::new(names)
            .with_context(|| format!("cannot make a certificate for host \"{host}\""))?;
        params.distinguished_name.push(DnType::CommonName, host);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), self.der()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        configs.insert(host.to_string(), config.clone());
        Ok(config)
    }
}
