//! `exo-connect run`'s results on stdout, from the pages' result stores
//! (`model::results`): JSON is written page by page as the pages arrive (serde_json's pretty
//! formatter through a `BufWriter`, each page flushed), CSV and the table from one store the
//! pages are appended to (the union of the columns is known only at the end). Progress,
//! warnings and retries go to stderr; everything a server said is printed through
//! `model::text::printable` / `printable_line`.

use std::io::{BufWriter, IsTerminal, StdoutLock, Write};

use super::signin::rest_message;
use super::{CliError, CliResult};
use crate::engine::rest::{RunEvent, RunHandle};
use crate::model::results::ResultStore;
use crate::model::results::write::{JsonWriter, write_csv_all, write_table};
use crate::model::text::{printable, printable_line};

/// How `run` prints its rows (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// Bytes buffered before a write to stdout.
const STDOUT_BUFFER: usize = 256 * 1024;

fn write_err(e: std::io::Error) -> CliError {
    CliError::Failed(format!("cannot write the output: {e}"))
}

/// Stdout, locked for the whole run (nothing else prints there meanwhile), behind a buffer.
fn stdout() -> BufWriter<StdoutLock<'static>> {
    BufWriter::with_capacity(STDOUT_BUFFER, std::io::stdout().lock())
}

/// Where the rows go while the run lasts; `W` is stdout's buffered writer (a `Vec` in tests).
enum Sink<W: Write> {
    /// JSON: the output until the first page, then the array started with it.
    Json {
        out: Option<W>,
        array: Option<JsonWriter<W>>,
    },
    /// CSV and table: every row, in one store; the output it goes to at the end.
    Held { all: ResultStore, out: W },
}

impl<W: Write> Sink<W> {
    fn new(format: OutputFormat, out: W) -> Sink<W> {
        match format {
            OutputFormat::Json => Sink::Json {
                out: Some(out),
                array: None,
            },
            OutputFormat::Csv | OutputFormat::Table => Sink::Held {
                all: ResultStore::new(),
                out,
            },
        }
    }

    /// A page's rows: written and flushed (JSON) or kept (`ResultStore::take_page`: appended
    /// column by column into the result's store, which keeps dictionaries; a column first seen
    /// on a later page joins the union there).
    fn page(&mut self, rows: ResultStore) -> CliResult {
        match self {
            Sink::Json { .. } if rows.is_empty() => Ok(()),
            Sink::Json { out, array } => {
                let w = match (array.as_mut(), out.take()) {
                    (Some(w), _) => w,
                    (None, Some(out)) => array.insert(JsonWriter::new(out).map_err(write_err)?),
                    (None, None) => unreachable!("the output is held until the array starts"),
                };
                w.write_rows(&rows, 0..rows.len()).map_err(write_err)?;
                w.flush().map_err(write_err)
            }
            Sink::Held { all, .. } => {
                all.take_page(rows);
                Ok(())
            }
        }
    }

    /// The end of a run that finished: JSON's closing bracket (`[]` for no rows), the CSV, or
    /// the table that fits `width`. Returns how many properties the table left out.
    fn finish(
        self,
        format: OutputFormat,
        width: impl FnOnce() -> usize,
    ) -> Result<usize, CliError> {
        match self {
            Sink::Json { out, array } => {
                let w = match (array, out) {
                    (Some(w), _) => w,
                    (None, Some(out)) => JsonWriter::new(out).map_err(write_err)?,
                    (None, None) => unreachable!("the output is held until the array starts"),
                };
                w.finish().map_err(write_err)?;
            }
            Sink::Held { all, out } if format == OutputFormat::Csv => {
                write_csv_all(&all, out).map_err(write_err)?;
            }
            Sink::Held { all, out } => {
                if !all.is_empty() {
                    return write_table(&all, width(), out).map_err(write_err);
                }
            }
        }
        Ok(0)
    }

    /// Whether any row arrived.
    fn has_rows(&self) -> bool {
        match self {
            Sink::Json { array, .. } => array.is_some(),
            Sink::Held { all, .. } => !all.is_empty(),
        }
    }

    /// The end of a run that failed: JSON stays a valid array of what arrived (nothing at all
    /// when no row did); CSV and table print nothing.
    fn abandon(self) {
        if let Sink::Json { array: Some(w), .. } = self {
            let _ = w.finish();
        }
    }
}

/// A non-terminating error as "<target>: <text>" (or "the cmdlet: <text>" without a target),
/// one printable line.
fn row_error(e: &crate::model::results::RowError) -> String {
    let text = match &e.target {
        Some(t) => format!("{t}: {}", e.message),
        None => format!("the cmdlet: {}", e.message),
    };
    printable_line(&text).into_owned()
}

/// The width the table must fit: `COLUMNS` when set, else the terminal's, else 120.
pub(crate) fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .or_else(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0 as usize))
        .filter(|w| *w >= 20)
        .unwrap_or(120)
}

