//! Dynamic batching: concurrent embedding calls join one batch.
//!
//! A transformer amortises its fixed per-call costs over a batch (on a 2-core AVX2 machine,
//! a batch of 32 short texts embeds about 3× more texts per second than 32 batches of one),
//! but a server's callers arrive one text at a time. [`BatchingEmbedder`] queues every call
//! and lets one worker thread run what is queued as one batch: the first waiting call opens a
//! batch, further calls join it until it holds [`BatchLimits::max_texts`] texts or
//! [`BatchLimits::max_wait`] has passed, and each caller gets its own vectors back, in its
//! own order. While the worker runs a batch the next one fills, so under load batches form
//! without any waiting; an idle engram pays at most `max_wait` once per call.
//! Text-embeddings-inference batches the same way (its `queue.rs` and `infer.rs`).
//!
//! The vectors are those the wrapped embedder gives each text on its own: batching changes
//! only which texts are padded together, and padding is masked out of attention and pooling.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Embedder;
use super::error::{EmbedError, Result};

/// How large a batch may grow and how long its first call may wait for company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Texts in one batch at most; a call with more texts than this runs on its own, on the
    /// caller's thread. Default: 32, the sentence embedder's own batch size.
    pub max_texts: usize,
    /// How long the first call of a batch waits for others to join it. Default: 2 ms.
    pub max_wait: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_texts: 32,
            max_wait: Duration::from_millis(2),
        }
    }
}

/// Counters of a [`BatchingEmbedder`] since it started: how well calls were batched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Calls that went through the queue.
    pub calls: u64,
    /// Batches the worker ran for them.
    pub batches: u64,
    /// Texts in those batches.
    pub texts: u64,
}

/// One queued call: its texts and where its vectors go.
struct Job {
    texts: Vec<String>,
    reply: mpsc::SyncSender<Result<Vec<Vec<f32>>>>,
}

/// An [`Embedder`] that runs concurrent calls to `inner` as shared batches (see the module
/// documentation). Cheap to share: the worker thread ends when the embedder is dropped.
pub struct BatchingEmbedder {
    inner: Arc<dyn Embedder>,
    jobs: mpsc::Sender<Job>,
    limits: BatchLimits,
    stats: Arc<Mutex<BatchStats>>,
}

impl std::fmt::Debug for BatchingEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchingEmbedder")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl BatchingEmbedder {
    /// Batches the calls to `inner` within `limits`; starts the worker thread.
    pub fn new(inner: Arc<dyn Embedder>, limits: BatchLimits) -> Result<Self> {
        if limits.max_texts == 0 {
            return Err(EmbedError::InvalidOption(
                "a batch must hold at least 1 text".into(),
            ));
        }
        let (jobs, queue) = mpsc::channel();
        let stats = Arc::new(Mutex::new(BatchStats::default()));
        let worker = Worker {
            inner: Arc::clone(&inner),
            queue,
            limits,
            stats: Arc::clone(&stats),
        };
        std::thread::Builder::new()
            .name("engram-embed-batch".into())
            .spawn(move || worker.run())
            .map_err(|error| {
                EmbedError::InvalidOption(format!("cannot start the batching thread: {error}"))
            })?;
        Ok(Self {
            inner,
            jobs,
            limits,
            stats,
        })
    }

    /// The limits batches are formed within.
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Calls, batches and texts so far.
    pub fn stats(&self) -> BatchStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Embedder for BatchingEmbedder {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        if texts.len() >= self.limits.max_texts {
            // Already a full batch: queueing it would only hold up the calls behind it.
            return self.inner.embed_batch(texts);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            texts: texts.iter().map(|t| (*t).to_owned()).collect(),
            reply,
        };
        self.jobs.send(job).map_err(|_| worker_gone())?;
        answer.recv().map_err(|_| worker_gone())?
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
}

fn worker_gone() -> EmbedError {
    EmbedError::InvalidOption("the embedding batch thread stopped; restart engram".into())
}

/// The thread that forms and runs batches.
struct Worker {
    inner: Arc<dyn Embedder>,
    queue: mpsc::Receiver<Job>,
    limits: BatchLimits,
    stats: Arc<Mutex<BatchStats>>,
}

