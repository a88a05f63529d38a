//! `engram serve` over real HTTP on a loopback port: every route, a table of malformed
//! requests, API keys, overload and timeouts, the OpenAPI document, and the server process
//! under SIGKILL and SIGTERM. Most tests run the server in process on its own runtime
//! thread, over a fresh embedded store in a temp dir and the real model.

mod auth;
mod bad_input;
mod coordination;
mod crash;
mod limits;
mod openapi;
mod quotas;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use engram::Engram;
use engram::config::ServerConfig;
use engram::server::Server;
use engram::store::Store;
use serde_json::Value;

use crate::common::shared_embedder;

/// A running server, shut down (and its store flushed) when dropped.
pub struct TestServer {
    pub base: String,
    pub engram: Engram,
    pub key: Option<String>,
    agent: ureq::Agent,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// A response: status, Retry-After and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl Answer {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestServer {
    /// A server with default limits and no API keys.
    pub fn start() -> Self {
        Self::with(|_| {})
    }

    /// A server whose configuration `adjust` changes first.
    pub fn with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::with_engram(|engram| engram, adjust)
    }

    /// A server over the engram `engram` makes of a fresh one, configured by `adjust`.
    pub fn with_engram(
        engram: impl FnOnce(Engram) -> Engram,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let engram =
            engram(Engram::with(store, Arc::clone(shared_embedder()) as _).expect("engram"));
        let mut config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let key = config.api_keys.first().cloned();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, address) = std::sync::mpsc::channel();
        let server_engram = engram.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let server = Server::bind(server_engram, config).await.expect("bind");
                ready
                    .send(server.local_addr().expect("addr"))
                    .expect("ready");
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = address.recv().expect("the server starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: format!("http://{addr}"),
            engram,
            key,
            agent,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = response.expect("the server answers");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let text = response.body_mut().read_to_string().expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            body,
            retry_after,
        }
    }

    /// `POST path` with a JSON body, with the server's key if it has one.
    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, "application/json", body.to_string().as_bytes())
    }

    /// `POST path` with raw bytes and a content type, with the server's key if it has one.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Answer {
        self.send("POST", path, content_type, body, &[])
    }

    /// `POST path` with a JSON body and extra headers.
    pub fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        self.send(
            "POST",
            path,
            "application/json",
            body.to_string().as_bytes(),
            headers,
        )
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(
            "PUT",
            path,
            "application/json",
            body.to_string().as_bytes(),
            &[],
        )
    }

    /// A request with a body, the server's key if it has one, and extra headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "PUT" => self.agent.put(url),
            "PATCH" => self.agent.patch(url),
            _ => self.agent.post(url),
        }
        .content_type(content_type);
        if let Some(key) = &self.key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::answer(request.send(body))
    }

    /// `PATCH path` with a JSON body, with the server's key if it has one.
    pub fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(
            "PATCH",
            path,
            "application/json",
            body.to_string().as_bytes(),
            &[],
        )
    }

    /// `DELETE path`, with the server's key if it has one.
    pub fn delete(&self, path: &str) -> Answer {
        let mut request = self.agent.delete(format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        Self::answer(request.call())
    }

    /// A GET or DELETE, or a POST, PUT or PATCH with a JSON body, sent with `key` (and not the
    /// server's own).
    pub fn send_as(&self, method: &str, path: &str, body: Option<Value>, key: &str) -> Answer {
        let url = format!("{}{path}", self.base);
        let authorization = format!("Bearer {key}");
        match (method, body) {
            ("GET", _) => Self::answer(
                self.agent
                    .get(url)
                    .header("Authorization", authorization)
                    .call(),
            ),
            ("DELETE", _) => Self::answer(
                self.agent
                    .delete(url)
                    .header("Authorization", authorization)
                    .call(),
            ),
            (method, body) => Self::answer(
                match method {
                    "PATCH" => self.agent.patch(url),
                    "PUT" => self.agent.put(url),
                    _ => self.agent.post(url),
                }
                .content_type("application/json")
                .header("Authorization", authorization)
                .send(body.unwrap_or(Value::Null).to_string().as_bytes()),
            ),
        }
    }

    /// `POST path` with a JSON body of `size` bytes, written while the answer is read: a
    /// server refuses an oversized body before reading it all, and closes the connection.
    pub fn post_oversized(&self, path: &str, size: usize) -> Answer {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("head");
        let mut writer = stream.try_clone().expect("clone");
        let body = std::thread::spawn(move || {
            let chunk = vec![b' '; 64 << 10];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len());
                if writer.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
            }
        });
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let _ = body.join();
        let text = String::from_utf8_lossy(&response);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let body = text
            .split_once("\r\n\r\n")
            .and_then(|(_, body)| serde_json::from_str(body).ok())
            .unwrap_or(Value::Null);
        Answer {
            status,
            body,
            retry_after: None,
        }
    }

    /// `GET path`, with the server's key if it has one.
    pub fn get(&self, path: &str) -> Answer {
        self.get_with(path, self.key.as_deref())
    }

    /// `GET path` with this `Authorization` header value, as sent.
    pub fn get_authorized(&self, path: &str, authorization: &str) -> Answer {
        let request = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", authorization);
        Self::answer(request.call())
    }

    /// `GET path` with extra headers, and the server's key if it has one.
    pub fn get_headers(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::answer(request.call())
    }

    /// `GET path` with this key (or none).
    pub fn get_with(&self, path: &str, key: Option<&str>) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        Self::answer(request.call())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
