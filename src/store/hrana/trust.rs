//! What a server's certificate is checked against: the platform's trust store
//! (`rustls-native-certs`), Mozilla's roots bundled in the binary (`webpki-roots`), and the CAs of
//! the PEM file named by `PKGDECK_CA_FILE`, or else by `SSL_CERT_FILE` — an internal registry
//! usually sits behind an internal CA.
//!
//! `rustls-native-certs` itself reads `SSL_CERT_FILE` (and `SSL_CERT_DIR`) in place of the
//! platform store, as OpenSSL does: with both variables set, the CAs of both files are trusted.
//! Mozilla's roots are added in every case, so public servers stay reachable whatever those
//! variables say.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The variables naming a file of extra CAs, the first set one wins.
pub const CA_FILE_VARS: [&str; 2] = ["PKGDECK_CA_FILE", "SSL_CERT_FILE"];

/// The TLS client settings of a store, and where its extra CAs came from (named in errors).
#[derive(Clone)]
pub(super) struct Trust {
    pub(super) config: Arc<ClientConfig>,
    /// `(variable, file)` of the extra CAs, if any.
    pub(super) extra: Option<(&'static str, String)>,
}

impl Trust {
    /// Builds the root store from the platform, Mozilla's list and the CA file of the
    /// environment. A CA file that cannot be read or holds no certificate is an error naming
    /// the variable and the file; a platform store that fails to load (in part) is not: the
    /// other roots still apply.
    pub(super) fn from_env() -> Result<Trust, String> {
        let extra = CA_FILE_VARS.iter().find_map(|&var| {
            let value = std::env::var_os(var)?;
            (!value.is_empty()).then(|| (var, value.to_string_lossy().into_owned()))
        });
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some((var, path)) = &extra {
            for cert in read_ca_file(var, Path::new(path))? {
                roots.add(cert).map_err(|e| {
                    format!(
                        "{var} names {path}, which holds a certificate that cannot serve as a CA ({e})"
                    )
                })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("the TLS settings cannot be built ({e})"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Trust {
            config: Arc::new(config),
            extra,
        })
    }
}

/// The certificates of a PEM file named by `var`: at least one, or an error naming both.
pub(super) fn read_ca_file(var: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "which does not exist".to_owned(),
            std::io::ErrorKind::PermissionDenied => {
                "which cannot be read (permission denied)".to_owned()
            }
            _ if path.is_dir() => "which is a directory, not a PEM file".to_owned(),
            _ => format!("which cannot be read ({e})"),
        };
        format!("{var} names {shown}, {why}")
    })?;
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        match cert {
            Ok(cert) => certs.push(cert),
            Err(e) => {
                return Err(format!(
                    "{var} names {shown}, whose PEM cannot be read ({e})"
                ))
            }
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "{var} names {shown}, which holds no certificate (a PEM file of -----BEGIN CERTIFICATE----- blocks is expected)"
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_that_cannot_serve_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = read_ca_file("PKGDECK_CA_FILE", &missing).unwrap_err();
        assert!(
            err.starts_with("PKGDECK_CA_FILE names ") && err.contains("missing.pem"),
            "{err}"
        );
        assert!(err.contains("does not exist"), "{err}");
        let err = read_ca_file("SSL_CERT_FILE", dir.path()).unwrap_err();
        assert!(err.contains("is a directory"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let err = read_ca_file("PKGDECK_CA_FILE", &empty).unwrap_err();
        assert!(err.contains("holds no certificate"), "{err}");
        let key_only = dir.path().join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = read_ca_file("PKGDECK_CA_FILE", &key_only).unwrap_err();
        assert!(err.contains("holds no certificate"), "{err}");
    }
}
