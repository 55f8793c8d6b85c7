//! [`Writer`]: a thread that applies queued operations in order, so that the caller's thread goes
//! on with other work meanwhile. [`crate::KernelPlane`] uses it for `MRT_ADD_MFC` /
//! `MRT_DEL_MFC`, which cost about a microsecond each in the kernel.
//!
//! The caller collects operations in a batch ([`Writer::push`]) and hands it over with
//! [`Writer::submit`] (or when it reaches [`BATCH_LIMIT`]); the thread sleeps on a condition
//! variable while nothing is queued. [`Writer::wait_applied`] is the barrier every other use of
//! the same kernel object goes through. Failures are kept per key, only the last operation's:
//! an operation applied after a failed one of the same key supersedes it, whatever its outcome.

use std::collections::VecDeque;
use std::hash::Hash;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use rustc_hash::FxHashMap;

/// Operations per batch at most: the thread starts on a long run of operations after this many.
pub const BATCH_LIMIT: usize = 256;

/// Emptied batches kept for reuse.
const SPARE_BATCHES: usize = 8;

/// An operation the writer applies.
pub trait Queued: Copy + Send + 'static {
    /// What a later operation supersedes an earlier failed one by.
    type Key: Copy + Eq + Hash + Send + 'static;
    fn key(&self) -> Self::Key;
}

/// A failed operation, with its position in the order of all operations.
struct Failed<Op> {
    op: Op,
    error: io::Error,
    order: (u64, usize),
}

struct State<Op: Queued> {
    queue: VecDeque<Vec<Op>>,
    /// Applied batches, emptied, for the next submits: a batch allocated on one thread and freed
    /// on the other would take the allocator's locks of both.
    spare: Vec<Vec<Op>>,
    /// Batches submitted and batches applied, counted from the start.
    submitted: u64,
    applied: u64,
    failures: FxHashMap<Op::Key, Failed<Op>>,
    shutdown: bool,
    /// The thread waits for work: a submit must wake it (otherwise it finds the batch itself).
    idle: bool,
    /// Callers waiting for progress: an applied batch must wake them.
    waiting_for_progress: usize,
    /// Set when the thread has ended (normally or not), so that nobody waits for it any more.
    stopped: bool,
}

struct Shared<Op: Queued> {
    state: Mutex<State<Op>>,
    /// Signalled when a batch is queued or shutdown is asked for.
    work: Condvar,
    /// Signalled when a batch has been applied or the thread stopped.
    progress: Condvar,
}

impl<Op: Queued> Shared<Op> {
    fn lock(&self) -> MutexGuard<'_, State<Op>> {
        // The state stays consistent at every unlock: nothing panics while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The caller's end of a writer thread.
pub struct Writer<Op: Queued> {
    shared: Arc<Shared<Op>>,
    batch: Vec<Op>,
    thread: Option<JoinHandle<()>>,
}

impl<Op: Queued> std::fmt::Debug for Writer<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("batch", &self.batch.len()).finish_non_exhaustive()
    }
}

