//! kplan's HTTP client (`request`, HTTP `wait`s, ready conditions) against a real
//! server: Python's `http.server` on the loopback, IPv4 and IPv6, answering with a
//! redirect, a chunked body, a gzip body, a non-2xx code and what it was sent.

use kplan::executor::http::{request, Response, MAX_BODY};
use kplan::ir::HttpMethod;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVER: &str = r#"
import gzip, http.server, json, socket, sys

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunks(self, parts):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for p in parts:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
        self.wfile.write(b"0\r\n\r\n")

    def echo(self):
        n = int(self.headers.get("Content-Length", "0"))
        seen = {
            "method": self.command,
            "path": self.path,
            "content_type": self.headers.get_all("Content-Type"),
            "x_token": self.headers.get("X-Token"),
            "user_agent": self.headers.get("User-Agent"),
            "body": self.rfile.read(n).decode(),
        }
        self.send(200, json.dumps(seen).encode())

    def do_POST(self):
        if self.path == "/see-other":
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            return self.send(303, b"", [("Location", "/echo")])
        self.echo()

    def do_GET(self):
        p = self.path
        if p == "/plain":
            self.send(200, b"hello")
        elif p == "/redirect":
            self.send(302, b"moved", [("Location", "/plain")])
        elif p == "/chunked":
            self.chunks([b"chun", b"ked ", b"body"])
        elif p == "/gzip":
            body = gzip.compress(b'{"zipped": true}')
            self.send(200, body, [("Content-Encoding", "gzip")])
        elif p == "/missing":
            self.send(404, b"no such thing")
        elif p == "/peer":
            self.send(200, str(self.client_address[1]).encode())
        elif p == "/latin1":
            self.send(200, b"caf\xe9")
        elif p == "/endless":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"x" * (1 << 20)
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            except OSError:
                pass
        else:
            self.echo()

class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
    daemon_threads = True

s = S((sys.argv[1], 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

/// A server on `host`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(host: &str) -> Server {
        let mut child = Command::new("python3")
            .args(["-c", SERVER, host])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(ip: &str, port: u16, endpoint: &str) -> Result<Response, String> {
    let t = Duration::from_secs(30);
    request(ip, port, HttpMethod::Get, endpoint, &[], None, t)
}

fn post(port: u16, endpoint: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = Some(("application/json", r#"{"a": 1}"#));
    let t = Duration::from_secs(30);
    let r = request(
        "127.0.0.1",
        port,
        HttpMethod::Post,
        endpoint,
        &headers,
        body,
        t,
    )
    .unwrap();
    assert_eq!(r.code, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn bodies_as_the_server_sends_them() {
    let s = Server::start("127.0.0.1");
    let ok = |code, body: &str| Response {
        code,
        body: body.to_string(),
    };
    assert_eq!(get("127.0.0.1", s.port, "/plain"), Ok(ok(200, "hello")));
    assert_eq!(get("127.0.0.1", s.port, "redirect"), Ok(ok(200, "hello")));
    let chunked = get("127.0.0.1", s.port, "/chunked");
    assert_eq!(chunked, Ok(ok(200, "chunked body")));
    let zipped = get("127.0.0.1", s.port, "/gzip");
    assert_eq!(zipped, Ok(ok(200, r#"{"zipped": true}"#)));
    let missing = get("127.0.0.1", s.port, "/missing");
    assert_eq!(missing, Ok(ok(404, "no such thing")));
    assert_eq!(
        get("127.0.0.1", s.port, "/latin1"),
        Ok(ok(200, "caf\u{fffd}"))
    );
}

#[test]
fn ipv6_literals() {
    let s = Server::start("::1");
    let r = get("::1", s.port, "/plain").unwrap();
    assert_eq!((r.code, r.body.as_str()), (200, "hello"));
}

#[test]
fn connections_are_kept_alive_between_requests() {
    let s = Server::start("127.0.0.1");
    let first = get("127.0.0.1", s.port, "/peer").unwrap().body;
    let second = get("127.0.0.1", s.port, "/peer").unwrap().body;
    assert_eq!(
        first, second,
        "the second request came from another connection"
    );
}

#[test]
fn posts_send_headers_content_type_and_body() {
    let s = Server::start("127.0.0.1");
    let seen = post(
        s.port,
        "/echo",
        &[("X-Token", "t"), ("content-type", "text/plain")],
    );
    assert_eq!(seen["method"], "POST");
    assert_eq!(
        seen["content_type"],
        serde_json::json!(["application/json"])
    );
    assert_eq!(seen["x_token"], "t");
    assert_eq!(seen["user_agent"], "kplan");
    assert_eq!(seen["body"], r#"{"a": 1}"#);
    // Like Go's client: a 303 after a POST is followed with a GET without the body.
    let seen = post(s.port, "/see-other", &[]);
    assert_eq!(
        (&seen["method"], &seen["body"]),
        (&"GET".into(), &"".into())
    );
}

#[test]
fn endpoints_with_bytes_a_uri_cannot_hold_are_encoded() {
    let s = Server::start("127.0.0.1");
    let r = get("127.0.0.1", s.port, "/a b?q=é").unwrap();
    let seen: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(seen["path"], "/a%20b?q=%C3%A9");
}

#[test]
fn a_body_over_the_limit_is_an_error() {
    let s = Server::start("127.0.0.1");
    let err = get("127.0.0.1", s.port, "/endless").unwrap_err();
    assert!(err.contains(&format!("{} MiB", MAX_BODY >> 20)), "{err}");
}

#[test]
fn no_server_is_an_error_naming_the_url() {
    let s = Server::start("127.0.0.1");
    let port = s.port;
    drop(s);
    let err = get("127.0.0.1", port, "/plain").unwrap_err();
    assert!(
        err.contains(&format!("GET http://127.0.0.1:{port}/plain")),
        "{err}"
    );
}
