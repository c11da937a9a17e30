//! The HTTP endpoint Prometheus scrapes (`saf-net monitor --listen`, `saf-net server --metrics`): hyper's
//! HTTP/1 server on the tokio runtime, GET only, bounded connections and header time, and the
//! [`prometheus_client`] registry encoded in the text format. What the paths mean is the caller's
//! ([`Routes`]); this module only carries requests and answers, so no HTTP request reaches anything else.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The content type of [`prometheus_client`]'s text encoding (OpenMetrics 1.0, which Prometheus reads).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Most connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// Longest a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one connection may stay open (a slow `/probe` answer included).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);

/// One answer: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    /// 200 with the registry in the text format.
    pub fn metrics(registry: &Registry) -> Reply {
        let mut body = String::new();
        match prometheus_client::encoding::text::encode(&mut body, registry) {
            Ok(()) => Reply {
                status: 200,
                content_type: METRICS_CONTENT_TYPE,
                body,
            },
            Err(_) => Reply::text(500, "the metrics could not be encoded\n"),
        }
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    /// 404 for a path this endpoint does not serve, naming the ones it does.
    pub fn not_found(paths: &str) -> Reply {
        Reply::text(404, format!("not found; this endpoint serves {paths}\n"))
    }
}

/// What an endpoint answers: `path` without the query, `query` the raw query string ("" when none).
pub trait Routes: Send + Sync + 'static {
    fn respond(&self, path: &str, query: &str) -> impl Future<Output = Reply> + Send;
}

/// Why the endpoint could not listen.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("{addr} is already in use by another program; pick a free address with {flag} HOST:PORT")]
    InUse { addr: SocketAddr, flag: &'static str },
    #[error("cannot listen on {addr} ({cause}); pick another address with {flag} HOST:PORT")]
    Other {
        addr: SocketAddr,
        flag: &'static str,
        cause: std::io::Error,
    },
}

/// Listens on `addr`; `flag` is the option that chose it, named in the error.
pub async fn bind(addr: SocketAddr, flag: &'static str) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|cause| match cause.kind() {
        std::io::ErrorKind::AddrInUse => BindError::InUse { addr, flag },
        _ => BindError::Other { addr, flag, cause },
    })
}

/// Serves `routes` on `listener` until `shutdown` completes. A failing connection ends only itself.
pub async fn serve<R: Routes>(listener: TcpListener, routes: Arc<R>, shutdown: impl Future<Output = ()>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = &mut shutdown => return,
        };
        let stream = tokio::select! {
            a = listener.accept() => match a {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let routes = routes.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| answer(routes.clone(), req));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            if let Ok(Err(e)) = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await {
                tracing::debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

/// One request: GET (or HEAD) only, then the routes' answer.
async fn answer<R: Routes>(routes: Arc<R>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = if req.method() != Method::GET && req.method() != Method::HEAD {
        Reply::text(405, "only GET is served\n")
    } else {
        let uri = req.uri();
        routes.respond(uri.path(), uri.query().unwrap_or("")).await
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(reply.content_type) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
    }
    Ok(resp)
}

/// The value of `key` in a query string (`a=1&b=2`), percent-decoded; `None` when absent or not UTF-8.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k)? == key).then(|| decode(v)).flatten()
    })
}

/// `%XX` and `+` decoding of one query component.
fn decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
