//! The certificates of a PEM bundle indexed by subject, decoding only the first few hundred
//! bytes of each: a handshake then fully decodes and parses only the CA certificates that can
//! have issued the server's chain (one or two of ~150), where decoding the whole bundle costs
//! more than half a millisecond of every run. Only a hint: what it selects is decoded by
//! rustls-pki-types as the full parse would, and a chain it cannot verify goes to the full parse.
//!
//! Hand-written because no maintained crate reads a truncated DER prefix: DER parsers (der,
//! x509-cert, webpki) want the whole certificate, so the whole base64 decoded.

use base64::Engine;
use std::ops::Range;

/// Base64 characters decoded per certificate: 768 bytes of DER, enough to reach the end of
/// the subject of all but certificates with very long names (those are always selected).
const PREFIX_CHARS: usize = 1024;

/// One `CERTIFICATE` block of the bundle.
#[derive(Debug)]
pub struct Block {
    /// The block's lines in the file, BEGIN and END lines included.
    pub range: Range<usize>,
    /// The DER contents of its subject name, or None when the prefix did not reach it (the
    /// block is then a candidate for every chain).
    subject: Option<Vec<u8>>,
}

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// A bundle's certificate blocks, or None when the file is not plain PEM certificates (another
/// kind of section, a marker line with anything more on it, an unclosed block, `\r` alone as
/// a line end): the caller then decodes the whole file as before. In a file this accepts,
/// rustls-pki-types decodes each block alone exactly as it does within the file.
pub fn index(bytes: &[u8]) -> Option<Vec<Block>> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (line, next) = line_at(bytes, at);
        if line == BEGIN {
            let block = read_block(bytes, at, next)?;
            at = block.range.end;
            blocks.push(block);
            continue;
        }
        if line.starts_with(b"-----") {
            return None;
        }
        at = next; // text between blocks is ignored, as by every PEM reader
    }
    Some(blocks)
}

/// The line starting at `at` (without its line end) and where the next one starts.
fn line_at(bytes: &[u8], at: usize) -> (&[u8], usize) {
    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
    let line = &bytes[at..end];
    (
        line.strip_suffix(b"\r").unwrap_or(line),
        (end + 1).min(bytes.len()),
    )
}

/// The block whose BEGIN line starts at `begin`: the first base64 characters are kept, the
/// rest is skipped to the END line (a search, not a decode).
fn read_block(bytes: &[u8], begin: usize, mut at: usize) -> Option<Block> {
    let mut b64 = Vec::with_capacity(PREFIX_CHARS);
    while b64.len() < PREFIX_CHARS {
        if at >= bytes.len() {
            return None;
        }
        let (line, next) = line_at(bytes, at);
        if line.starts_with(b"-----") {
            return end_of_block(bytes, begin, at, &b64);
        }
        b64.extend_from_slice(&line[..line.len().min(PREFIX_CHARS - b64.len())]);
        at = next;
    }
    let marker = at + memchr::memmem::find(&bytes[at..], b"-----")?;
    end_of_block(bytes, begin, marker, &b64)
}

/// The block ending with the marker at `marker`, which must be the END line.
fn end_of_block(bytes: &[u8], begin: usize, marker: usize, b64: &[u8]) -> Option<Block> {
    if bytes[marker - 1] != b'\n' {
        return None; // a marker inside a line
    }
    let (line, next) = line_at(bytes, marker);
    (line == END).then(|| Block {
        range: begin..next,
        subject: subject_of_prefix(b64),
    })
}

/// The subject of a certificate from the first base64 characters of its PEM block.
fn subject_of_prefix(b64: &[u8]) -> Option<Vec<u8>> {
    let whole = b64.len() < PREFIX_CHARS || b64.ends_with(b"=");
    let usable = if whole {
        b64
    } else {
        &b64[..b64.len() / 4 * 4]
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(usable)
        .ok()?;
    subject(&der).map(<[u8]>::to_vec)
}

/// The DER contents of a certificate's subject name (`der` may be cut short after it).
pub fn subject(der: &[u8]) -> Option<&[u8]> {
    tbs_name(der, Field::Subject)
}

/// The DER contents of a certificate's issuer name.
pub fn issuer(der: &[u8]) -> Option<&[u8]> {
    tbs_name(der, Field::Issuer)
}

enum Field {
    Issuer,
    Subject,
}

/// RFC 5280: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity, subject, ... }, ... }.
fn tbs_name(der: &[u8], field: Field) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    let (rest, _) = header(der, SEQUENCE)?; // Certificate: entered, not skipped
    let (mut rest, _) = header(rest, SEQUENCE)?; // tbsCertificate
    if rest.first() == Some(&0xa0) {
        rest = skip(rest, 0xa0)?; // version
    }
    rest = skip(rest, 0x02)?; // serialNumber
    rest = skip(rest, SEQUENCE)?; // signature algorithm
    if let Field::Subject = field {
        rest = skip(rest, SEQUENCE)?; // issuer
        rest = skip(rest, SEQUENCE)?; // validity
    }
    let (body, len) = header(rest, SEQUENCE)?;
    body.get(..len)
}

/// The bytes after an element's tag and length, and that length; None if the tag differs or
/// the length is not DER's (indefinite, or more than four length bytes).
fn header(der: &[u8], tag: u8) -> Option<(&[u8], usize)> {
    let (&first, rest) = der.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    if len < 0x80 {
        return Some((rest, usize::from(len)));
    }
    let count = usize::from(len & 0x7f);
    if count == 0 || count > 4 || rest.len() < count {
        return None;
    }
    let len = rest[..count]
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((&rest[count..], len))
}

