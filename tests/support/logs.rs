//! Captures everything a test binary logs through `tracing`, so tests can assert on what
//! was (or was not) logged.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

/// Installs (once per test binary) a subscriber at `filter` writing into a shared buffer,
/// and returns the buffer. The first call's filter wins: a binary should use one.
pub fn captured_logs(filter: &str) -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        struct Sink(&'static Mutex<Vec<u8>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(move || Sink(logs))
            .try_init();
        logs
    })
}