impl Worker {
    fn run(self) {
        let mut carried: Option<Job> = None;
        loop {
            let first = match carried.take() {
                Some(job) => job,
                None => match self.queue.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
            };
            let mut texts = first.texts.len();
            let mut batch = vec![first];
            let deadline = Instant::now() + self.limits.max_wait;
            while texts < self.limits.max_texts {
                let wait = deadline.saturating_duration_since(Instant::now());
                let next = match self.queue.try_recv() {
                    Ok(job) => job,
                    Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) if wait.is_zero() => break,
                    Err(mpsc::TryRecvError::Empty) => match self.queue.recv_timeout(wait) {
                        Ok(job) => job,
                        Err(_) => break,
                    },
                };
                if texts + next.texts.len() > self.limits.max_texts {
                    carried = Some(next);
                    break;
                }
                texts += next.texts.len();
                batch.push(next);
            }
            self.run_batch(batch, texts);
        }
    }

    /// Embeds every job's texts in one call and hands each job its share. If the shared
    /// call fails, each job runs on its own, so one bad text fails only its own caller.
    fn run_batch(&self, batch: Vec<Job>, texts: usize) {
        {
            let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            stats.calls += batch.len() as u64;
            stats.batches += 1;
            stats.texts += texts as u64;
        }
        if let [job] = batch.as_slice() {
            let _ = job.reply.send(self.embed(&job.texts));
            return;
        }
        let all: Vec<String> = batch.iter().flat_map(|j| j.texts.iter().cloned()).collect();
        match self.embed(&all) {
            Ok(vectors) if vectors.len() == all.len() => {
                let mut vectors = vectors.into_iter();
                for job in batch {
                    let share = vectors.by_ref().take(job.texts.len()).collect();
                    let _ = job.reply.send(Ok(share));
                }
            }
            _ => {
                for job in batch {
                    let _ = job.reply.send(self.embed(&job.texts));
                }
            }
        }
    }

    /// The wrapped embedder's answer; a panic in it becomes an error for the callers
    /// instead of ending the thread that serves every caller.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.inner.embed_batch(&refs)
        }))
        .unwrap_or_else(|_| {
            Err(EmbedError::InvalidOption(
                "the embedder panicked on this batch".into(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    /// A slow embedder that records the size of every batch it is given; a text's vector
    /// is its length and its first byte, so answers can be checked for the right owner.
    struct Recording {
        batches: Mutex<Vec<usize>>,
        delay: Duration,
    }

    impl Embedder for Recording {
        fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            if texts.contains(&"poison") {
                return Err(EmbedError::Tokenizer {
                    message: "poisoned".into(),
                });
            }
            self.batches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(texts.len());
            std::thread::sleep(self.delay);
            Ok(texts
                .iter()
                .map(|t| vec![t.len() as f32, f32::from(t.bytes().next().unwrap_or(0))])
                .collect())
        }

        fn dimension(&self) -> usize {
            2
        }
    }

    fn recording(delay_ms: u64) -> Arc<Recording> {
        Arc::new(Recording {
            batches: Mutex::new(Vec::new()),
            delay: Duration::from_millis(delay_ms),
        })
    }

    #[test]
    fn concurrent_calls_share_batches_and_get_their_own_vectors_back() {
        let inner = recording(30);
        let limits = BatchLimits {
            max_texts: 8,
            max_wait: Duration::from_millis(5),
        };
        let batcher = Arc::new(BatchingEmbedder::new(inner.clone(), limits).expect("batcher"));
        let callers = 12;
        let barrier = Arc::new(Barrier::new(callers));
        let threads: Vec<_> = (0..callers)
            .map(|n| {
                let (batcher, barrier) = (Arc::clone(&batcher), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    // Caller n sends two texts that say who it is.
                    let a = format!("{}{}", char::from(b'a' + n as u8), "x".repeat(n));
                    let b = format!("{}{}", char::from(b'A' + n as u8), "y".repeat(2 * n));
                    barrier.wait();
                    let got = batcher.embed_batch(&[&a, &b]).expect("embed");
                    (n, a, b, got)
                })
            })
            .collect();
        for thread in threads {
            let (n, a, b, got) = thread.join().expect("caller");
            assert_eq!(got.len(), 2, "caller {n}");
            assert_eq!(got[0], vec![a.len() as f32, f32::from(a.as_bytes()[0])]);
            assert_eq!(got[1], vec![b.len() as f32, f32::from(b.as_bytes()[0])]);
        }
        let batches = inner.batches.lock().expect("batches").clone();
        assert_eq!(batches.iter().sum::<usize>(), 2 * callers);
        assert!(batches.iter().all(|&n| n <= 8), "{batches:?}");
        assert!(
            batches.len() < callers,
            "12 concurrent calls ran as {batches:?}"
        );
        let stats = batcher.stats();
        assert_eq!(stats.calls, callers as u64);
        assert_eq!(stats.texts, 2 * callers as u64);
        assert_eq!(stats.batches, batches.len() as u64);
    }

    #[test]
    fn a_bad_text_fails_only_its_own_call() {
        let inner = recording(20);
        let limits = BatchLimits {
            max_texts: 32,
            max_wait: Duration::from_millis(50),
        };
        let batcher = Arc::new(BatchingEmbedder::new(inner, limits).expect("batcher"));
        let threads: Vec<_> = ["fine", "poison", "also fine"]
            .into_iter()
            .map(|text| {
                let batcher = Arc::clone(&batcher);
                std::thread::spawn(move || (text, batcher.embed(text)))
            })
            .collect();
        for thread in threads {
            let (text, got) = thread.join().expect("caller");
            match text {
                "poison" => assert!(got.is_err(), "the poisoned text must fail"),
                _ => assert_eq!(got.expect("embed")[0], text.len() as f32),
            }
        }
    }

    #[test]
    fn full_batches_bypass_the_queue_and_empty_calls_cost_nothing() {
        let inner = recording(0);
        let limits = BatchLimits {
            max_texts: 4,
            max_wait: Duration::from_millis(1),
        };
        let batcher = BatchingEmbedder::new(inner.clone(), limits).expect("batcher");
        assert!(batcher.embed_batch(&[]).expect("empty").is_empty());
        let texts = ["a", "bb", "ccc", "dddd", "eeeee"];
        let got = batcher.embed_batch(&texts).expect("embed");
        assert_eq!(got.len(), 5);
        assert_eq!(batcher.stats().calls, 0, "a full batch skips the queue");
        assert_eq!(*inner.batches.lock().expect("batches"), vec![5]);
        assert!(
            BatchingEmbedder::new(
                inner,
                BatchLimits {
                    max_texts: 0,
                    max_wait: Duration::ZERO
                }
            )
            .is_err()
        );
    }
}
