//! HTTP requests from this host to service addresses on the enclave network, for
//! `request`, HTTP `wait`s and ready conditions, on `ureq` (plain HTTP/1.1: the URL is
//! always `http://<ip>:<port><endpoint>`, as Kurtosis builds it).
//!
//! What Kurtosis (Go's `net/http` client) does and kplan keeps: redirects are followed
//! (at most 10; 301/302/303 turn a POST into a GET), a gzip body is decoded, every
//! status code is a response (which codes are acceptable is the caller's rule), and the
//! body is the response's bytes (invalid UTF-8 replaced, as the result is a string).
//! Connections are kept alive between the attempts of a `wait`. Not followed: a 307/308
//! of a POST (the redirect is the response) and a redirect to `https://` (an error).
//! No proxy from the environment applies: the addresses are container IPs.
//!
//! Limits: `timeout` bounds connecting and each read and write (a service that answers
//! slowly but steadily is waited for); a body over [`MAX_BODY`] is an error rather than
//! a run out of memory.
//!
//! Measured against the hand-written client this replaced: `ureq` and its crates take
//! 11.5 CPU-seconds of a release build (`cargo build --release -p ureq`; a clean
//! `cargo build --release` is 528 s); with the tar crate the release binary grew 2.8%
//! (numbers in the commit).

use crate::ir::HttpMethod;
use std::sync::OnceLock;
use std::time::Duration;
use ureq::{Agent, RequestBuilder};

/// The largest response body read.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Status code and body of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub code: i64,
    pub body: String,
}

/// One request: `headers` as given, then `Content-Type` when there is a body (it
/// replaces a `Content-Type` among the headers, as in Kurtosis).
pub fn request(
    ip: &str,
    port: u16,
    method: HttpMethod,
    endpoint: &str,
    headers: &[(String, String)],
    body: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<Response, String> {
    let url = url(ip, port, endpoint);
    let (verb, content_type) = match (method, body) {
        (HttpMethod::Get, _) => ("GET", None),
        (HttpMethod::Post, b) => ("POST", b.map(|(ct, _)| ct)),
    };
    let kept = headers
        .iter()
        .filter(|(k, _)| content_type.is_none() || !k.eq_ignore_ascii_case("content-type"));
    let fail = |e: ureq::Error| format!("{verb} {url}: {e}");
    let mut resp = match method {
        HttpMethod::Get => prepare(agent().get(&url), kept, None, timeout).call(),
        HttpMethod::Post => prepare(agent().post(&url), kept, content_type, timeout)
            .send(body.map_or("", |(_, b)| b)),
    }
    .map_err(fail)?;
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| {
            #[expect(
                clippy::wildcard_enum_match_arm,
                reason = "ureq's error has some thirty variants; only the body limit gets its own message"
            )]
            match e {
            ureq::Error::BodyExceedsLimit(_) => {
                format!(
                    "{verb} {url}: the response body is over {} MiB",
                    MAX_BODY >> 20
                )
            }
            e => fail(e),
        }})?;
    Ok(Response {
        code: i64::from(resp.status().as_u16()),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// A request with its headers and timeouts.
fn prepare<'a, B>(
    mut req: RequestBuilder<B>,
    headers: impl Iterator<Item = &'a (String, String)>,
    content_type: Option<&str>,
    timeout: Duration,
) -> RequestBuilder<B> {
    for (k, v) in headers {
        req = req.header(k, v);
    }
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    req.config()
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .timeout_per_write(Some(timeout))
        .build()
}

/// One agent for the process, so connections are reused between requests.
fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .user_agent("kplan")
            .max_redirects(10)
            .build()
            .new_agent()
    })
}

/// `http://<ip>:<port><endpoint>`: an IPv6 address in brackets, the endpoint starting
/// with `/`, and the bytes a URI cannot hold percent-encoded (as Go's `url` does).
fn url(ip: &str, port: u16, endpoint: &str) -> String {
    let host = if ip.contains(':') {
        format!("[{}]", ip.replace('%', "%25"))
    } else {
        ip.to_string()
    };
    let mut url = format!("http://{host}:{port}");
    if !endpoint.starts_with('/') {
        url.push('/');
    }
    for b in endpoint.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_bracket_ipv6_and_encode_what_a_uri_cannot_hold() {
        assert_eq!(url("10.0.0.2", 80, "health"), "http://10.0.0.2:80/health");
        assert_eq!(url("::1", 8080, "/a?b=c"), "http://[::1]:8080/a?b=c");
        assert_eq!(url("fe80::1%eth0", 1, "/"), "http://[fe80::1%25eth0]:1/");
        assert_eq!(url("h", 1, "/a b/é\""), "http://h:1/a%20b/%C3%A9%22");
    }
}