/// The bytes after a whole element.
fn skip(der: &[u8], tag: u8) -> Option<&[u8]> {
    let (rest, len) = header(der, tag)?;
    rest.get(len..)
}

/// The blocks that can hold the trust anchor of a chain whose certificates name these issuers:
/// those with a matching subject, and those whose subject the prefix did not show.
pub fn candidates<'a>(blocks: &'a [Block], issuers: &[&[u8]]) -> Vec<&'a Block> {
    blocks
        .iter()
        .filter(|b| b.subject.as_deref().is_none_or(|s| issuers.contains(&s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    /// The subject webpki (through rustls) reads from a CA certificate.
    fn anchor_subject(cert: &CertificateDer<'_>) -> Vec<u8> {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.add_parsable_certificates([cert.clone()]);
        roots.roots[0].subject.as_ref().to_vec()
    }

    fn ca(name: &str) -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), cert.der().to_vec())
    }

    #[test]
    fn subjects_match_what_webpki_reads() {
        let (pem, der) = ca("a CA with a name");
        let blocks = index(pem.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 1);
        let webpki_reads = anchor_subject(&CertificateDer::from(der.clone()));
        assert_eq!(blocks[0].subject.as_deref(), Some(webpki_reads.as_slice()));
        assert_eq!(subject(&der), Some(webpki_reads.as_slice()));
        // Self-signed: the issuer is the subject.
        assert_eq!(issuer(&der), subject(&der));
    }

    #[test]
    fn the_system_bundle_is_indexed_like_rustls_reads_it() {
        let Some(path) = openssl_probe::probe().cert_file else {
            return; // no system bundle on this machine
        };
        let bytes = std::fs::read(path).unwrap();
        let full: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect();
        let Some(blocks) = index(&bytes) else {
            return; // not plain PEM: the full parse is used, nothing to compare
        };
        assert_eq!(blocks.len(), full.len());
        for (block, cert) in blocks.iter().zip(&full) {
            let decoded = CertificateDer::from_pem_slice(&bytes[block.range.clone()]).unwrap();
            assert_eq!(&decoded, cert);
            if let Some(s) = &block.subject {
                assert_eq!(s, &anchor_subject(cert));
            }
        }
        assert!(blocks.iter().filter(|b| b.subject.is_some()).count() * 10 >= blocks.len() * 9);
    }

    #[test]
    fn candidates_are_the_matching_subjects_and_the_unread_ones() {
        let (a, a_der) = ca("CA one");
        let (b, _) = ca("CA two");
        let (c, c_der) = ca("CA one"); // same name, other key: still a candidate
        let long = ca(&"x".repeat(900)).0; // subject past the prefix: always a candidate
        let bundle = format!("# a comment line\n{a}\n{b}{c}{long}");
        let blocks = index(bundle.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 4);
        assert!(blocks[3].subject.is_none());
        let issuer = issuer(&a_der).unwrap();
        let picked: Vec<usize> = candidates(&blocks, &[issuer])
            .iter()
            .map(|b| blocks.iter().position(|x| std::ptr::eq(x, *b)).unwrap())
            .collect();
        assert_eq!(picked, [0, 2, 3]);
        assert_eq!(subject(&c_der), Some(issuer));
        assert_eq!(candidates(&blocks, &[b"no such name".as_slice()]).len(), 1);
    }

    #[test]
    fn files_that_are_not_plain_certificates_are_left_to_the_full_parse() {
        let (a, _) = ca("CA one");
        for odd in [
            format!("{a}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            a.replace("-----END CERTIFICATE-----", ""),
            a.replace("-----END CERTIFICATE-----", "-----END CERTIFICATE----- x"),
            a.replace(
                "-----BEGIN CERTIFICATE-----",
                "-----BEGIN CERTIFICATE----- ",
            ),
            a.replace('\n', "\r"),
        ] {
            assert!(index(odd.as_bytes()).is_none(), "{odd}");
        }
        // CRLF line ends are fine; base64 the prefix cannot decode leaves the subject unknown.
        assert_eq!(index(a.replace('\n', "\r\n").as_bytes()).unwrap().len(), 1);
        let unreadable = index(a.replacen("MI", "M*", 1).as_bytes()).unwrap();
        assert!(unreadable[0].subject.is_none());
    }

    #[test]
    fn each_block_decodes_alone_as_within_the_file() {
        let cas: Vec<(String, Vec<u8>)> = (0..40).map(|i| ca(&format!("CA {i}"))).collect();
        let bundle: String = cas
            .iter()
            .map(|(pem, _)| format!("# CA\n{pem}\n"))
            .collect();
        let blocks = index(bundle.as_bytes()).unwrap();
        let full: Vec<CertificateDer> = CertificateDer::pem_slice_iter(bundle.as_bytes())
            .map(Result::unwrap)
            .collect();
        assert_eq!(blocks.len(), 40);
        for ((block, cert), (_, der)) in blocks.iter().zip(&full).zip(&cas) {
            let alone = CertificateDer::from_pem_slice(&bundle.as_bytes()[block.range.clone()]);
            assert_eq!(&alone.unwrap(), cert);
            assert_eq!(block.subject.as_deref(), subject(der));
        }
    }
}
