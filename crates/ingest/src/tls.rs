//! rustls client configuration for `mqtts://` brokers.
//!
//! The broker is always verified: against `mqtt.ca_file` when set, otherwise
//! against the system roots. A client certificate is presented when
//! configured (mutual TLS). The crypto provider is chosen explicitly (ring),
//! so nothing depends on a process-wide default being installed.

use crate::source::IngestError;
use std::path::Path;
use std::sync::Arc;
use swipewatch_config::MqttConfig;

fn read_pem(path: &Path, what: &'static str) -> Result<Vec<u8>, IngestError> {
    std::fs::read(path)
        .map_err(|e| IngestError::Tls(format!("cannot read {what} {}: {e}", path.display())))
}

/// Builds the rustls client config for `mqtt`.
pub fn client_config(mqtt: &MqttConfig) -> Result<rustls::ClientConfig, IngestError> {
    let mut roots = rustls::RootCertStore::empty();
    match &mqtt.ca_file {
        Some(ca) => {
            let pem = read_pem(ca, "CA file")?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| {
                    IngestError::Tls(format!("bad certificate in {}: {e}", ca.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    IngestError::Tls(format!("unusable CA certificate in {}: {e}", ca.display()))
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    if roots.is_empty() {
        return Err(IngestError::Tls(
            "no CA certificate to verify the broker with".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IngestError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    match (&mqtt.client_cert_file, &mqtt.client_key_file) {
        (Some(cert), Some(key)) => {
            let cert_pem = read_pem(cert, "client certificate")?;
            let chain = rustls_pemfile::certs(&mut cert_pem.as_slice())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    IngestError::Tls(format!("bad client certificate {}: {e}", cert.display()))
                })?;
            let key_pem = read_pem(key, "client key")?;
            let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
                .map_err(|e| IngestError::Tls(format!("bad client key {}: {e}", key.display())))?
                .ok_or_else(|| IngestError::Tls(format!("no private key in {}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| IngestError::Tls(format!("client certificate rejected: {e}")))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}
