//! Cooperative cancellation of long computations.
//!
//! A caller that may give up (a request past its deadline) runs its work
//! inside [`Cancel::run`]; the engine's long loops ask [`requested`] (or a
//! [`Cancel`] they captured with [`current`] for their worker threads) and
//! stop early once it is set. Work stopped this way returns an incomplete
//! value that its caller, knowing it cancelled, throws away; nothing
//! stopped early is ever stored or cached.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// A flag shared by a caller and the work it started.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not yet set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether stopping was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `work` on this thread with this flag as the current one.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let previous = CURRENT.with(|c| c.replace(Some(self.clone())));
        let out = work();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        out
    }
}

/// The flag of the work running on this thread, to hand to worker threads.
pub fn current() -> Option<Cancel> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Whether the work running on this thread was asked to stop.
pub fn requested() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(Cancel::is_cancelled))
}

/// Sets its flag when dropped: held by an awaiting caller, so a request
/// dropped at its deadline stops the work it started.
#[derive(Debug)]
pub struct CancelOnDrop(pub Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_sees_its_own_flag_only_while_it_runs() {
        assert!(!requested());
        let flag = Cancel::new();
        flag.run(|| {
            assert!(!requested());
            current().expect("a flag").cancel();
            assert!(requested());
        });
        assert!(flag.is_cancelled());
        assert!(!requested(), "the flag is gone after the work");
        {
            let other = Cancel::new();
            let _guard = CancelOnDrop(other.clone());
            assert!(!other.is_cancelled());
            drop(_guard);
            assert!(other.is_cancelled());
        }
    }
}
