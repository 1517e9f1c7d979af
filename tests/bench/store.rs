//! The result store's benchmark (issue 11, Build items 1–3): parsing InvokeCommand pages into
//! the store against today's path (`serde_json::from_slice::<Value>`, a clone of `value`,
//! `clean_row` of each row into a `Vec<Map>`), the store's size per JSON byte at 100,000 sim
//! mailboxes, and JSON/CSV writing from the store against today's command-line code.
//!
//! Pages are made the sim's way (`sim::admin::dataset::mailbox` rows in a
//! `{"@odata.context", "@odata.nextLink", "value"}` object, compact JSON), or read from saved
//! page bodies (`--pages DIR`, e.g. the ones `tests/bench/cli.py --save-pages` fetches with curl).
//!
//! `cargo bench --bench store` (options after `--`: `--mailboxes N`, `--runs N`, `--pages DIR`).
//! Times are medians of `--runs` alternating runs; heap figures come from a counting allocator.

// The command line's output code before the result store, kept by the CLI tests as reference.
#[path = "../cli/legacy_output.rs"]
#[allow(dead_code)]
mod legacy_output;

use std::time::Instant;

use exo_connect::model::results::view::{self, Filter, SortCache};
use exo_connect::model::results::{ResultStore, parse_page, write};
use serde_json::{Map, Value};

#[path = "counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::live;

struct Args {
    mailboxes: usize,
    runs: usize,
    pages: Option<std::path::PathBuf>,
    sample_pages: usize,
}

fn args() -> Args {
    let mut a = Args {
        mailboxes: 100_000,
        runs: 5,
        pages: None,
        sample_pages: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--mailboxes" => a.mailboxes = val().parse().expect("--mailboxes N"),
            "--runs" => a.runs = val().parse().expect("--runs N"),
            "--pages" => a.pages = Some(val().into()),
            "--sample-pages" => a.sample_pages = val().parse().expect("--sample-pages N"),
            "--bench" => {}
            other => panic!("unknown option {other} (--mailboxes N, --runs N, --pages DIR)"),
        }
    }
    a
}

/// Page bodies, one at a time: made like the sim makes them, or read from a folder.
struct Pages {
    source: Source,
    next: usize,
}

enum Source {
    Sim {
        world: exo_connect::sim::World,
        tenant: usize,
        total: usize,
    },
    Files(Vec<std::path::PathBuf>),
}

const PAGE_SIZE: usize = 1000;

impl Pages {
    fn new(a: &Args) -> Pages {
        let source = match &a.pages {
            Some(dir) => {
                let mut files: Vec<_> = std::fs::read_dir(dir)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect();
                files.sort();
                assert!(!files.is_empty(), "no *.json pages in {}", dir.display());
                Source::Files(files)
            }
            None => {
                let world = exo_connect::sim::World::seeded(1, a.mailboxes);
                let tenant = world
                    .tenants
                    .iter()
                    .position(|t| t.mailboxes == a.mailboxes)
                    .expect("the big tenant");
                Source::Sim {
                    world,
                    tenant,
                    total: a.mailboxes,
                }
            }
        };
        Pages { source, next: 0 }
    }

    fn next_page(&mut self) -> Option<Vec<u8>> {
        let i = self.next;
        self.next += 1;
        match &self.source {
            Source::Files(f) => f.get(i).map(|p| std::fs::read(p).unwrap()),
            Source::Sim {
                world,
                tenant,
                total,
            } => {
                let start = i * PAGE_SIZE;
                if start >= *total {
                    return None;
                }
                let end = (start + PAGE_SIZE).min(*total);
                let t = &world.tenants[*tenant];
                let rows: Vec<Value> = (start..end)
                    .map(|n| Value::Object(exo_connect::sim::admin::dataset::mailbox(1, t, n)))
                    .collect();
                let base = format!("http://127.0.0.1:1/adminapi/beta/{}", t.id);
                let mut page = Map::new();
                page.insert(
                    "@odata.context".into(),
                    format!("{base}/$metadata#Collection(Exchange.GenericHashTable)").into(),
                );
                if end < *total {
                    // As long as the sim's: its skip token carries the cmdlet and parameters.
                    let token = "A".repeat(220);
                    page.insert(
                        "@odata.nextLink".into(),
                        format!("{base}/InvokeCommand?$skiptoken={token}{end}").into(),
                    );
                }
                page.insert("value".into(), Value::Array(rows));
                Some(serde_json::to_vec(&Value::Object(page)).unwrap())
            }
        }
    }
}

