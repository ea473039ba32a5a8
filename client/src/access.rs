//! How a tool reaches a target, the same in the suite and in load (issue 23 item 0): the
//! CA certificates trusted beyond the platform's (`--ca-cert`), the headers a gateway in
//! front of staging demands on every request (`--header 'Name: value'`), the connect
//! timeout, the TLS configuration, and the sentence that names a failure to reach the
//! target (a TLS failure named as such, with what to do).
//!
//! The TLS configuration is built once and shared by every client (the suite builds one
//! per check): reqwest left to itself loads and parses the platform's root certificates
//! for each client it builds, which was some 40 % of a suite run's CPU.
//!
//! Proxies: reqwest reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` from the
//! environment for every client built here; nothing in this module turns that off.
//!
//! It judges no answer: that is the callers' business.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The longest a tool waits for a connection to the target (issue 23 item 1: a target
/// that does not answer is exit 2 within seconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What every client of a run needs to reach the target. Header values are secrets (a
/// gateway's key): [`std::fmt::Debug`] and [`Access::describe`] never show them.
#[derive(Clone, Default)]
pub struct Access {
    ca_files: Vec<PathBuf>,
    ca_certs: Vec<CertificateDer<'static>>,
    headers: HeaderMap,
    /// The TLS configuration with `ca_certs`, built on first use and shared by every
    /// clone (without extra CAs, [`platform_tls`] serves the whole process).
    tls: Arc<OnceLock<Result<rustls::ClientConfig, String>>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("ca_files", &self.ca_files)
            .field("headers", &self.header_names())
            .finish()
    }
}

impl Access {
    /// Reads `--ca-cert` files (PEM, one or more certificates each) and parses `--header`
    /// values (`Name: value`). The error is a sentence naming the flag to fix.
    pub fn new(ca_files: &[PathBuf], headers: &[String]) -> Result<Access, String> {
        let mut access = Access::default();
        for file in ca_files {
            access.ca_certs.extend(read_ca(file)?);
            access.ca_files.push(file.clone());
        }
        for text in headers {
            let (name, value) = parse_header(text)?;
            access.headers.append(name, value);
        }
        Ok(access)
    }

