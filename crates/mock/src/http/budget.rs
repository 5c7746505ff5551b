//! The budget of body bytes held at once: a large request body from reading until its answer
//! is rendered, then a large answer until hyper has taken its last byte to write.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget of body bytes held at once
/// ([`crate::http::Limits::body_bytes_in_flight`]), counted in KiB: a body takes room before
/// it is read; its answer then keeps room for its own bytes until it is written
/// ([`BodyBudget::answer_room`]), so answers waiting for a client that does not read count too.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    sem: Arc<Semaphore>,
    total: u32,
}

/// Bodies smaller than this take no room in a [`BodyBudget`].
pub(crate) const SMALL_BODY: usize = 64 * 1024;

/// Room taken in a [`BodyBudget`], given back when dropped.
pub(crate) type BudgetHeld = OwnedSemaphorePermit;

impl BodyBudget {
    /// A budget of about `bytes` (at least 1 KiB).
    pub(crate) fn new(bytes: usize) -> Self {
        let total = (bytes.div_ceil(1024) as u64).clamp(1, u64::from(u32::MAX >> 3)) as u32;
        BodyBudget {
            sem: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// The room `bytes` take, in KiB: at least 1, at most the whole budget.
    pub(super) fn units(&self, bytes: usize) -> u32 {
        (bytes.div_ceil(1024).max(1) as u64).min(u64::from(self.total)) as u32
    }

    /// Waits for `units` KiB of room.
    pub(super) async fn take(&self, units: u32) -> Option<BudgetHeld> {
        self.sem.clone().acquire_many_owned(units).await.ok()
    }

    /// The room an answer of `bytes` keeps until it is written, from the room its request
    /// `held`: none for an answer under [`SMALL_BODY`]; room beyond the answer's size is given
    /// back, and room it lacks is taken when it is free now (never waited for: an answer is
    /// rendered already, and waiting while holding room could deadlock two answers). An
    /// answer thus holds at least its request's room, and its own size whenever the budget
    /// has it.
    pub(crate) fn answer_room(&self, held: Option<BudgetHeld>, bytes: usize) -> Option<BudgetHeld> {
        if bytes < SMALL_BODY {
            return None;
        }
        let need = self.units(bytes);
        let Some(mut held) = held else {
            return self.sem.clone().try_acquire_many_owned(need).ok();
        };
        let have = held.num_permits() as u32;
        if have > need {
            drop(held.split((have - need) as usize));
        } else if have < need
            && let Ok(more) = self.sem.clone().try_acquire_many_owned(need - have)
        {
            held.merge(more);
        }
        Some(held)
    }

    /// Bytes of room left now.
    #[cfg(test)]
    pub(crate) fn available_bytes(&self) -> usize {
        self.sem.available_permits() * 1024
    }

    /// The whole budget in bytes.
    pub(crate) fn total_bytes(&self) -> usize {
        self.total as usize * 1024
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::{Limits, MockMarketplace};

    const ONE: &str = r#"{"inventoryList":[{"productId":"P1","variantId":"V1","inventory":1}]}"#;

    async fn connect(m: &MockMarketplace) -> TcpStream {
        TcpStream::connect(m.addr()).await.unwrap()
    }

    fn head(len: usize) -> String {
        format!(
            "POST /updateInventory HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {len}\r\n\r\n"
        )
    }

    async fn status_of(mut s: TcpStream) -> String {
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// Waits until `f` holds (the 10 s guard only turns a regression into a failure instead
    /// of a hang; nothing here depends on timing).
    async fn until(f: impl Fn() -> bool) {
        let wait = async {
            while !f() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        assert!(
            tokio::time::timeout(Duration::from_secs(10), wait)
                .await
                .is_ok(),
            "the condition never held"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bodies_in_flight_stay_within_the_budget_and_others_are_still_served() {
        let m = MockMarketplace::builder()
            .no_auth()
            .limits(Limits {
                body_bytes_in_flight: 64 * 1024,
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let budget = &m.shared.body_budget;
        assert_eq!(budget.available_bytes(), 64 * 1024);

        // A declares a 64 KiB body (spaces after the JSON) and sends only its start: it holds
        // the whole budget while its body is arriving.
        let mut body = ONE.as_bytes().to_vec();
        body.resize(64 * 1024, b' ');
        let mut a = connect(&m).await;
        a.write_all(head(body.len()).as_bytes()).await.unwrap();
        a.write_all(&body[..1024]).await.unwrap();
        until(|| budget.available_bytes() == 0).await;

        // B's 64 KiB body finds no room: B is not read until A is answered.
        let mut b = connect(&m).await;
        b.write_all(head(body.len()).as_bytes()).await.unwrap();
        b.write_all(&body).await.unwrap();
        let b = tokio::spawn(status_of(b));

        // A small body takes no room: it is answered while A holds the budget and B waits.
        let mut c = connect(&m).await;
        c.write_all(head(ONE.len()).as_bytes()).await.unwrap();
        c.write_all(ONE.as_bytes()).await.unwrap();
        assert!(status_of(c).await.contains(" 200 "));

        // A new client of another endpoint is still served meanwhile.
        let mut h = connect(&m).await;
        h.write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        assert!(status_of(h).await.contains(" 200 "));
        assert_eq!(budget.available_bytes(), 0, "the budget is still held by A");
        until(|| m.request_count() == 3).await;
        assert_eq!(
            budget.available_bytes(),
            0,
            "B has arrived and waits for room"
        );
        assert_eq!(m.journal().len(), 1, "only the small request was answered");

        // A's body completes: A is answered, then B, and the whole budget is free again.
        a.write_all(&body[1024..]).await.unwrap();
        assert!(status_of(a).await.contains(" 200 "));
        assert!(b.await.unwrap().contains(" 200 "));
        until(|| budget.available_bytes() == 64 * 1024).await;
        assert_eq!(m.journal().len(), 3);
        m.shutdown().await;
    }

    /// A body of `n` items with distinct keys that all fail (a negative count): its answer
    /// lists each of them with a message, about three times the body's size.
    fn failing_items(n: usize) -> Vec<u8> {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"productId":"P{i:07}","variantId":"V","inventory":-1}}"#))
            .collect();
        format!(r#"{{"inventoryList":[{}]}}"#, items.join(",")).into_bytes()
    }

    /// A client whose socket takes in little (4 KiB asked), so an answer it does not read
    /// stays on the mock's side.
    async fn slow_reader(m: &MockMarketplace) -> TcpStream {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        sock.connect(m.addr()).await.unwrap()
    }

    /// Reads one answer to the end (the request asked to close): its head and its body.
    async fn answer_of(mut s: TcpStream) -> (String, Vec<u8>) {
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let at = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(out.len(), |p| p + 4);
        let body = out.split_off(at);
        (String::from_utf8_lossy(&out).into_owned(), body)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_its_client_does_not_read_holds_room_for_all_its_bytes_until_written() {
        let total = 64 * 1024 * 1024;
        let m = MockMarketplace::builder()
            .no_auth()
            .limits(Limits {
                body_bytes_in_flight: total,
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let budget = &m.shared.body_budget;
        let n = 100_000;
        let body = failing_items(n);
        let mut a = slow_reader(&m).await;
        a.write_all(head(body.len()).as_bytes()).await.unwrap();
        a.write_all(&body).await.unwrap();

        // A's answer is rendered and journaled; A reads nothing.
        until(|| m.journal().len() == 1).await;
        let answer_len = m.journal()[0].response_body.len();
        assert!(
            answer_len > 2 * body.len() && answer_len > 8 * 1024 * 1024,
            "an answer far larger than the socket buffers: {answer_len} bytes"
        );
        // Its room is the answer's size (more than the request's), held while it waits.
        let held = total - budget.available_bytes();
        assert_eq!(held, budget.units(answer_len) as usize * 1024);

        // A new client is still served meanwhile, and A's answer still holds its room.
        let mut c = connect(&m).await;
        c.write_all(head(ONE.len()).as_bytes()).await.unwrap();
        c.write_all(ONE.as_bytes()).await.unwrap();
        assert!(status_of(c).await.contains(" 200 "));
        assert_eq!(total - budget.available_bytes(), held);

        // A reads: its answer is whole (one entry per item, contract-valid) and the room is
        // given back once its last byte is written.
        let (head_a, got) = answer_of(a).await;
        assert!(head_a.contains(" 200 "), "{head_a}");
        assert_eq!(got.len(), answer_len);
        let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(v["failedProductList"].as_array().map(Vec::len), Some(n));
        assert_eq!(v["status"], "FAILED");
        until(|| budget.available_bytes() == total).await;
        m.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_never_reads_keeps_other_large_bodies_out_not_small_ones() {
        let total = 1024 * 1024;
        let m = MockMarketplace::builder()
            .no_auth()
            .limits(Limits {
                body_bytes_in_flight: total,
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let budget = &m.shared.body_budget;
        let body = failing_items(100_000);
        let mut a = slow_reader(&m).await;
        a.write_all(head(body.len()).as_bytes()).await.unwrap();
        a.write_all(&body).await.unwrap();
        until(|| m.journal().len() == 1).await;
        // Larger than the budget, A's answer holds all of it while A does not read.
        assert_eq!(budget.available_bytes(), 0);

        // B's large body waits for room, unread: the mock holds no second large answer.
        let mut big = ONE.as_bytes().to_vec();
        big.resize(128 * 1024, b' ');
        let mut b = connect(&m).await;
        b.write_all(head(big.len()).as_bytes()).await.unwrap();
        b.write_all(&big).await.unwrap();
        let b = tokio::spawn(status_of(b));
        // A small request is served meanwhile.
        let mut c = connect(&m).await;
        c.write_all(head(ONE.len()).as_bytes()).await.unwrap();
        c.write_all(ONE.as_bytes()).await.unwrap();
        assert!(status_of(c).await.contains(" 200 "));
        until(|| m.request_count() == 3).await;
        assert!(!b.is_finished(), "B waits for room: not answered yet");
        assert_eq!(budget.available_bytes(), 0);

        // A goes away without reading: its room comes back, and B is served.
        drop(a);
        assert!(b.await.unwrap().contains(" 200 "));
        until(|| budget.available_bytes() == total).await;
        m.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_larger_than_the_budget_takes_all_of_it_and_is_served() {
        let m = MockMarketplace::builder()
            .no_auth()
            .limits(Limits {
                body_bytes_in_flight: 4 * 1024,
                ..Limits::default()
            })
            .start()
            .await
            .unwrap();
        let mut body = ONE.as_bytes().to_vec();
        body.resize(100 * 1024, b' ');
        let mut a = connect(&m).await;
        a.write_all(head(body.len()).as_bytes()).await.unwrap();
        a.write_all(&body).await.unwrap();
        assert!(status_of(a).await.contains(" 200 "));
        until(|| m.shared.body_budget.available_bytes() == 4 * 1024).await;
        m.shutdown().await;
    }
}
