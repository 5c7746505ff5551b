//! The limits that protect the mock; each has a clear answer when exceeded.

use std::time::Duration;

/// The default of [`Limits::max_skus`].
pub const DEFAULT_MAX_SKUS: usize = 1000;

/// The default most items per request: room for any 16 MiB body of real items (58 bytes is
/// the shortest with all three members), while a body of bare `{}` items (a third of a
/// million a MiB, about 440 bytes each once read and checked) stops at ~130 MB, not 2.9 GB.
pub const DEFAULT_MAX_ITEMS: usize = 300_000;
// The default leaves room for the largest body (16 MiB) of the shortest real items.
const _: () = assert!(DEFAULT_MAX_ITEMS * 58 >= 16 * 1024 * 1024);

/// Limits that protect the mock; each has a clear answer when exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted (default 16 MiB); larger → 413.
    pub max_body_bytes: usize,
    /// Time allowed to send the request headers (default 10 s); then the connection closes.
    pub header_read_timeout: Duration,
    /// Time allowed to send the request body (default 30 s); then 408.
    pub body_read_timeout: Duration,
    /// Most items per request (default [`DEFAULT_MAX_ITEMS`]; `None`: no limit); more → 413,
    /// counted while the body is read, so a list past it is never held.
    pub max_items: Option<usize>,
    /// Deepest JSON nesting accepted (default 64); deeper → 400.
    pub max_depth: usize,
    /// Most open connections (default 1024); more are answered 503 and closed.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests (default 10 s).
    pub drain_timeout: Duration,
    /// Bodies at least this large (default 32 KiB, about 400 items) are processed on the
    /// blocking pool, at most [`Limits::heavy_jobs`] at a time, so that large requests never
    /// hold up the thread that serves every connection. Smaller bodies are processed in place
    /// (about 50 µs at most): handing them to another thread would cost more than it saves.
    pub inline_body_bytes: usize,
    /// Most large bodies processed at once on the blocking pool (default: twice the cores,
    /// so that the cores stay busy while the next bodies are read).
    pub heavy_jobs: usize,
    /// After refusing a body (413) or a connection (503 at the cap), how long the rest of what
    /// the client sends is read and discarded before closing (default 2 s), so that a client
    /// that writes its whole request before reading still reads the status.
    pub linger: Duration,
    /// The most bytes read and discarded while lingering (default 32 MiB).
    pub linger_bytes: u64,
    /// Most `/updateInventory` body bytes held at once, from reading until the answer is
    /// rendered (default 3 MiB: three 10,000-item bodies, two processed on two cores while
    /// the next is read; more would only wait in memory). A body waits for room before it is read (TCP
    /// holds its sender back meanwhile); one larger than the budget waits for all of it. A body that
    /// finds no room within `body_read_timeout` is answered 503. Bodies under 64 KiB take no
    /// room, so a small request never queues behind large ones. An answer of 64 KiB or more
    /// (a failed list of many items) then keeps room for its own bytes until its last byte
    /// is handed to the socket: its request's room, resized to the answer when the budget has
    /// it. An answer its client does not read thus keeps other large bodies waiting, not in
    /// memory, until the connection is cut for making no progress (`header_read_timeout`).
    /// The answer itself is always whole. `stockwire mock --body-budget`.
    pub body_bytes_in_flight: usize,
    /// Most SKU codes one listing request may name in its `skus` parameter (default 1,000);
    /// more → 400 naming this limit. Checked before any code is looked up.
    pub max_skus: usize,
    /// Live tokens one seller may hold at once when tokens have a lifetime (default 1,000):
    /// each `/authToken` call issues a fresh one, and past the cap the seller's oldest token
    /// goes (expired ones are forgotten as new ones are issued), so a client that logs in on
    /// every request keeps the store, and each lookup, the same size.
    pub max_tokens_per_seller: usize,
    /// Record mode (`--record-from`): partner answer bytes held at once, from the first byte
    /// read until the answer is written to its client (default 128 MiB: two answers of the
    /// 64 MiB per-answer cap). A piece that finds no room within 5 s ends its answer with a
    /// 502 that says so, so clients that never read cannot make the mock hold more.
    pub record_bytes_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_items: Some(DEFAULT_MAX_ITEMS),
            max_depth: 64,
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
            inline_body_bytes: 32 * 1024,
            heavy_jobs: 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            linger: Duration::from_secs(2),
            linger_bytes: 32 * 1024 * 1024,
            body_bytes_in_flight: 3 * 1024 * 1024,
            max_skus: DEFAULT_MAX_SKUS,
            max_tokens_per_seller: 1_000,
            record_bytes_in_flight: 128 * 1024 * 1024,
        }
    }
}
