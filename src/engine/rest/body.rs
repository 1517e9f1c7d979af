//! A page body read as it downloads: capped (`RestConfig::max_page_bytes`, 64 MiB), its
//! next-page link handed on as soon as the scanner sees it (the next request can start while
//! this body is still arriving), and, when only a few more rows are wanted, cut once they are
//! complete (the rest of a huge page is never downloaded).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

use super::scan::PageScan;
use crate::engine::http::{BodyError, Flow, read_body_with};

/// Bytes read past the last wanted row before giving up on the rest of the page: enough for
/// the annotations a normal page ends with, nothing like a huge body.
const READ_PAST_WANTED: usize = 64 * 1024;

/// A page body as read.
#[derive(Debug)]
pub(super) struct PageBody {
    pub bytes: Vec<u8>,
    /// The body was cut after the wanted rows (more rows followed): `bytes` is the body up to
    /// the last wanted row, closed with `]}` so that it parses.
    pub cut: bool,
}

/// Reads `resp`'s body (see the module documentation). `want_rows`: count rows and stop once
/// this many are complete; `early`: where the next-page link goes when it is seen first;
/// `received` counts the bytes read.
pub(super) async fn read_page_body(
    resp: reqwest::Response,
    cap: usize,
    want_rows: Option<usize>,
    early: &mut Option<oneshot::Sender<String>>,
    received: &AtomicU64,
) -> Result<PageBody, BodyError> {
    let mut scan = PageScan::new(want_rows);
    let mut watch = early.is_some() || want_rows.is_some();
    let mut counted = 0;
    let (mut bytes, stopped) = read_body_with(resp, cap, want_rows.is_some(), |buf| {
        received.fetch_add((buf.len() - counted) as u64, Ordering::Relaxed);
        counted = buf.len();
        if !watch {
            return Flow::More;
        }
        scan.feed(buf);
        if let Some(link) = scan.next_link.take()
            && let Some(tx) = early.take()
        {
            let _ = tx.send(link);
        }
        match scan.rows_end {
            Some(end) if buf.len() > end + READ_PAST_WANTED => Flow::Stop,
            Some(_) => Flow::More,
            None => {
                watch = !scan.is_done();
                Flow::More
            }
        }
    })
    .await?;
    if stopped && let Some(end) = scan.rows_end {
        bytes.truncate(end);
        bytes.extend_from_slice(b"]}");
    }
    Ok(PageBody {
        bytes,
        cut: stopped,
    })
}