impl<Op: Queued> Writer<Op> {
    /// Starts a thread named `name` that applies each operation with `apply`.
    pub fn spawn<F>(name: &str, apply: F) -> io::Result<Self>
    where
        F: FnMut(&Op) -> io::Result<()> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                spare: Vec::new(),
                idle: false,
                waiting_for_progress: 0,
                submitted: 0,
                applied: 0,
                failures: FxHashMap::default(),
                shutdown: false,
                stopped: false,
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread =
            thread::Builder::new().name(name.to_owned()).spawn(move || run(&thread_shared, apply))?;
        Ok(Writer { shared, batch: Vec::with_capacity(BATCH_LIMIT), thread: Some(thread) })
    }

    /// Queues `op`; hands the batch over when it is full.
    pub fn push(&mut self, op: Op) {
        self.batch.push(op);
        if self.batch.len() >= BATCH_LIMIT {
            self.submit();
        }
    }

    /// Hands the operations queued so far to the thread.
    pub fn submit(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut state = self.shared.lock();
        let spare = state.spare.pop().unwrap_or_else(|| Vec::with_capacity(BATCH_LIMIT));
        let batch = std::mem::replace(&mut self.batch, spare);
        state.queue.push_back(batch);
        state.submitted += 1;
        let idle = state.idle;
        drop(state);
        if idle {
            self.shared.work.notify_one();
        }
    }

    /// Submits, then waits until every operation has been applied.
    pub fn wait_applied(&mut self) {
        self.submit();
        let mut state = self.shared.lock();
        while state.applied < state.submitted && !state.stopped {
            state.waiting_for_progress += 1;
            state = self.shared.progress.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.waiting_for_progress -= 1;
        }
    }

    /// The failed operations that no later operation of their key superseded, in order. When
    /// there are any, first waits until everything queued is applied, so that none is reported
    /// that a queued operation supersedes.
    pub fn take_failures(&mut self) -> Vec<(Op, io::Error)> {
        if self.shared.lock().failures.is_empty() {
            return Vec::new();
        }
        self.wait_applied();
        let mut failures: Vec<Failed<Op>> = self.shared.lock().failures.drain().map(|(_, f)| f).collect();
        failures.sort_unstable_by_key(|failed| failed.order);
        failures.into_iter().map(|failed| (failed.op, failed.error)).collect()
    }
}

impl<Op: Queued> Drop for Writer<Op> {
    /// Applies everything queued, then stops the thread and joins it.
    fn drop(&mut self) {
        self.wait_applied();
        self.shared.lock().shutdown = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic of the thread has been reported by the panic hook already.
            let _ = thread.join();
        }
    }
}

/// Marks the thread stopped when it ends, by return or by panic.
struct StopGuard<'a, Op: Queued>(&'a Shared<Op>);

impl<Op: Queued> Drop for StopGuard<'_, Op> {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.progress.notify_all();
    }
}

/// The thread: applies batches in order until shutdown.
fn run<Op: Queued>(shared: &Shared<Op>, mut apply: impl FnMut(&Op) -> io::Result<()>) {
    let _stop = StopGuard(shared);
    let mut state = shared.lock();
    loop {
        let Some(mut batch) = state.queue.pop_front() else {
            if state.shutdown {
                return;
            }
            state.idle = true;
            state = shared.work.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.idle = false;
            continue;
        };
        let number = state.applied;
        drop(state);
        let mut failed: Vec<(usize, io::Error)> = Vec::new();
        for (index, op) in batch.iter().enumerate() {
            if let Err(error) = apply(op) {
                failed.push((index, error));
            }
        }
        state = shared.lock();
        record_outcomes(&mut state.failures, &batch, failed, number);
        if state.spare.len() < SPARE_BATCHES {
            batch.clear();
            state.spare.push(batch);
        }
        state.applied += 1;
        if state.waiting_for_progress > 0 {
            shared.progress.notify_all();
        }
    }
}