/// Today's command line: the page as a `Value` tree, `value` cloned, each row cleaned.
fn today_parse(body: &[u8], rows: &mut Vec<Map<String, Value>>) {
    let json: Value = serde_json::from_slice(body).unwrap();
    let page: Vec<Value> = match json.get("value") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    };
    rows.extend(page.into_iter().map(legacy_output::clean_row));
}

fn store_parse(body: &[u8], store: &mut ResultStore) {
    parse_page(body, store, None, &mut |_| {}).unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let a = args();
    let mut pages = Pages::new(&a);

    // 1. The whole result into one store, a page at a time (the page is dropped after parsing).
    let base = live();
    let mut store = ResultStore::new();
    let (mut json_bytes, mut parse_secs) = (0usize, 0.0f64);
    let mut sample: Vec<Vec<u8>> = Vec::new();
    while let Some(body) = pages.next_page() {
        json_bytes += body.len();
        let t = Instant::now();
        store_parse(&body, &mut store);
        parse_secs += t.elapsed().as_secs_f64();
        if sample.len() < a.sample_pages {
            let mut body = body;
            body.shrink_to_fit();
            sample.push(body);
        }
    }
    let sample_bytes: usize = sample.iter().map(Vec::len).sum();
    let heap_full = live() - base - sample_bytes;
    let counted_full = store.memory_bytes();
    store.shrink_to_fit();
    let heap_done = live() - base - sample_bytes;
    let counted_done = store.memory_bytes();
    let rows = store.len();
    let dict = (0..store.column_count())
        .filter(|&c| store.is_dictionary_column(c))
        .count();
    println!(
        "result: {rows} rows × {} columns ({dict} dictionary-encoded), {:.1} MiB of JSON in {} pages",
        store.column_count(),
        mib(json_bytes),
        pages.next - 1
    );
    println!(
        "store while filling: {:.1} MiB = {:.3} × the JSON bytes (memory_bytes {:.1} MiB; allocator {:.1} MiB)",
        mib(heap_full.max(counted_full)),
        heap_full.max(counted_full) as f64 / json_bytes as f64,
        mib(counted_full),
        mib(heap_full)
    );
    println!(
        "store when complete (shrink_to_fit): {:.1} MiB = {:.3} × the JSON bytes (memory_bytes {:.1} MiB; allocator {:.1} MiB)",
        mib(heap_done.max(counted_done)),
        heap_done.max(counted_done) as f64 / json_bytes as f64,
        mib(counted_done),
        mib(heap_done)
    );
    println!(
        "one pass, pages into the store: {:.0} ns/row, {:.0} MB/s",
        parse_secs * 1e9 / rows as f64,
        json_bytes as f64 / parse_secs / 1e6
    );
    grid_ops(&store, a.runs);
    drop(store);

    // 2. Parse cost, today's path against the store, alternately, over the sample pages.
    let sample_rows = {
        let mut s = ResultStore::new();
        sample.iter().for_each(|b| store_parse(b, &mut s));
        s.len()
    };
    let (mut today, mut ours) = (Vec::new(), Vec::new());
    let mut today_heap = 0;
    for _ in 0..a.runs {
        let before = live();
        let t = Instant::now();
        let mut rows = Vec::new();
        sample.iter().for_each(|b| today_parse(b, &mut rows));
        today.push(t.elapsed().as_secs_f64() * 1e9 / sample_rows as f64);
        today_heap = live() - before;
        drop(rows);
        let t = Instant::now();
        let mut s = ResultStore::new();
        sample.iter().for_each(|b| store_parse(b, &mut s));
        ours.push(t.elapsed().as_secs_f64() * 1e9 / sample_rows as f64);
    }
    let (today, ours) = (median(today), median(ours));
    println!(
        "parse, {} pages ({sample_rows} rows, {:.1} MiB), median of {} runs: today {today:.0} ns/row, store {ours:.0} ns/row ({:.2}× faster)",
        sample.len(),
        mib(sample_bytes),
        a.runs,
        today / ours
    );
    println!(
        "today's rows held (Vec<Map<String, Value>>): {:.1} MiB = {:.2} × their JSON bytes",
        mib(today_heap),
        today_heap as f64 / sample_bytes as f64
    );

    // 3. Writing, today's command-line code against the store's writers, into a sink.
    let mut store = ResultStore::new();
    sample.iter().for_each(|b| store_parse(b, &mut store));
    let mut rows = Vec::new();
    sample.iter().for_each(|b| today_parse(b, &mut rows));
    let (mut tj, mut sj, mut tc, mut sc) = (vec![], vec![], vec![], vec![]);
    for _ in 0..a.runs {
        let t = Instant::now();
        today_json(&rows, std::io::sink());
        tj.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::sink());
        write::write_json(&store, 0..store.len(), out).unwrap();
        sj.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let text = legacy_output::to_csv(&rows);
        std::io::Write::write_all(&mut std::io::sink(), text.as_bytes()).unwrap();
        tc.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        write::write_csv_all(&store, std::io::sink()).unwrap();
        sc.push(t.elapsed().as_secs_f64());
    }
    let per_row = |v: Vec<f64>| median(v) * 1e9 / rows.len() as f64;
    let (tj, sj, tc, sc) = (per_row(tj), per_row(sj), per_row(tc), per_row(sc));
    println!(
        "write JSON: today {tj:.0} ns/row, store {sj:.0} ns/row ({:.2}×); CSV: today {tc:.0} ns/row, store {sc:.0} ns/row ({:.2}×)",
        tj / sj,
        tc / sc
    );
}

