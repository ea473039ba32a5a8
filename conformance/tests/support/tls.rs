//! Certificates made in the test for the HTTPS runs (issue 23 item 0): a CA of our own,
//! and a server certificate it signed for 127.0.0.1 and localhost, as PEM files. The
//! load and reference-server tests include this file by path, so that one maker serves
//! the three crates.
// Not every including test file uses every certificate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// PEM files of one test CA and the server certificate it signed.
pub struct TestCertificates {
    /// The CA's certificate: what `--ca-cert` takes.
    pub ca: PathBuf,
    /// The server's chain and key: what `--tls-cert` and `--tls-key` take.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A self-signed certificate and key that no CA vouches for.
    pub self_signed_cert: PathBuf,
    pub self_signed_key: PathBuf,
}

/// Makes the certificates under `dir`.
pub fn make(dir: &Path) -> TestCertificates {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    std::fs::create_dir_all(dir).expect("a folder for the certificates");
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "punchplay-harness test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("a server key");
    let server_params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("server params");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .expect("the server certificate");
    let lone = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("self-signed");
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a PEM file");
        path
    };
    TestCertificates {
        ca: write("ca.pem", ca_cert.pem()),
        cert: write("server.pem", server_cert.pem()),
        key: write("server-key.pem", server_key.serialize_pem()),
        self_signed_cert: write("self-signed.pem", lone.cert.pem()),
        self_signed_key: write("self-signed-key.pem", lone.signing_key.serialize_pem()),
    }
}
