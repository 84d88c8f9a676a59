//! Deadline-ordered shared video workers: K threads render, encode and send the video frames of
//! every session, the frame due first first.
//!
//! One video thread per session lets the kernel share the cores fairly, not by deadline: a frame
//! due now waits behind another session's frame due later. Here each session keeps its video
//! state (a [`VideoJob`]: renderer, encoders, viewers) but no thread of its own. Its session
//! thread sends commands through a [`VideoHandle`]; a session with pending commands sits in the
//! pool's ready queue exactly once, keyed by the wall-clock deadline of its oldest pending
//! command (a frame's due time; a control message's send time, so a session with only control
//! messages is handled promptly too). A worker takes the earliest-deadline session, hands it all
//! its pending commands at once ([`VideoJob::run`]: controls in order, of several frames only the
//! newest rendered), and puts it back in the queue when more arrived meanwhile. Never two workers
//! on one session at once. Dropping a session's handle ends it: a worker (or, once the pool is
//! shut down, the dropping thread) runs its last commands and drops the job.
//!
//! Steady state allocates nothing: the pending commands live in a `Vec` per session that is
//! swapped with a worker's own `Vec` (both keep their capacity), and the ready queue holds at
//! most one entry per session.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// A session's video side, run by the pool's workers (one at a time).
pub trait VideoJob: Send + 'static {
    /// What the session thread sends.
    type Cmd: Send + 'static;
    /// Handle the commands that arrived since the last call, in the order they were sent; leave
    /// `cmds` empty (drain it: its capacity is reused).
    fn run(&mut self, cmds: &mut Vec<Self::Cmd>);
}

/// Why the pool could not start.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Zero workers asked for.
    #[error("a video pool needs at least 1 worker thread (asked for {0})")]
    NoWorkers(usize),
    /// The OS refused a thread.
    #[error("cannot start video worker thread {index} of {workers}: {source}")]
    Spawn {
        /// Which worker.
        index: usize,
        /// How many were asked for.
        workers: usize,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Default worker count: the cores this process may use.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing pending, not in the ready queue.
    Idle,
    /// In the ready queue (once).
    Queued,
    /// A worker runs it; what arrives meanwhile waits for that worker to finish.
    Running,
}

/// A session's commands waiting for a worker.
struct Inbox<C> {
    cmds: Vec<C>,
    /// Deadline of the oldest pending command (the ready-queue key).
    due: Option<Instant>,
    state: State,
    /// The handle is gone: run what is pending, then drop the job.
    closed: bool,
}

struct Slot<J: VideoJob> {
    inbox: Mutex<Inbox<J::Cmd>>,
    job: Mutex<Option<J>>,
}

/// A ready-queue entry: earliest deadline first, then first come first.
struct Entry<T> {
    due: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        self.due == o.due && self.seq == o.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        // BinaryHeap is a max-heap: the earliest deadline (then the lowest seq) is the greatest.
        o.due.cmp(&self.due).then(o.seq.cmp(&self.seq))
    }
}

/// Earliest-deadline-first queue.
pub(crate) struct EdfQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> EdfQueue<T> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        EdfQueue {
            heap: BinaryHeap::with_capacity(n),
            seq: 0,
        }
    }
    pub(crate) fn push(&mut self, due: Instant, item: T) {
        self.seq += 1;
        self.heap.push(Entry {
            due,
            seq: self.seq,
            item,
        });
    }
    /// The entry due first (of equal deadlines, the one pushed first).
    pub(crate) fn pop(&mut self) -> Option<(Instant, T)> {
        self.heap.pop().map(|e| (e.due, e.item))
    }
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

struct Ready<J: VideoJob> {
    queue: EdfQueue<Arc<Slot<J>>>,
    shutdown: bool,
}