    /// Adds the TLS configuration (the platform's roots and the trusted CAs, built once),
    /// the headers (marked sensitive) and the connect timeout to a client builder.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let builder = builder
            .connect_timeout(CONNECT_TIMEOUT)
            .default_headers(self.headers.clone());
        match self.tls_config() {
            Ok(config) => builder.tls_backend_preconfigured(config),
            // The platform's verifier did not build: reqwest tries its own way (and says
            // what failed when the client is built).
            Err(_) => builder.tls_certs_merge(
                self.ca_certs
                    .iter()
                    .filter_map(|der| reqwest::Certificate::from_der(der).ok()),
            ),
        }
    }

    /// The run's TLS configuration: the platform's roots, and the trusted CAs beside them.
    pub fn tls_config(&self) -> Result<rustls::ClientConfig, String> {
        if self.ca_certs.is_empty() {
            return platform_tls();
        }
        self.tls.get_or_init(|| build_tls(&self.ca_certs)).clone()
    }

    /// The headers' names, in the order given (values never leave this type).
    pub fn header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for name in self.headers.keys() {
            if !names.iter().any(|n| n == name.as_str()) {
                names.push(name.as_str().to_owned());
            }
        }
        names
    }

    /// What a run's notes say about how it reached the target, with header values
    /// redacted: `every request carried X-Gateway-Key: [redacted]; trusted CA: ca.pem`.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.headers.is_empty() {
            let names: Vec<String> = self
                .header_names()
                .iter()
                .map(|n| format!("{n}: [redacted]"))
                .collect();
            parts.push(format!("every request carried {}", names.join(", ")));
        }
        if !self.ca_files.is_empty() {
            let files: Vec<String> = self
                .ca_files
                .iter()
                .map(|f| f.display().to_string())
                .collect();
            parts.push(format!("trusted CA: {}", files.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The TLS configuration with the platform's roots alone, built once per process.
pub fn platform_tls() -> Result<rustls::ClientConfig, String> {
    static PLATFORM: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    PLATFORM.get_or_init(|| build_tls(&[])).clone()
}

/// A client TLS configuration as reqwest builds one (rustls on aws-lc-rs unless the
/// process installed another provider, TLS 1.2 and 1.3, the platform's verifier, with
/// `extra` roots beside the platform's), HTTP/1.1 by ALPN.
fn build_tls(extra: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig, String> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = if extra.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra.to_vec(), provider.clone())
    }
    .map_err(|e| format!("the platform's certificate verifier could not be built: {e}"))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("no TLS version to offer: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Whether a URL names this machine (127.0.0.0/8, ::1, localhost): the only place the
/// reference server serves its test controls.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Reads a PEM file of one or more CA certificates.
fn read_ca(file: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(file).map_err(|e| {
        format!(
            "could not read the CA certificate file {}: {e}; check the path given to --ca-cert",
            file.display()
        )
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "the CA certificate file {} is not PEM ({e}); --ca-cert takes the CA's certificate as PEM (-----BEGIN CERTIFICATE-----)",
                file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "the CA certificate file {} holds no certificate; --ca-cert takes the CA's certificate as PEM (-----BEGIN CERTIFICATE-----)",
            file.display()
        ));
    }
    Ok(certs)
}

/// Parses `Name: value`.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let usage = "--header takes `Name: value`, e.g. --header 'X-Gateway-Key: …'";
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("--header {:?} has no colon; {usage}", redact_value(text)))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("--header: {:?} is not a header name; {usage}", name.trim()))?;
    let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
        format!("--header {name}: the value holds characters a header cannot carry; {usage}")
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// A header argument without its value, for an error message.
fn redact_value(text: &str) -> String {
    if text.len() > 40 {
        format!("{}…", text.chars().take(12).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// Why a request got no answer, as the one sentence both tools print: a TLS failure named
/// as such with what to do, a refused connection, a timeout, or what the transport said.
pub fn explain(e: &reqwest::Error, url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| url.to_owned());
    if let Some(tls) = tls_failure(e, &host) {
        return tls;
    }
    if e.is_timeout() {
        return format!("{host} did not answer in time");
    }
    if e.is_connect() {
        let chain = chain(e);
        if chain.contains("timed out") || chain.contains("deadline") {
            return format!(
                "could not connect to {host} within {} s (is the target running and reachable from here? a proxy may be needed: HTTPS_PROXY)",
                CONNECT_TIMEOUT.as_secs()
            );
        }
        return format!(
            "could not connect to {host} ({}; is the target running and reachable?)",
            last_cause(e)
        );
    }
    format!("the target did not answer with valid HTTP ({})", chain(e))
}

/// The kinds of TLS failure a person can act on.
enum TlsFailure {
    Untrusted,
    Expired,
    WrongName,
    NotTls,
    Other(String),
}

/// The TLS sentence, if the failure was one. The rustls error is looked for in the
/// source chain (inside an `io::Error` too); its text is the fallback, since the chain's
/// shape is the connectors' business.
fn tls_failure(e: &reqwest::Error, host: &str) -> Option<String> {
    let rustls_error = causes(e).find_map(|c| {
        c.downcast_ref::<rustls::Error>().cloned().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned()
        })
    });
    let text = chain(e);
    let kind = match rustls_error {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            use rustls::CertificateError as C;
            match cert {
                C::UnknownIssuer | C::BadSignature => TlsFailure::Untrusted,
                C::Expired | C::ExpiredContext { .. } => TlsFailure::Expired,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsFailure::WrongName,
                other => TlsFailure::Other(format!("{other:?}")),
            }
        }
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => TlsFailure::NotTls,
        Some(other) => TlsFailure::Other(other.to_string()),
        None if text.contains("UnknownIssuer") || text.contains("BadSignature") => {
            TlsFailure::Untrusted
        }
        None if text.contains("Expired") => TlsFailure::Expired,
        None if text.contains("NotValidForName") => TlsFailure::WrongName,
        None if text.contains("InvalidContentType") || text.contains("corrupt message") => {
            TlsFailure::NotTls
        }
        None if text.contains("certificate") || text.contains("handshake") => {
            TlsFailure::Other(last_cause(e))
        }
        None => return None,
    };
    let fix = "pass --ca-cert FILE with the certificate (PEM) of the CA that signed it";
    Some(match kind {
        TlsFailure::Untrusted => format!(
            "the certificate of {host} is not trusted (self-signed, or signed by a CA this machine does not know); {fix}"
        ),
        TlsFailure::Expired => format!(
            "the certificate of {host} has expired; renew it on the target (a TLS failure, not a verdict)"
        ),
        TlsFailure::WrongName => format!(
            "the certificate of {host} is not valid for that name; use the host name the certificate names in --target"
        ),
        TlsFailure::NotTls => format!(
            "{host} does not speak TLS on that port (an http:// server?); check the scheme of --target"
        ),
        TlsFailure::Other(why) => format!(
            "the TLS handshake with {host} failed ({why}); check the target's certificate, or {fix}"
        ),
    })
}

