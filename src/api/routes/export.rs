//! `/v1/export`: every match, streamed.

use std::time::Duration;

use actix_web::{route, web, HttpRequest, HttpResponse};

use super::{attachment, client_of, deadline, heavy, sort_param};
use crate::api::error::{ApiError, Problem};
use crate::api::params::ExportParams;
use crate::api::state::AppState;
use crate::search::export::{export as export_ads, ExportFormat, EXPORT_PAGE};
use crate::search::{search, SearchRequest};

/// How long an export waits for its client to take the next piece before
/// it gives up: a client that stopped reading frees its slot and memory.
pub const EXPORT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Pieces of an export the response stream may hold; with
/// [`EXPORT_PIECE`], what one export queues for a slow client.
const EXPORT_QUEUE: usize = 4;
const EXPORT_PIECE: usize = 64 * 1024;

/// Hands written bytes to the response stream in small pieces; fails once
/// the client is gone or has not taken a piece for the write timeout.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
    timeout: Duration,
}

impl ChannelWriter {
    /// Waits for room in the stream for at most the write timeout. Runs on
    /// a blocking thread of the server's runtime, which drives the timer.
    fn send(&self, item: Result<web::Bytes, std::io::Error>) -> std::io::Result<()> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        match runtime.block_on(tokio::time::timeout(self.timeout, self.tx.send(item))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "client gone",
            )),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            )),
        }
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let piece = &buf[..buf.len().min(EXPORT_PIECE)];
        self.send(Ok(web::Bytes::copy_from_slice(piece)))?;
        Ok(piece.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every matching ad, streamed as NDJSON, CSV or Parquet from one snapshot
/// of the index, with no page limit.
#[utoipa::path(
    get,
    tag = "export",
    path = "/v1/export",
    params(ExportParams),
    responses(
        (status = 200, description = "NDJSON: one ad per line, and after every 10,000 ads a `{\"next_cursor\":…}` line to resume from (pass it as `cursor`). CSV: the columns of docs/api.md, lists and objects as JSON cells, formula-like cells prefixed with `'`, and `resume_cursor` on the last row of every 10,000. Parquet: one Apache Parquet file with the Arrow schema of docs/api.md (lists and structs, no JSON text but in `unmapped`), written row group by row group, without resume points"),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/export", method = "GET", method = "HEAD")]
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let mut params = query.into_inner();
    let format = ExportFormat::parse(params.format.as_deref().unwrap_or("ndjson"))?;
    let (query, filters) = params.take_filters()?;
    let request = SearchRequest {
        query,
        filters,
        sort: sort_param(params.sort.as_deref())?,
        cursor: params.cursor,
        ..SearchRequest::default()
    };
    // Parameters are checked before the stream starts, so that a mistake is
    // a 400 and not a broken download.
    let archive = state.archive.clone();
    let (deadline, _cancel) = deadline();
    let probe = SearchRequest {
        limit: 1,
        snippets: false,
        deadline,
        ..request.clone()
    };
    heavy(&state, &req, move |parallel| {
        Ok(search(&archive, &SearchRequest { parallel, ..probe })?)
    })
    .await?;

    // The slot is taken here, so that a refusal is an answer and not a
    // broken stream, and held by the export's thread until it ends: it
    // finished, failed, or its client went away or stopped reading.
    let slot = state.exports.take(client_of(&req))?;
    // Exports are long and several may run: each on its own thread, never
    // in the pool a short search may use.
    let request = SearchRequest {
        parallel: false,
        ..request
    };
    let archive = state.archive.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_QUEUE);
    actix_web::rt::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx,
            timeout: EXPORT_WRITE_TIMEOUT,
        };
        let written = export_ads(&archive, &request, format, EXPORT_PAGE, &mut out);
        // Given back before the body ends: a client that asks for its next
        // export the moment this one arrives must find its slot free.
        drop(slot);
        if let Err(e) = written {
            tracing::warn!(error = %e, "export ended early");
            // The body then ends with an error, which breaks the transfer
            // (no last chunk), so that no client takes a cut file for a
            // whole one.
            let _ = out.send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = body_of(rx);
    let name = match format {
        ExportFormat::Ndjson => "adarchive-export.ndjson",
        ExportFormat::Csv => "adarchive-export.csv",
        ExportFormat::Parquet => "adarchive-export.parquet",
    };
    let http10 = req.version() == actix_web::http::Version::HTTP_10;
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header(attachment(name));
    if http10 {
        // HTTP/1.0 has no chunked encoding: the body ends when the
        // connection closes.
        response.force_close();
    }
    let mut response = response.streaming(stream);
    if http10 {
        response.head_mut().no_chunking(true);
    }
    Ok(response)
}

/// The response body of an export: its pieces as they come, until the
/// writer is done or sends an error.
fn body_of(
    rx: tokio::sync::mpsc::Receiver<Result<web::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn an_export_whose_client_stops_reading_gives_up() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(EXPORT_QUEUE);
        let written = tokio::task::spawn_blocking(move || {
            let mut out = ChannelWriter {
                tx,
                timeout: Duration::from_millis(200),
            };
            let piece = vec![b'x'; EXPORT_PIECE];
            (0..100)
                .map(|_| out.write_all(&piece))
                .find_map(Result::err)
        });
        // The reader takes one piece and then stops reading.
        assert!(rx.recv().await.is_some());
        let stopped = written.await.unwrap().expect("the writer gives up");
        assert_eq!(stopped.kind(), std::io::ErrorKind::TimedOut);
        drop(rx);
    }

    /// A server whose one route streams a piece, then fails when `fail`.
    async fn serve(fail: bool) -> (String, actix_web::dev::ServerHandle) {
        use actix_web::{App, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}/", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new().route(
                "/",
                web::get().to(move || async move {
                    let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_QUEUE);
                    tokio::spawn(async move {
                        let _ = tx
                            .send(Ok(web::Bytes::from_static(b"PAR1 a row group")))
                            .await;
                        if fail {
                            let _ = tx.send(Err(std::io::Error::other("disk gone"))).await;
                        }
                    });
                    HttpResponse::Ok().streaming(body_of(rx))
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (address, handle)
    }

    #[actix_web::test]
    async fn an_export_that_fails_midway_breaks_the_transfer() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (address, handle) = serve(true).await;
        let answer = reqwest::get(&address).await.unwrap();
        assert_eq!(answer.status(), 200);
        assert!(
            answer.bytes().await.is_err(),
            "a cut export must not read as a whole one"
        );
        handle.stop(false).await;

        let (address, handle) = serve(false).await;
        let whole = reqwest::get(&address).await.unwrap().bytes().await.unwrap();
        assert_eq!(&whole[..], b"PAR1 a row group");
        handle.stop(false).await;
    }
}
