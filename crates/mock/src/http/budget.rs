//! The budget of request body bytes held at once, from reading until the answer is rendered.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget of request body bytes held at once
/// ([`crate::http::Limits::body_bytes_in_flight`]), counted in KiB: a body takes room before
/// it is read and gives it back when its answer is rendered.
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
