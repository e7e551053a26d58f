//! The lazy trust store's tests, kept beside the module (`#[path]`) so the module itself stays short.

use super::*;
use crate::diagnostics::Verbosity;

struct Ca {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A certificate for `key` with `params`, signed by `issuer`.
fn issue(
    issuer: &Ca,
    params: &rcgen::CertificateParams,
    key: &rcgen::KeyPair,
) -> CertificateDer<'static> {
    let issuer = rcgen::Issuer::from_params(&issuer.params, &issuer.key);
    params.signed_by(key, &issuer).unwrap().der().clone()
}

fn leaf(issuer: &Ca) -> CertificateDer<'static> {
    let params = rcgen::CertificateParams::new(vec!["arm.test".into()]).unwrap();
    issue(issuer, &params, &rcgen::KeyPair::generate().unwrap())
}

/// A CA `name` signed by `issuer`, and its certificate.
fn intermediate(issuer: &Ca, name: &str) -> (Ca, CertificateDer<'static>) {
    let inter = ca(name);
    let der = issue(issuer, &inter.params, &inter.key);
    (inter, der)
}

/// What the lazy, narrowed verifier answers, what webpki over every certificate of the
/// same bundle answers, for one chain, and whether the lazy one decoded the whole bundle.
fn verdicts(bundle: &str, chain: &[CertificateDer<'static>], host: &str) -> (String, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.pem");
    std::fs::write(&path, bundle).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let sources = Sources::Env {
        file: Some(path),
        dirs: Vec::new(),
    };
    let lazy = LazyTrustStore::new(
        sources,
        provider.clone(),
        Diagnostics::new(Verbosity::default()),
    );
    let full = verifier_for(&pem_certificates(bundle.as_bytes()), &provider).unwrap();
    let name = ServerName::try_from(host.to_string()).unwrap();
    let now = UnixTime::now();
    let (ee, rest) = chain.split_first().unwrap();
    let a = lazy.verify_server_cert(ee, rest, &name, &[], now);
    let b = full.verify_server_cert(ee, rest, &name, &[], now);
    let decoded_all = lazy.bundle().unwrap().full_certs.get().is_some();
    (
        format!("{:?}", a.map(|_| "ok")),
        format!("{:?}", b.map(|_| "ok")),
        decoded_all,
    )
}

/// The system bundle (if any) with `extra` CA certificates among many others.
fn big_bundle(extra: &[&Ca]) -> String {
    let system = openssl_probe::probe()
        .cert_file
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let decoys: String = (0..60).map(|i| ca(&format!("decoy {i}")).pem).collect();
    let extra: String = extra.iter().map(|c| c.pem.as_str()).collect();
    format!("{system}\n{decoys}{extra}")
}

#[test]
fn a_chain_is_judged_as_by_the_whole_bundle() {
    let root = ca("Test Root");
    let (inter, inter_der) = intermediate(&root, "Test Intermediate");
    let same_name_other_key = ca("Test Root");
    let direct = vec![leaf(&root)];
    let via_intermediate = vec![leaf(&inter), inter_der];
    let odd = format!("{}-----BEGIN X-----\nAA==\n-----END X-----\n", root.pem);
    let ok = "Ok(\"ok\")";
    // (case, bundle, chain, host, expected verdict, whole bundle decoded)
    let cases = [
        (
            "root among many",
            big_bundle(&[&root]),
            &direct,
            "arm.test",
            ok,
            false,
        ),
        (
            "via an intermediate",
            big_bundle(&[&root]),
            &via_intermediate,
            "arm.test",
            ok,
            false,
        ),
        (
            "wrong host",
            big_bundle(&[&root]),
            &direct,
            "other.test",
            "NotValidForName",
            true,
        ),
        (
            "no such CA",
            big_bundle(&[]),
            &direct,
            "arm.test",
            "UnknownIssuer",
            true,
        ),
        (
            "same subject, other key",
            big_bundle(&[&same_name_other_key]),
            &direct,
            "arm.test",
            "BadSignature",
            true,
        ),
        (
            "both keys",
            big_bundle(&[&same_name_other_key, &root]),
            &direct,
            "arm.test",
            ok,
            false,
        ),
        ("not plain PEM", odd, &direct, "arm.test", ok, true),
    ];
    for (label, bundle, chain, host, expected, decodes_all) in cases {
        let (lazy, full, decoded_all) = verdicts(&bundle, chain, host);
        assert_eq!(lazy, full, "{label}");
        assert!(lazy.contains(expected), "{label}: {lazy}");
        assert_eq!(decoded_all, decodes_all, "{label}");
    }
}
