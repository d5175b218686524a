//! Who may talk to the hub: the session token (query `token`, cookie `shark_token` or
//! `Authorization: Bearer`, compared in constant time) and the Host/Origin check that defends a
//! loopback hub against DNS rebinding and cross-site WebSockets.

use super::query::Query;
use crate::token::constant_time_eq;
use hyper::header::{HeaderMap, AUTHORIZATION, COOKIE, HOST, ORIGIN};
use std::net::IpAddr;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "shark_token";

/// How a request presented the right token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented {
    /// `?token=`: the response should set the cookie.
    Query,
    Cookie,
    Bearer,
}

/// Which token, if any, of the request is the session's. All three places are checked, each in
/// constant time, whatever the outcome of the others.
pub fn authorize(expected: &str, query: &Query, headers: &HeaderMap) -> Option<Presented> {
    let expected = expected.as_bytes();
    let by_query = query.get("token").is_some_and(|t| constant_time_eq(t.as_bytes(), expected));
    let mut by_cookie = false;
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, v)) = pair.trim().split_once('=') {
                by_cookie |= name == COOKIE_NAME && constant_time_eq(v.as_bytes(), expected);
            }
        }
    }
    let by_bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), expected));
    match (by_query, by_cookie, by_bearer) {
        (true, _, _) => Some(Presented::Query),
        (_, true, _) => Some(Presented::Cookie),
        (_, _, true) => Some(Presented::Bearer),
        _ => None,
    }
}

/// The `Set-Cookie` value that makes a browser present `token` from now on.
pub fn session_cookie(token: &str) -> String {
    format!("{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/")
}

/// Which Host headers the hub answers.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    /// Answer any Host (an in-cluster hub reached through a port-forward under any name).
    pub allow_any: bool,
    /// The address the hub is bound to; its literal is accepted as a host name too.
    pub bound: IpAddr,
}

impl HostPolicy {
    /// Why the request is refused, or None when its Host (and Origin, if sent) are acceptable.
    /// Loopback names and addresses and the bound address are accepted; a browser tricked into
    /// resolving an attacker's name to 127.0.0.1 sends that name and is refused. An `Origin` must
    /// name the same host and port as `Host` (a page of another site cannot use our WebSocket).
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let host = headers.get(HOST).map(|h| h.to_str().unwrap_or(""));
        if !self.allow_any {
            match host {
                None => return Err("the request has no Host header".into()),
                Some(h) if !self.host_allowed(h) => return Err(format!("the host {h:?} is not served here")),
                Some(_) => {}
            }
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
            let same = match (authority, host) {
                (Some(a), Some(h)) => a.eq_ignore_ascii_case(h),
                _ => false,
            };
            if !same {
                return Err(format!("the origin {origin:?} is not this hub"));
            }
        }
        Ok(())
    }

    fn host_allowed(&self, authority: &str) -> bool {
        let name = host_name(authority);
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback() || ip == self.bound,
            Err(_) => false,
        }
    }
}

/// The host part of an authority: `[::1]:8080` → `::1`, `localhost:80` → `localhost`.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(hyper::header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(n.clone(), HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    #[test]
    fn token_in_any_one_place() {
        let none = HeaderMap::new();
        assert_eq!(authorize("tok", &Query::parse(Some("token=tok")), &none), Some(Presented::Query));
        assert_eq!(authorize("tok", &Query::parse(Some("token=tak")), &none), None);
        let c = headers(&[(COOKIE, "a=b; shark_token=tok; c=d")]);
        assert_eq!(authorize("tok", &Query::default(), &c), Some(Presented::Cookie));
        let c = headers(&[(COOKIE, "shark_token=toke")]);
        assert_eq!(authorize("tok", &Query::default(), &c), None);
        let b = headers(&[(AUTHORIZATION, "Bearer tok")]);
        assert_eq!(authorize("tok", &Query::default(), &b), Some(Presented::Bearer));
        let b = headers(&[(AUTHORIZATION, "Basic tok")]);
        assert_eq!(authorize("tok", &Query::default(), &b), None);
        assert_eq!(authorize("tok", &Query::default(), &none), None);
    }

    #[test]
    fn loopback_hosts_only_unless_any_is_allowed() {
        let p = HostPolicy { allow_any: false, bound: "127.0.0.1".parse().expect("ip") };
        for ok in ["127.0.0.1:8080", "localhost:1", "LOCALHOST", "[::1]:80", "127.0.0.2"] {
            assert!(p.check(&headers(&[(HOST, ok)])).is_ok(), "{ok}");
        }
        for bad in ["evil.example:8080", "10.0.0.1:80", "localhost.evil.example", ""] {
            assert!(p.check(&headers(&[(HOST, bad)])).is_err(), "{bad}");
        }
        assert!(p.check(&HeaderMap::new()).is_err());
        let bound = HostPolicy { allow_any: false, bound: "10.0.0.1".parse().expect("ip") };
        assert!(bound.check(&headers(&[(HOST, "10.0.0.1:80")])).is_ok());
        let any = HostPolicy { allow_any: true, bound: "0.0.0.0".parse().expect("ip") };
        assert!(any.check(&headers(&[(HOST, "hub.example:80")])).is_ok());
    }

    #[test]
    fn origin_must_be_the_same_host() {
        let p = HostPolicy { allow_any: true, bound: "127.0.0.1".parse().expect("ip") };
        let same = headers(&[(HOST, "localhost:9"), (ORIGIN, "http://localhost:9")]);
        assert!(p.check(&same).is_ok());
        let other = headers(&[(HOST, "localhost:9"), (ORIGIN, "http://evil.example")]);
        assert!(p.check(&other).is_err());
        let null = headers(&[(HOST, "localhost:9"), (ORIGIN, "null")]);
        assert!(p.check(&null).is_err());
    }
}
