//! Which HQ addresses the client talks to, and which certificates it trusts.
//! The device token and customers' data cross the network only over TLS;
//! plain http stays possible on this machine's own loopback, where no
//! network carries it (the demo, the tests).

use std::error::Error;
use std::net::IpAddr;

use reqwest::Certificate;
use url::{Host, Url};

use crate::SyncError;

/// HQ's base address, without a trailing slash, if the client may talk to
/// it: https anywhere, http only to a loopback address.
pub(crate) fn checked_base(url: &str) -> Result<String, SyncError> {
    let base = url.trim().trim_end_matches('/').to_string();
    let parsed = Url::parse(&base).map_err(|_| SyncError::BadUrl(base.clone()))?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(base),
        "http" if is_loopback(&parsed) => Ok(base),
        "http" => Err(SyncError::Insecure(base)),
        _ => Err(SyncError::BadUrl(base)),
    }
}

/// 127.0.0.0/8, ::1 or localhost.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The certificates of an operator's private CA, from the PEM file given at
/// enrollment: at least one, or the file is refused.
pub(crate) fn private_roots(pem: &str) -> Result<Vec<Certificate>, SyncError> {
    let roots = Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| SyncError::BadCaFile(e.to_string()))?;
    if roots.is_empty() {
        return Err(SyncError::BadCaFile("no certificate in the file".into()));
    }
    Ok(roots)
}

/// Whether a request failed because HQ's certificate was not trusted (or
/// not valid for its name), rather than because HQ could not be reached.
pub(crate) fn is_certificate_error(error: &reqwest::Error) -> bool {
    let chain = std::iter::successors(Some(error as &(dyn Error + 'static)), |&e| e.source());
    chain.filter_map(tls_error).any(|tls| {
        matches!(
            tls,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        )
    })
}

fn tls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    // An io::Error does not list the error it wraps as its source, and the
    // TLS error comes wrapped in two of them.
    let wrapped = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    tls_error(wrapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_to_loopback() {
        for allowed in [
            "http://127.0.0.1:8787",
            "http://127.1.2.3/",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:9000",
            "https://hq.example.com",
            "https://10.0.0.5:8443/",
        ] {
            assert!(
                checked_base(allowed).is_ok(),
                "{allowed} is https or never leaves this machine"
            );
        }
        for refused in [
            "http://hq.example.com",
            "http://10.0.0.5:8080",
            "http://192.168.1.10",
            "http://[::ffff:10.0.0.1]",
            "http://localhost.evil.example",
            "http://128.0.0.1",
        ] {
            assert!(
                matches!(checked_base(refused), Err(SyncError::Insecure(_))),
                "{refused} would carry the token in the clear over a network"
            );
        }
        for bad in ["hq.example.com", "ftp://hq.example.com", "https://", ""] {
            assert!(
                matches!(checked_base(bad), Err(SyncError::BadUrl(_))),
                "{bad:?} is no web address"
            );
        }
    }

    #[test]
    fn trailing_slashes_and_spaces_are_dropped() {
        assert_eq!(
            checked_base(" https://hq.example.com/ ").unwrap(),
            "https://hq.example.com",
            "paths are appended to the base"
        );
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        assert!(
            matches!(
                private_roots("just some text"),
                Err(SyncError::BadCaFile(_))
            ),
            "a file with no PEM certificate would silently trust nothing new"
        );
    }
}
