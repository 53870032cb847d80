//! A real nginx on 127.0.0.1 running a rendered configuration, small HTTP backends that
//! echo what they receive, and a minimal HTTP client: enough to watch the gateway route,
//! retry, limit and log. Every process and thread stops when its guard drops, and every
//! wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use stackwright::render::Traffic;
use stackwright::render::nginx::{GatewayFiles, render_nginx_with};
use stackwright::spec::Stack;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A port that nothing listens on right now (the OS picked it, then it was released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("an ephemeral port");
    listener.local_addr().expect("a local address").port()
}

/// How a test backend answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 with a body naming the backend, then the request line and headers it got.
    Echo,
    /// Reads the request and closes the connection without answering.
    Hangup,
}

/// An HTTP backend on 127.0.0.1 that counts its requests.
pub struct TestBackend {
    /// Its port.
    pub port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestBackend {
    /// Starts a backend whose echo bodies begin with `name`.
    pub fn start(name: &str, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a backend port");
        let port = listener.local_addr().expect("a local address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (name, count, halt) = (name.to_string(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (name, count) = (name.clone(), count.clone());
                std::thread::spawn(move || serve(stream, &name, behaviour, &count));
            }
        });
        Self {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// How many requests it received.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for TestBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, name: &str, behaviour: Behaviour, count: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    count.fetch_add(1, Ordering::SeqCst);
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    let _ = stream.read_exact(&mut body);
    if behaviour == Behaviour::Hangup {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let body = format!("{name}\n{head}");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         X-Powered-By: test\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// The request or response head up to the blank line, without it.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    head.truncate(head.len() - 4);
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// A header's value in a head, by case-insensitive name.
pub fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }
}

/// Sends one request over a fresh connection and reads the whole answer.
pub fn request(port: u16, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    match send(port, method, target, headers) {
        Ok(response) => response,
        Err(err) => panic!("{method} {target} on port {port} failed: {err}"),
    }
}

/// `GET target`, or `None` when the connection fails or no answer comes.
pub fn try_get(port: u16, target: &str) -> Option<Response> {
    send(port, "GET", target, &[]).ok()
}

fn send(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut text = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = if method == "POST" { "payload" } else { "" };
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(text.as_bytes())?;
    let head = read_head(&mut stream).ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let mut body = Vec::new();
    let _ = stream.read_to_end(&mut body);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok(Response {
        status,
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `GET target` without extra headers.
pub fn get(port: u16, target: &str) -> Response {
    request(port, "GET", target, &[])
}

/// A running nginx with a rendered configuration; stopped when dropped.
pub struct Gateway {
    /// The port of its status server.
    pub status_port: u16,
    child: Child,
    dir: tempfile::TempDir,
    conf: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// Renders the stack's gateway for `traffic` and starts nginx with it. The stack's
    /// listeners and status port must be free ports on 127.0.0.1.
    pub fn start(stack: &Stack, traffic: &Traffic, files: &GatewayFiles) -> Self {
        let conf = render_nginx_with(stack, traffic, files).expect("the gateway renders");
        super::assert_nginx_accepts(&conf);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, &conf).expect("the configuration is written");
        let globals = format!(
            "daemon off; pid {};",
            dir.path().join("nginx.pid").display()
        );
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .args(["-e", "stderr", "-c"])
            .arg(&path)
            .args(["-g", &globals])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts (Debian package `nginx`)");
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            let lines = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(mut lines) = lines.lock() {
                        lines.push(line);
                    }
                }
            });
        }
        let status_port = stack.gateway.as_ref().map_or(0, |g| g.status_port);
        let gateway = Self {
            status_port,
            child,
            dir,
            conf: path,
            log,
        };
        gateway.wait_ready();
        gateway
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.status_port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not open its status port within 10 s");
    }

    /// The access log lines written so far, after giving nginx a moment to flush.
    pub fn access_log(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        self.log
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // A graceful stop lets the master take its workers down with it.
        let pid = format!("pid {};", self.dir.path().join("nginx.pid").display());
        let _ = Command::new("nginx")
            .arg("-p")
            .arg(self.dir.path())
            .args(["-e", "stderr", "-c"])
            .arg(&self.conf)
            .args(["-g", &pid, "-s", "stop"])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
