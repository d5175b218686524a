//! A small HTTPS GET client for self-update: hyper with rustls/ring (the stack kube already uses),
//! the system's root certificates, redirects followed (GitHub sends assets through one), bodies
//! bounded in size and time. A `GITHUB_TOKEN` is sent to the API's host only, never to a host a
//! redirect leads to.

use super::error::UpdateError;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, LOCATION, USER_AGENT};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

const MAX_REDIRECTS: usize = 5;
/// Until the response's headers arrive.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(30);
/// Between two chunks of a body.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// `(authority, token)`: the bearer token and the only host it goes to.
    token: Option<(String, String)>,
}

impl Http {
    /// A client; `token` is sent to `api_base`'s host only.
    pub fn new(api_base: &str, token: Option<String>) -> Result<Http, UpdateError> {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates leave HTTPS failing with a certificate error, HTTP working.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| UpdateError::Http { url: api_base.to_string(), message: format!("TLS setup: {e}") })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let authority = api_base.parse::<hyper::Uri>().ok().and_then(|u| u.authority().map(|a| a.to_string()));
        let token = match (authority, token) {
            (Some(a), Some(t)) if !t.trim().is_empty() => Some((a, t.trim().to_string())),
            _ => None,
        };
        Ok(Http { client, token })
    }

    /// The body of `url` (at most `limit` bytes), following redirects.
    pub async fn get(&self, url: &str, accept: &'static str, limit: u64) -> Result<Vec<u8>, UpdateError> {
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let err = |message: String| UpdateError::Http { url: url.clone(), message };
            let uri: hyper::Uri = url.parse().map_err(|e| err(format!("not a URL: {e}")))?;
            let mut request = hyper::Request::get(&uri)
                .header(USER_AGENT, concat!("kubectl-shark/", env!("SHARK_VERSION")))
                .header(ACCEPT, accept);
            if let Some((authority, token)) = &self.token {
                if uri.authority().is_some_and(|a| a.as_str() == authority) {
                    let value = HeaderValue::from_str(&format!("Bearer {token}"))
                        .map_err(|_| err("GITHUB_TOKEN is not a header value".into()))?;
                    request = request.header(AUTHORIZATION, value);
                }
            }
            let request = request.body(Empty::new()).map_err(|e| err(e.to_string()))?;
            let response = tokio::time::timeout(HEADERS_TIMEOUT, self.client.request(request))
                .await
                .map_err(|_| err(format!("no answer within {}s", HEADERS_TIMEOUT.as_secs())))?
                .map_err(|e| err(error_chain(&e)))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| err(format!("HTTP {} without a Location", status.as_u16())))?;
                url = resolve(&uri, location).ok_or_else(|| err(format!("cannot follow Location {location:?}")))?;
                continue;
            }
            if !status.is_success() {
                return Err(UpdateError::Status { url, status: status.as_u16() });
            }
            let mut body = response.into_body();
            let mut out = Vec::new();
            loop {
                let frame = tokio::time::timeout(READ_TIMEOUT, body.frame())
                    .await
                    .map_err(|_| err(format!("stalled for {}s", READ_TIMEOUT.as_secs())))?;
                let Some(frame) = frame else { break };
                let frame = frame.map_err(|e| err(error_chain(&e)))?;
                if let Ok(data) = frame.into_data() {
                    if out.len() as u64 + data.len() as u64 > limit {
                        return Err(UpdateError::TooLarge { url, limit });
                    }
                    out.extend_from_slice(&data);
                }
            }
            return Ok(out);
        }
        Err(UpdateError::Redirects { url })
    }
}

/// A Location header against the URL it came from (absolute, or an absolute path).
fn resolve(base: &hyper::Uri, location: &str) -> Option<String> {
    if location.starts_with("https://") || location.starts_with("http://") {
        return Some(location.to_string());
    }
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(format!("{}://{}{location}", base.scheme_str()?, base.authority()?));
    }
    None
}

/// An error with its causes (hyper's top-level messages alone say little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_their_url() {
        let base: hyper::Uri = "https://api.example.com/repos/a/b".parse().expect("uri");
        assert_eq!(resolve(&base, "/x/y?z=1").as_deref(), Some("https://api.example.com/x/y?z=1"));
        assert_eq!(resolve(&base, "http://other:8080/f").as_deref(), Some("http://other:8080/f"));
        assert_eq!(resolve(&base, "//evil/f"), None, "protocol-relative is not followed");
        assert_eq!(resolve(&base, "relative"), None);
    }
}
