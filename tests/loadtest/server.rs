//! A small HTTP/1.1 server on 127.0.0.1 for load tests: it counts what it answers, can
//! stall, answer slowly or fail on purpose, and stops when dropped (or after two minutes,
//! whichever comes first).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// The longest a test server lives, so that no test can leave one running.
const LIFETIME: Duration = Duration::from_secs(120);

/// How the server answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behavior {
    /// Once per `every`, freeze for `length`: requests arriving in the first `length` of
    /// each period are held until it ends.
    pub stall: Option<(Duration, Duration)>,
    /// Wait this long before each answer.
    pub delay: Duration,
    /// Answer with this status instead of 200.
    pub status: Option<u16>,
}

/// The last request the server saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

struct State {
    behavior: Behavior,
    born: Instant,
    answered: AtomicU64,
    connections: AtomicU64,
    last: Mutex<Option<Seen>>,
    paths: Mutex<BTreeMap<String, u64>>,
}

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on its own thread and runtime, so that it keeps answering while a
    /// test blocks on a child process.
    pub fn start(behavior: Behavior) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            behavior,
            born: Instant::now(),
            answered: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            last: Mutex::new(None),
            paths: Mutex::new(BTreeMap::new()),
        });
        let (shutdown, stopped) = oneshot::channel();
        let serving = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = stopped => {}
                    () = tokio::time::sleep(LIFETIME) => {}
                    () = accept(listener, serving) => {}
                }
            });
        });
        Self {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.state.answered.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The last request answered.
    pub fn last(&self) -> Option<Seen> {
        self.state.last.lock().unwrap().clone()
    }

    /// Requests answered, by path.
    pub fn paths(&self) -> BTreeMap<String, u64> {
        self.state.paths.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        state.connections.fetch_add(1, Ordering::SeqCst);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, state.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let behavior = state.behavior;
    if let Some((every, length)) = behavior.stall {
        let age = state.born.elapsed();
        let phase = Duration::from_nanos((age.as_nanos() % every.as_nanos()) as u64);
        if phase < length {
            tokio::time::sleep(length - phase).await;
        }
    }
    if !behavior.delay.is_zero() {
        tokio::time::sleep(behavior.delay).await;
    }

    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let seen = Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    *state.last.lock().unwrap() = Some(seen);
    *state.paths.lock().unwrap().entry(path).or_default() += 1;
    state.answered.fetch_add(1, Ordering::SeqCst);

    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    if let Some(status) = behavior.status {
        *response.status_mut() = hyper::StatusCode::from_u16(status).expect("valid status");
    }
    Ok(response)
}