struct Shared<J: VideoJob> {
    ready: Mutex<Ready<J>>,
    wake: Condvar,
    /// Jobs registered and not yet dropped.
    sessions: AtomicUsize,
    workers: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A job that panicked leaves consistent queue state behind (every update is one assignment).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<J: VideoJob> Shared<J> {
    /// Pop the earliest-deadline session; blocks until one is ready or the pool is shut down and
    /// empty (`None`).
    fn next(&self) -> Option<Arc<Slot<J>>> {
        let mut r = lock(&self.ready);
        loop {
            if let Some((_, slot)) = r.queue.pop() {
                return Some(slot);
            }
            if r.shutdown {
                return None;
            }
            r = self.wake.wait(r).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Run one session taken from the queue: all its pending commands; re-queue it when more
    /// arrived meanwhile, drop its job once its handle is gone. `buf` is the worker's own
    /// command buffer (empty on entry and exit).
    fn process(&self, slot: &Arc<Slot<J>>, buf: &mut Vec<J::Cmd>) {
        let closed = {
            let mut inbox = lock(&slot.inbox);
            inbox.state = State::Running;
            inbox.due = None;
            std::mem::swap(&mut inbox.cmds, buf);
            inbox.closed
        };
        let mut job = lock(&slot.job);
        let mut failed = false;
        if let Some(j) = job.as_mut() {
            if !buf.is_empty() {
                // A job that panics loses its video (dropped below); the worker lives on for
                // the other sessions.
                failed = std::panic::catch_unwind(AssertUnwindSafe(|| j.run(buf))).is_err();
            }
        }
        buf.clear();
        if failed {
            tracing::error!("a video job panicked: its session gets no more video");
            if job.take().is_some() {
                self.sessions.fetch_sub(1, Relaxed);
            }
        }
        if closed {
            // The handle was gone before these commands were taken: nothing more can arrive.
            if job.take().is_some() {
                self.sessions.fetch_sub(1, Relaxed);
            }
            lock(&slot.inbox).state = State::Idle;
            return;
        }
        drop(job);
        let mut inbox = lock(&slot.inbox);
        if inbox.cmds.is_empty() && !inbox.closed {
            inbox.state = State::Idle;
            return;
        }
        // More arrived (or the handle went) while this worker ran it: back in the queue. Pushed
        // even after shutdown: the workers leave only once the queue is empty.
        inbox.state = State::Queued;
        let due = inbox.due.unwrap_or_else(Instant::now);
        let mut r = lock(&self.ready);
        r.queue.push(due, slot.clone());
        drop(r);
        drop(inbox);
        self.wake.notify_one();
    }

    fn worker(&self) {
        let mut buf = Vec::with_capacity(8);
        while let Some(slot) = self.next() {
            self.process(&slot, &mut buf);
        }
    }
}

/// K worker threads shared by all sessions; see the module docs.
pub struct VideoPool<J: VideoJob> {
    shared: Arc<Shared<J>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<J: VideoJob> VideoPool<J> {
    /// Start `workers` threads named `{name}-{k}`; room for `capacity` sessions in the ready
    /// queue without reallocating.
    pub fn new(workers: usize, name: &str, capacity: usize) -> Result<Self, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers(workers));
        }
        let pool = Self::idle(workers, capacity);
        for k in 0..workers {
            let sh = pool.shared.clone();
            match std::thread::Builder::new()
                .name(format!("{name}-{k}"))
                .spawn(move || sh.worker())
            {
                Ok(h) => lock(&pool.threads).push(h),
                Err(source) => {
                    pool.shutdown();
                    return Err(PoolError::Spawn {
                        index: k,
                        workers,
                        source,
                    });
                }
            }
        }
        Ok(pool)
    }

    /// A pool without threads (tests drive it with [`VideoPool::run_next`]).
    fn idle(workers: usize, capacity: usize) -> Self {
        VideoPool {
            shared: Arc::new(Shared {
                ready: Mutex::new(Ready {
                    queue: EdfQueue::with_capacity(capacity.max(1)),
                    shutdown: false,
                }),
                wake: Condvar::new(),
                sessions: AtomicUsize::new(0),
                workers,
            }),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Add a session's video job; the handle sends it commands, dropping it ends the job.
    pub fn register(&self, job: J) -> VideoHandle<J> {
        self.shared.sessions.fetch_add(1, Relaxed);
        VideoHandle {
            slot: Arc::new(Slot {
                inbox: Mutex::new(Inbox {
                    cmds: Vec::with_capacity(8),
                    due: None,
                    state: State::Idle,
                    closed: false,
                }),
                job: Mutex::new(Some(job)),
            }),
            pool: self.shared.clone(),
        }
    }

    /// Worker threads.
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// Sessions whose job is alive (registered, not yet dropped).
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(Relaxed)
    }

    /// Sessions waiting in the ready queue for a worker.
    pub fn queued(&self) -> usize {
        lock(&self.shared.ready).queue.len()
    }

    /// End the workers once the ready queue is empty and wait for them. Sessions still alive
    /// afterwards get no more video; dropping their handle drops their job on the spot.
    pub fn shutdown(&self) {
        lock(&self.shared.ready).shutdown = true;
        self.shared.wake.notify_all();
        let threads = std::mem::take(&mut *lock(&self.threads));
        let me = std::thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }

    /// Run the session due first on the calling thread; false when none is ready (tests).
    #[cfg(test)]
    fn run_next(&self) -> bool {
        let slot = lock(&self.shared.ready).queue.pop();
        match slot {
            Some((_, s)) => {
                self.shared.process(&s, &mut Vec::new());
                true
            }
            None => false,
        }
    }
}

impl<J: VideoJob> Drop for VideoPool<J> {
    fn drop(&mut self) {
        // Workers leave once the queue is empty; not joined here (a drop may run on an async
        // runtime thread), `shutdown` joins.
        lock(&self.shared.ready).shutdown = true;
        self.shared.wake.notify_all();
    }
}

/// A session's end of the pool: sends its job commands; dropping it ends the job.
pub struct VideoHandle<J: VideoJob> {
    slot: Arc<Slot<J>>,
    pool: Arc<Shared<J>>,
}

impl<J: VideoJob> VideoHandle<J> {
    /// Queue a command: `due` is a frame's wall-clock deadline, `None` for a control message
    /// (due now). False (the command dropped) once the pool is shut down.
    pub fn send(&self, cmd: J::Cmd, due: Option<Instant>) -> bool {
        let due = due.unwrap_or_else(Instant::now);
        let mut inbox = lock(&self.slot.inbox);
        if inbox.state == State::Idle {
            let mut r = lock(&self.pool.ready);
            if r.shutdown {
                return false;
            }
            r.queue.push(due, self.slot.clone());
            drop(r);
            inbox.state = State::Queued;
            inbox.due = Some(due);
            inbox.cmds.push(cmd);
            drop(inbox);
            self.pool.wake.notify_one();
            return true;
        }
        // Queued or running: the key is already set (queued) or set when the worker re-queues it.
        inbox.due = Some(inbox.due.map_or(due, |d| d.min(due)));
        inbox.cmds.push(cmd);
        true
    }
}

impl<J: VideoJob> Drop for VideoHandle<J> {
    fn drop(&mut self) {
        let mut inbox = lock(&self.slot.inbox);
        inbox.closed = true;
        if inbox.state != State::Idle {
            // The worker that has it (or will pop it) sees `closed` and drops the job.
            return;
        }
        let mut r = lock(&self.pool.ready);
        if !r.shutdown {
            inbox.state = State::Queued;
            r.queue.push(Instant::now(), self.slot.clone());
            drop(r);
            drop(inbox);
            self.pool.wake.notify_one();
            return;
        }
        drop(r);
        drop(inbox);
        // No workers any more: run what is left and drop the job here.
        let mut cmds = std::mem::take(&mut lock(&self.slot.inbox).cmds);
        let mut job = lock(&self.slot.job);
        if let Some(mut j) = job.take() {
            if !cmds.is_empty() {
                j.run(&mut cmds);
            }
            drop(j);
            self.pool.sessions.fetch_sub(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// (job id, commands of one run) of each run.
    type Log = Arc<Mutex<Vec<(u32, Vec<u32>)>>>;

    /// Records what it was asked to do.
    struct Rec {
        id: u32,
        log: Log,
        alive: Arc<()>,
    }

    impl VideoJob for Rec {
        type Cmd = u32;
        fn run(&mut self, cmds: &mut Vec<u32>) {
            let _ = &self.alive;
            assert!(!cmds.contains(&666), "job {} told to panic", self.id);
            self.log.lock().unwrap().push((self.id, cmds.to_vec()));
            cmds.clear();
        }
    }

    fn rec(id: u32, log: &Log, alive: &Arc<()>) -> Rec {
        Rec {
            id,
            log: log.clone(),
            alive: alive.clone(),
        }
    }

    /// An idle one-worker pool with jobs 1 and 2 registered, their log and liveness token.
    #[allow(clippy::type_complexity)]
    fn two_jobs() -> (
        VideoPool<Rec>,
        Log,
        Arc<()>,
        VideoHandle<Rec>,
        VideoHandle<Rec>,
    ) {
        let pool = VideoPool::idle(1, 2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let alive = Arc::new(());
        let (a, b) = (
            pool.register(rec(1, &log, &alive)),
            pool.register(rec(2, &log, &alive)),
        );
        (pool, log, alive, a, b)
    }

    #[test]
    fn edf_queue_pops_earliest_deadline_then_first_pushed() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let mut q = EdfQueue::with_capacity(4);
        q.push(ms(30), "c");
        q.push(ms(10), "a");
        q.push(ms(20), "b1");
        q.push(ms(20), "b2");
        q.push(ms(5), "first");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, ["first", "a", "b1", "b2", "c"]);
    }

    #[test]
    fn sessions_are_queued_once_and_run_earliest_deadline_first() {
        let pool = VideoPool::idle(1, 4);
        let log = Arc::new(Mutex::new(Vec::new()));
        let alive = Arc::new(());
        let (a, b, c) = (
            pool.register(rec(1, &log, &alive)),
            pool.register(rec(2, &log, &alive)),
            pool.register(rec(3, &log, &alive)),
        );
        let t = Instant::now() + Duration::from_secs(10);
        let ms = |n| t + Duration::from_millis(n);
        // Session 1's oldest frame is due last, session 2's first; several commands each.
        assert!(a.send(10, Some(ms(40))));
        assert!(a.send(11, Some(ms(80))));
        assert!(b.send(20, Some(ms(0))));
        assert!(b.send(21, None));
        assert!(b.send(22, Some(ms(40))));
        assert!(c.send(30, Some(ms(20))));
        assert_eq!(pool.queued(), 3, "one ready-queue entry per session");
        while pool.run_next() {}
        let got = log.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![(2, vec![20, 21, 22]), (3, vec![30]), (1, vec![10, 11])],
            "earliest oldest-pending deadline first, each session's commands in order"
        );
        assert_eq!(pool.queued(), 0);
    }

    #[test]
    fn a_control_message_alone_is_due_now() {
        let (pool, log, _alive, a, b) = two_jobs();
        assert!(a.send(1, Some(Instant::now() + Duration::from_millis(500))));
        assert!(b.send(2, None));
        while pool.run_next() {}
        assert_eq!(log.lock().unwrap()[0].0, 2);
    }

    #[test]
    fn dropping_a_handle_runs_its_last_commands_and_frees_the_job() {
        let pool = VideoPool::idle(1, 2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let alive = Arc::new(());
        let a = pool.register(rec(1, &log, &alive));
        let b = pool.register(rec(2, &log, &alive));
        assert_eq!((pool.sessions(), Arc::strong_count(&alive)), (2, 3));
        a.send(7, None);
        drop(a);
        assert_eq!(pool.queued(), 1);
        while pool.run_next() {}
        assert_eq!(log.lock().unwrap().clone(), vec![(1, vec![7])]);
        assert_eq!((pool.sessions(), Arc::strong_count(&alive)), (1, 2));
        // An idle handle dropped: queued once, freed by the worker.
        drop(b);
        while pool.run_next() {}
        assert_eq!((pool.sessions(), Arc::strong_count(&alive)), (0, 1));
    }

    #[test]
    fn threads_serve_many_sessions_and_shut_down() {
        let pool = VideoPool::new(2, "test-video", 8).unwrap();
        assert_eq!(pool.workers(), 2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let alive = Arc::new(());
        let handles: Vec<_> = (0..5)
            .map(|i| pool.register(rec(i, &log, &alive)))
            .collect();
        for n in 0..50u32 {
            for h in &handles {
                assert!(h.send(n, Some(Instant::now())));
            }
        }
        drop(handles);
        let t0 = Instant::now();
        while pool.sessions() > 0 && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pool.sessions(), 0);
        assert_eq!(Arc::strong_count(&alive), 1);
        // Every session got all its commands, in order.
        let log = log.lock().unwrap();
        for i in 0..5 {
            let seen: Vec<u32> = log
                .iter()
                .filter(|(id, _)| *id == i)
                .flat_map(|(_, c)| c.iter().copied())
                .collect();
            assert_eq!(seen, (0..50).collect::<Vec<_>>(), "session {i}");
        }
        drop(log);
        pool.shutdown();
        // After shutdown: sends are refused, a dropped handle frees its job on the spot.
        let h = pool.register(rec(9, &Arc::new(Mutex::new(Vec::new())), &alive));
        assert!(!h.send(1, None));
        drop(h);
        assert_eq!((pool.sessions(), Arc::strong_count(&alive)), (0, 1));
    }

    #[test]
    fn a_panicking_job_is_dropped_and_the_others_go_on() {
        let (pool, log, alive, a, b) = two_jobs();
        a.send(666, None);
        b.send(5, None);
        while pool.run_next() {}
        assert_eq!((pool.sessions(), Arc::strong_count(&alive)), (1, 2));
        // The dead session's later commands go nowhere; the other one is still served.
        a.send(1, None);
        b.send(6, None);
        while pool.run_next() {}
        assert_eq!(
            log.lock().unwrap().clone(),
            vec![(2, vec![5]), (2, vec![6])]
        );
        drop((a, b));
        while pool.run_next() {}
        assert_eq!((pool.sessions(), Arc::strong_count(&alive)), (0, 1));
    }

    #[test]
    fn zero_workers_is_an_error() {
        assert!(matches!(
            VideoPool::<Rec>::new(0, "x", 1),
            Err(PoolError::NoWorkers(0))
        ));
    }
}
