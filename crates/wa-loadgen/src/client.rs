//! A minimal HTTP/1.1 keep-alive client on hyper: one TCP connection per sender, no pooling, no
//! TLS (loopback only), and the REST calls the generator needs before a run.

use std::{net::SocketAddr, time::Duration};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::LoadgenError;

/// Where requests go: a resolved socket address and the `http://host:port/path` it came from.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resolved address.
    pub addr: SocketAddr,
    /// `host:port`, sent as `Host`.
    pub authority: String,
    /// The path of the URL (`/webhooks/whatsapp` when the URL names none).
    pub path: String,
}

impl Target {
    /// Parses `http://HOST:PORT[/PATH]` and resolves the host.
    pub async fn parse(url: &str) -> Result<Target, LoadgenError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| LoadgenError::Usage(format!("bad target URL {url:?}: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(LoadgenError::Usage(format!(
                "target {url:?}: only http:// is supported (loopback, no TLS)"
            )));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| LoadgenError::Usage(format!("target {url:?} names no host")))?
            .to_string();
        let with_port = if uri.port().is_some() {
            authority.clone()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(&with_port)
            .await?
            .next()
            .ok_or_else(|| LoadgenError::Usage(format!("cannot resolve {with_port}")))?;
        let path = match uri.path() {
            "" | "/" => "/webhooks/whatsapp".to_owned(),
            p => p.to_owned(),
        };
        Ok(Target {
            addr,
            authority,
            path,
        })
    }

    /// This target with another path.
    pub fn with_path(&self, path: &str) -> Target {
        Target {
            path: path.to_owned(),
            ..self.clone()
        }
    }
}

/// Opens one keep-alive HTTP/1.1 connection (TCP_NODELAY on).
pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, LoadgenError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| LoadgenError::Http(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Waits until something accepts TCP connections on `addr`, for at most `timeout`.
pub async fn wait_for_port(addr: SocketAddr, timeout: Duration) -> Result<(), LoadgenError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(LoadgenError::Http(format!(
                    "{addr} did not accept connections within {timeout:?}: {e}"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Sends one request on a fresh connection and returns the status and body.
pub async fn call(
    target: &Target,
    method: Method,
    api_key: Option<&str>,
    json: Option<String>,
) -> Result<(StatusCode, Bytes), LoadgenError> {
    let mut sender = connect(target.addr).await?;
    let mut req = Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header(header::HOST, target.authority.as_str());
    if let Some(key) = api_key {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:X"));
        req = req.header(header::AUTHORIZATION, format!("Basic {basic}"));
    }
    if json.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(json.unwrap_or_default())))
        .map_err(|e| LoadgenError::Http(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| LoadgenError::Http(e.to_string()))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| LoadgenError::Http(e.to_string()))?
        .to_bytes();
    Ok((status, body))
}

/// Connects the numbers through `POST /api/v2/whatsapp/numbers` so wadesk routes their events.
/// A number already connected (409) counts as done. Returns how many were newly connected.
pub async fn connect_numbers(
    target: &Target,
    api_key: &str,
    numbers: &[crate::mix::NumberSpec],
) -> Result<usize, LoadgenError> {
    let api = target.with_path("/api/v2/whatsapp/numbers");
    let mut created = 0;
    for n in numbers {
        let body = serde_json::json!({
            "phone_number_id": n.phone_number_id,
            "waba_id": n.waba_id,
            "display_phone_number": n.display_phone_number,
            "access_token": "EAAG-loadgen-not-a-real-token",
            "name": format!("loadgen {}", n.display_phone_number),
        })
        .to_string();
        let (status, answer) = call(&api, Method::POST, Some(api_key), Some(body)).await?;
        match status {
            s if s.is_success() => created += 1,
            StatusCode::CONFLICT => {}
            s => {
                return Err(LoadgenError::Http(format!(
                    "connecting number {} answered {s}: {}",
                    n.phone_number_id,
                    String::from_utf8_lossy(&answer)
                )));
            }
        }
    }
    Ok(created)
}
