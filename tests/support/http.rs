//! A minimal HTTP/1.1 client for tests (one connection a request, to 127.0.0.1 only) and a
//! bounded background load that counts every failed request.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Response {
    /// The first header of that (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("the body is not JSON ({err}): {}", self.body))
    }
}

/// Sends one request to `127.0.0.1:port` on a new connection and reads the whole answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Response, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|err| format!("connect: {err}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|err| format!("send: {err}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|err| format!("read: {err}"))?;
    parse(&raw)
}

/// `GET path`, with a 10 s timeout.
pub fn get(port: u16, path: &str) -> Result<Response, String> {
    request(port, "GET", path, None, Duration::from_secs(10))
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no complete answer: {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(key, value)| key == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || tail.len() < size {
            break;
        }
        body.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    body
}

/// What a load run saw.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests that failed: no answer, or a status other than 2xx.
    pub failed: u64,
    /// The first few failures, for the assertion message.
    pub samples: Vec<String>,
    /// How long the load ran.
    pub elapsed: Duration,
}

/// Background requests from a few threads, each with its own connections, until stopped or
/// until the time or count bound is reached.
pub struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    samples: Arc<Mutex<Vec<String>>>,
    workers: Vec<JoinHandle<()>>,
    started: Instant,
}

impl Load {
    /// The longest a load runs even when nobody stops it.
    pub const MAX_TIME: Duration = Duration::from_secs(300);
    /// The most requests one worker sends.
    pub const MAX_REQUESTS_PER_WORKER: u64 = 200_000;

    /// Starts `workers` threads sending `GET path` to `127.0.0.1:port`.
    pub fn start(port: u16, path: &'static str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let workers = (0..workers)
            .map(|_| {
                let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
                let samples = samples.clone();
                std::thread::spawn(move || {
                    for _ in 0..Self::MAX_REQUESTS_PER_WORKER {
                        if stop.load(Ordering::Relaxed) || started.elapsed() > Self::MAX_TIME {
                            break;
                        }
                        let outcome = request(port, "GET", path, None, Duration::from_secs(15));
                        match outcome {
                            Ok(response) if (200..300).contains(&response.status) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            other => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                let mut samples = samples.lock().unwrap();
                                if samples.len() < 5 {
                                    let at = started.elapsed().as_millis();
                                    let what = match other {
                                        Ok(response) => {
                                            format!("status {}: {}", response.status, response.body)
                                        }
                                        Err(err) => err,
                                    };
                                    samples.push(format!("at {at} ms: {what}"));
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failed,
            samples,
            workers,
            started,
        }
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Stops the workers and reports.
    pub fn finish(self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.join().expect("a load worker does not panic");
        }
        LoadReport {
            ok: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            samples: self.samples.lock().unwrap().clone(),
            elapsed: self.started.elapsed(),
        }
    }
}
