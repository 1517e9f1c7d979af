//! Requests the sim is answering right now (token requests and admin API requests together)
//! and the most at once since start: how a test sees that a client bounds its concurrency
//! (a fan-out's run slots) across every tenant.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A count of requests in flight and its high-water mark.
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl InFlight {
    /// Counts one request in until the guard drops.
    pub fn enter(&self) -> Counted<'_> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        Counted(&self.now)
    }

    /// Requests being answered now.
    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The most requests answered at once since start.
    pub fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

/// One request counted in [`InFlight`] (counted out on drop).
pub struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_most_at_once() {
        let f = InFlight::default();
        let a = f.enter();
        let b = f.enter();
        drop(a);
        let c = f.enter();
        assert_eq!((f.now(), f.most()), (2, 2));
        drop((b, c));
        let _d = f.enter();
        assert_eq!((f.now(), f.most()), (1, 2));
    }
}
