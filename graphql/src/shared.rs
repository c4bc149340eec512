//! Answers that cost chain or heavy store reads, shared by every client: one read runs at a
//! time, and a result younger than its `max_age` is handed to everyone who asks. Whatever the
//! number of clients or aliases, the chains and the store see at most one read per `max_age`
//! (the audit every 30 s, live gas every 30 s, the relayer's view and the treasury's positions
//! every second, `/metrics`' transfer counts every second).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The last value read and when.
pub struct Shared<T> {
    last: tokio::sync::Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            last: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T> Shared<T> {
    /// The last value if younger than `max_age`, else a new `read` (callers arriving meanwhile
    /// wait for it and share it). A failed read is not kept: the next caller reads again.
    pub async fn get<E, F, Fut>(&self, max_age: Duration, read: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut last = self.last.lock().await;
        if let Some((at, value)) = last.as_ref()
            && at.elapsed() <= max_age
        {
            return Ok(value.clone());
        }
        let value = Arc::new(read().await?);
        *last = Some((Instant::now(), value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn many_callers_share_one_read() {
        let shared: Arc<Shared<usize>> = Arc::default();
        let reads = Arc::new(AtomicUsize::new(0));
        let calls = (0..50).map(|_| {
            let (shared, reads) = (shared.clone(), reads.clone());
            async move {
                shared
                    .get(Duration::from_secs(60), || async {
                        Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst))
                    })
                    .await
            }
        });
        let got = futures::future::join_all(calls).await;
        assert!(got.iter().all(|v| **v.as_ref().unwrap() == 0));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Past its age, the next caller reads again; a failure is not kept.
        let failed = shared
            .get(Duration::ZERO, || async { Err::<usize, _>("down") })
            .await;
        assert!(failed.is_err());
        let again = shared
            .get(Duration::ZERO, || async { Ok::<_, ()>(7) })
            .await;
        assert_eq!(*again.unwrap(), 7);
    }
}