/// Today's `run --format json` loop (pretty text per row, re-indented, written).
fn today_json(rows: &[Map<String, Value>], mut out: impl std::io::Write) {
    let mut started = false;
    for r in rows {
        let sep = if started { ",\n  " } else { "[\n  " };
        started = true;
        // (today's code owns the row and wraps it in a Value; a Map prints the same)
        let text = serde_json::to_string_pretty(r)
            .unwrap()
            .replace('\n', "\n  ");
        write!(out, "{sep}{text}").unwrap();
    }
    out.write_all(b"\n]\n").unwrap();
}

/// Sort and filter of the whole result (the grid's operations), medians.
fn grid_ops(store: &ResultStore, runs: usize) {
    let no = std::sync::atomic::AtomicBool::new(false);
    let all: Vec<u32> = (0..store.len() as u32).collect();
    let mut line = Vec::new();
    for name in ["DisplayName", "Database", "WhenCreated", "ResourceCapacity"] {
        let Some(col) = store.column_index(name) else {
            continue;
        };
        let (mut cold, mut warm) = (vec![], vec![]);
        for _ in 0..runs {
            let mut cache = SortCache::new();
            let t = Instant::now();
            view::sort(store, &all, col, true, &mut cache, &no).unwrap();
            cold.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            view::sort(store, &all, col, false, &mut cache, &no).unwrap();
            warm.push(t.elapsed().as_secs_f64() * 1e3);
        }
        line.push(format!(
            "{name} {:.0} ms (keys cached: {:.0} ms)",
            median(cold),
            median(warm)
        ));
    }
    println!("sort {} rows: {}", store.len(), line.join(", "));
    let mut line = Vec::new();
    for typed in ["sales", "jose.nunez000", "Department:legal", "zzz-no-match"] {
        let f = Filter::parse(store, typed);
        let mut times = vec![];
        let mut kept = 0;
        for _ in 0..runs {
            let t = Instant::now();
            kept = view::filter(store, &f, &no).unwrap().len();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        line.push(format!("'{typed}' {:.0} ms ({kept} rows)", median(times)));
    }
    println!("filter {} rows: {}", store.len(), line.join(", "));
}