/// Streams a run's events: rows to stdout (see the module documentation); progress (on a
/// terminal), warnings, per-target errors, retries, redirects and a low rate budget to stderr.
/// `Some(question)` when the service asked for confirmation (nothing done, nothing printed on
/// stdout).
pub(super) async fn print_results(
    mut handle: RunHandle,
    format: OutputFormat,
) -> Result<Option<String>, CliError> {
    let progress = std::io::stderr().is_terminal();
    let mut sink = Sink::new(format, stdout());
    let mut question = None;
    let mut told_low = false;
    while let Some(ev) = handle.events.recv().await {
        match ev {
            RunEvent::Page {
                rows,
                total_rows,
                pages,
                elapsed,
            } => {
                if progress {
                    eprint!(
                        "\r{total_rows} rows, {pages} pages, {:.1} s",
                        elapsed.as_secs_f64()
                    );
                }
                sink.page(rows)?;
            }
            RunEvent::Warning(w) if w.starts_with("What if:") => eprintln!("{}", printable(&w)),
            RunEvent::Warning(w) => eprintln!("WARNING: {}", printable(&w)),
            RunEvent::RowError(e) => eprintln!("WARNING: error on {}", row_error(&e)),
            RunEvent::Confirmation(q) => question = Some(q),
            RunEvent::RateBudget(b) => {
                if b.is_low() && !told_low {
                    told_low = true;
                    eprintln!(
                        "rate limit: the tenant's request budget is low ({b}); requests are paced to stay under it"
                    );
                }
            }
            RunEvent::Retrying { delay, reason, .. } => eprintln!(
                "retrying in {:.1} s: {}",
                delay.as_secs_f64(),
                printable_line(&reason)
            ),
            RunEvent::Redirected { host } => eprintln!("redirected to {}", printable_line(&host)),
            RunEvent::Done { .. } => {
                if progress {
                    eprintln!();
                }
                if question.is_some() && !sink.has_rows() {
                    return Ok(question);
                }
                let hidden = sink.finish(format, terminal_width)?;
                if hidden > 0 {
                    eprintln!(
                        "({hidden} more properties not shown: use --format json or csv to see every property)"
                    );
                }
                return Ok(None);
            }
            RunEvent::Failed(e) => {
                if progress {
                    eprintln!();
                }
                sink.abandon();
                return Err(CliError::Failed(printable(&rest_message(&e)).into_owned()));
            }
        }
    }
    sink.abandon();
    Err(CliError::Failed(
        "the run stopped before it finished".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn page(rows: Value) -> ResultStore {
        let mut s = ResultStore::new();
        for r in rows.as_array().unwrap() {
            s.push_value(r);
        }
        s
    }

    fn pages() -> [ResultStore; 2] {
        [
            page(json!([{"Name": "a", "N": 1}, {"Name": "b,c", "Emails": ["p@x", "q@x"]}])),
            // `Later` and `Z` are first seen on the second page.
            page(json!([{"Later": true, "Name": "d"}, {"Name": "e", "Z": null, "N": 2.5}])),
        ]
    }

    /// What a run of `format` prints for [`pages`] (and how many properties the table left out).
    fn run(format: OutputFormat, width: usize) -> (String, usize) {
        let mut out = Vec::new();
        let mut sink = Sink::new(format, &mut out);
        for p in pages() {
            sink.page(p).unwrap();
        }
        let hidden = sink.finish(format, || width).unwrap();
        (String::from_utf8(out).unwrap(), hidden)
    }

    #[test]
    fn csv_header_is_the_union_of_columns_including_later_pages() {
        let (csv, _) = run(OutputFormat::Csv, 0);
        assert_eq!(
            csv,
            "Name,N,Emails,Later,Z\n\
             a,1,,,\n\
             \"b,c\",,p@x;q@x,,\n\
             d,,,true,\n\
             e,2.5,,,\n"
        );
    }

    #[test]
    fn json_is_every_page_in_order_as_one_array() {
        let (text, _) = run(OutputFormat::Json, 0);
        let want: Value = json!([
            {"Name": "a", "N": 1},
            {"Name": "b,c", "Emails": ["p@x", "q@x"]},
            {"Later": true, "Name": "d"},
            {"Name": "e", "Z": null, "N": 2.5}
        ]);
        assert_eq!(
            text,
            format!("{}\n", serde_json::to_string_pretty(&want).unwrap())
        );
        // Each row keeps its own key order (`Later` before `Name`).
        assert!(
            text.contains("\"Later\": true,\n    \"Name\": \"d\""),
            "{text}"
        );
    }

    #[test]
    fn table_fits_and_counts_what_it_left_out() {
        let (table, hidden) = run(OutputFormat::Table, 14);
        assert!(table.lines().all(|l| l.chars().count() <= 14), "{table}");
        assert!(table.starts_with("Name N"), "{table}");
        assert_eq!(table.lines().count(), 6);
        assert!(hidden > 0);
        let (_, hidden) = run(OutputFormat::Table, 200);
        assert_eq!(hidden, 0);
    }

    #[test]
    fn no_rows_and_failed_runs() {
        let mut out = Vec::new();
        Sink::new(OutputFormat::Json, &mut out)
            .finish(OutputFormat::Json, || 80)
            .unwrap();
        assert_eq!(out, b"[]\n");
        for format in [OutputFormat::Csv, OutputFormat::Table] {
            let mut out = Vec::new();
            Sink::new(format, &mut out).finish(format, || 80).unwrap();
            assert!(out.is_empty(), "{format:?}");
        }
        // A failure before any row prints nothing; after some, JSON stays a valid array.
        let mut out = Vec::new();
        Sink::new(OutputFormat::Json, &mut out).abandon();
        assert!(out.is_empty());
        let mut out = Vec::new();
        let mut sink = Sink::new(OutputFormat::Json, &mut out);
        let [first, _] = pages();
        sink.page(first).unwrap();
        sink.abandon();
        let rows: Vec<Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(rows.len(), 2);
    }
}
