//! One HTTP/1.1 keep-alive connection, driven inside the task that sends on it.
//!
//! hyper's low-level client splits a connection into a sender and a driver future that does
//! the reading and writing. The usual way spawns the driver as its own task, which costs two
//! task wake-ups per request; here the sending task polls the driver itself while it waits,
//! so a request and its answer are handled in one task, as a C load generator would.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::outcome::{Answer, ErrorKind, Outcome};

type Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// An open connection to the target.
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    /// `None` once the connection has ended.
    driver: Option<Pin<Box<Driver>>>,
}

impl Conn {
    /// Opens a connection; every failure is a connect error.
    pub async fn open(addr: SocketAddr) -> Result<Self, ErrorKind> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // Small requests must leave at once rather than wait for Nagle's algorithm.
        stream.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
        let (sender, driver) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        Ok(Self {
            sender,
            driver: Some(Box::pin(driver)),
        })
    }

    /// Whether the connection takes another request. Waiting for it also reads a close
    /// the server sent while the connection was idle, so that no request is lost to a
    /// connection already gone.
    pub async fn ready(&mut self) -> bool {
        if self.driver.is_none() {
            return false;
        }
        drive(&mut self.driver, self.sender.ready()).await.is_ok()
    }

    /// Sends one request and reads the whole answer; the connection can carry the next
    /// request afterwards unless the server closed it.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Outcome {
        let response = drive(&mut self.driver, self.sender.send_request(request))
            .await
            .map_err(|e| ErrorKind::of_hyper(&e))?;
        let status = response.status().as_u16();

        let mut body = response.into_body();
        let mut body_bytes = 0;
        loop {
            match drive(&mut self.driver, body.frame()).await {
                None => break,
                Some(Ok(frame)) => {
                    body_bytes += frame.data_ref().map_or(0, |data| data.len() as u64);
                }
                Some(Err(error)) => return Err(ErrorKind::of_hyper(&error)),
            }
        }
        Ok(Answer { status, body_bytes })
    }
}

/// Polls `future` to completion while driving the connection. When the connection ends,
/// its driver is dropped, which fails whatever `future` still waits for, so this never
/// waits on a connection that is gone.
async fn drive<F: Future>(driver: &mut Option<Pin<Box<Driver>>>, future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        // The driver goes first so that an answer it reads is picked up in the same poll.
        if let Some(running) = driver.as_mut()
            && running.as_mut().poll(cx).is_ready()
        {
            *driver = None;
        }
        future.as_mut().poll(cx)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server that answers each connection's first request, then closes it or resets it.
    async fn one_shot_server(reset: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..4 {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                if reset {
                    let _ = socket.set_zero_linger();
                    drop(socket);
                    continue;
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = socket.write_all(answer).await;
            }
        });
        addr
    }

    fn get() -> Request<Full<Bytes>> {
        Request::get("/")
            .header("host", "x")
            .body(Full::default())
            .unwrap()
    }

    #[tokio::test]
    async fn a_connection_closed_by_the_server_is_not_ready_for_another_request() {
        let addr = one_shot_server(false).await;
        let mut conn = Conn::open(addr).await.unwrap();
        assert!(conn.ready().await);
        let answer = conn.send(get()).await.unwrap();
        assert_eq!((answer.status, answer.body_bytes), (200, 2));
        assert!(!conn.ready().await);
    }

    #[tokio::test]
    async fn a_reset_before_the_answer_is_a_reset_error() {
        let addr = one_shot_server(true).await;
        let mut conn = Conn::open(addr).await.unwrap();
        assert!(conn.ready().await);
        assert_eq!(conn.send(get()).await, Err(ErrorKind::Reset));
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert_eq!(Conn::open(addr).await.err(), Some(ErrorKind::Connect));
    }
}