/// Whether a failure to reach the target was TLS (the sentence then stands alone).
pub fn is_tls_failure(e: &reqwest::Error) -> bool {
    tls_failure(e, "").is_some()
}

fn causes(e: &reqwest::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.source();
        Some(current)
    })
}

fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    for c in causes(e) {
        text.push_str(": ");
        text.push_str(&c.to_string());
    }
    text
}

fn last_cause(e: &reqwest::Error) -> String {
    causes(e)
        .last()
        .map(|c| c.to_string())
        .unwrap_or_else(|| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_name_colon_value_and_its_value_stays_hidden() {
        let access = Access::new(&[], &["X-Gateway-Key: s3cret".into()]).unwrap();
        assert_eq!(access.header_names(), vec!["x-gateway-key"]);
        let described = access.describe().unwrap();
        assert!(
            described.contains("x-gateway-key: [redacted]"),
            "{described}"
        );
        assert!(!format!("{access:?}{described}").contains("s3cret"));
        assert!(parse_header("no colon").unwrap_err().contains("no colon"));
        assert!(parse_header("bad name: v").is_err());
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let e = Access::new(&["/nonexistent/ca.pem".into()], &[]).unwrap_err();
        assert!(e.contains("--ca-cert"), "{e}");
        let dir = std::env::temp_dir().join(format!("access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let e = Access::new(&[empty], &[]).unwrap_err();
        assert!(e.contains("no certificate") || e.contains("not PEM"), "{e}");
    }

    #[test]
    fn every_client_of_a_run_shares_one_tls_configuration() {
        let platform = platform_tls().expect("the platform's verifier builds");
        assert_eq!(platform.alpn_protocols, vec![b"http/1.1".to_vec()]);
        // With trusted CAs: built once, on first use, for every clone.
        let dir = std::env::temp_dir().join(format!("access-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&ca, cert.cert.pem()).unwrap();
        let access = Access::new(std::slice::from_ref(&ca), &[]).unwrap();
        let clone = access.clone();
        assert!(clone.tls.get().is_none());
        access
            .tls_config()
            .expect("the platform's roots and the CA");
        assert!(Arc::ptr_eq(&access.tls, &clone.tls) && clone.tls.get().is_some());
        for a in [Access::default(), access] {
            let client = a.apply(reqwest::Client::builder()).build();
            assert!(client.is_ok(), "{client:?}");
        }
    }
}