/// Updates the failures with the outcomes of `batch` (`failed`: indexes in order), the
/// `number`th batch: a failed operation replaces its key's failure, one that succeeded clears it.
fn record_outcomes<Op: Queued>(
    failures: &mut FxHashMap<Op::Key, Failed<Op>>,
    batch: &[Op],
    failed: Vec<(usize, io::Error)>,
    number: u64,
) {
    if failures.is_empty() && failed.is_empty() {
        return;
    }
    let mut failed = failed.into_iter().peekable();
    for (index, op) in batch.iter().enumerate() {
        match failed.next_if(|(failed_index, _)| *failed_index == index) {
            Some((_, error)) => {
                failures.insert(op.key(), Failed { op: *op, error, order: (number, index) });
            }
            None if !failures.is_empty() => {
                failures.remove(&op.key());
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A test operation: key and value; odd values fail.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Put(u32, u32);

    impl Queued for Put {
        type Key = u32;
        fn key(&self) -> u32 {
            self.0
        }
    }

    /// A writer that records what it applied, and fails odd values with `EINVAL`.
    fn recording() -> (Writer<Put>, Arc<Mutex<Vec<Put>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread_log = Arc::clone(&log);
        let writer = Writer::spawn("test-writer", move |op: &Put| {
            thread_log.lock().unwrap().push(*op);
            if op.1 % 2 == 1 {
                Err(io::Error::from_raw_os_error(libc::EINVAL))
            } else {
                Ok(())
            }
        })
        .unwrap();
        (writer, log)
    }

    #[test]
    fn operations_are_applied_in_order_by_the_barrier() {
        let (mut writer, log) = recording();
        let ops: Vec<Put> = (0..(3 * BATCH_LIMIT as u32 + 7)).map(|i| Put(i % 100, 2 * i)).collect();
        for op in &ops {
            writer.push(*op);
        }
        // Full batches went on their own; the rest waits for the barrier.
        writer.wait_applied();
        assert_eq!(*log.lock().unwrap(), ops);
        assert!(writer.take_failures().is_empty());
    }

    #[test]
    fn operations_wait_in_the_batch_until_submitted() {
        let (mut writer, log) = recording();
        writer.push(Put(1, 2));
        assert_eq!(writer.shared.lock().submitted, 0);
        writer.submit();
        writer.submit();
        assert_eq!(writer.shared.lock().submitted, 1, "an empty batch is not handed over");
        writer.wait_applied();
        assert_eq!(*log.lock().unwrap(), vec![Put(1, 2)]);
    }

    #[test]
    fn failures_come_back_once_and_in_order() {
        let (mut writer, _log) = recording();
        for op in [Put(5, 1), Put(3, 2), Put(4, 3), Put(6, 4)] {
            writer.push(op);
        }
        writer.wait_applied();
        let failures = writer.take_failures();
        let failed: Vec<Put> = failures.iter().map(|(op, _)| *op).collect();
        assert_eq!(failed, vec![Put(5, 1), Put(4, 3)]);
        assert_eq!(failures[0].1.raw_os_error(), Some(libc::EINVAL));
        assert!(writer.take_failures().is_empty(), "taken once");
    }

    #[test]
    fn a_later_operation_of_the_key_supersedes_a_failure() {
        let (mut writer, _log) = recording();
        // In one batch: fails, then succeeds.
        writer.push(Put(1, 1));
        writer.push(Put(1, 2));
        // Across batches: fails, then succeeds.
        writer.push(Put(2, 1));
        writer.wait_applied();
        writer.push(Put(2, 4));
        // Succeeds, then fails: the failure stands.
        writer.push(Put(3, 2));
        writer.push(Put(3, 5));
        writer.wait_applied();
        let failed: Vec<Put> = writer.take_failures().into_iter().map(|(op, _)| op).collect();
        assert_eq!(failed, vec![Put(3, 5)]);
    }

    #[test]
    fn taking_failures_waits_for_queued_operations_of_the_key() {
        // The thread blocks on value 2 until the test lets it go.
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (reached_tx, reached_rx) = mpsc::channel::<()>();
        let mut writer = Writer::spawn("test-writer", move |op: &Put| {
            if op.1 == 2 {
                reached_tx.send(()).unwrap();
                gate_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            }
            if op.1 % 2 == 1 {
                Err(io::Error::from_raw_os_error(libc::EINVAL))
            } else {
                Ok(())
            }
        })
        .unwrap();
        writer.push(Put(7, 1));
        writer.wait_applied();
        writer.push(Put(8, 2));
        writer.submit();
        reached_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // Key 7's failure is recorded; an operation queued behind the blocked one supersedes it.
        writer.push(Put(7, 4));
        writer.submit();
        gate_tx.send(()).unwrap();
        assert!(writer.take_failures().is_empty());
    }

    #[test]
    fn dropping_applies_everything_queued() {
        let (mut writer, log) = recording();
        for i in 0..10 {
            writer.push(Put(i, 0));
        }
        drop(writer);
        assert_eq!(log.lock().unwrap().len(), 10);
    }
}
