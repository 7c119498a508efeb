// SPDX-License-Identifier: MIT OR Apache-2.0
//! A `log` backend that writes each record as one whole line, under a lock, with the CPU index.
//!
//! Several CPUs (and TF-A and the test hypervisor) share one UART, so a record is formatted
//! into a fixed line buffer first and written in one go while holding the lock; long records
//! are truncated with a marker rather than split. No heap, no panics.

use crate::arch::ConsoleSink;
use core::fmt::{self, Write};
use log::{Level, LevelFilter, Metadata, Record};

/// Longest line written; longer records are cut and end in `...`.
pub const LINE_CAPACITY: usize = 200;

/// A fixed buffer that formats one line.
pub struct LineBuffer {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
    truncated: bool,
}

impl LineBuffer {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            bytes: [0; LINE_CAPACITY],
            len: 0,
            truncated: false,
        }
    }

    /// The finished line, ending in `\n` (with `...` before it if truncated).
    pub fn finish(&mut self) -> &[u8] {
        const MARK: &[u8] = b"...\n";
        if self.truncated || self.len + 1 > LINE_CAPACITY {
            self.len = self.len.min(LINE_CAPACITY - MARK.len());
            self.bytes[self.len..self.len + MARK.len()].copy_from_slice(MARK);
            self.len += MARK.len();
        } else {
            self.bytes[self.len] = b'\n';
            self.len += 1;
        }
        &self.bytes[..self.len]
    }
}

impl Default for LineBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep one byte for the newline.
        let room = LINE_CAPACITY - 1 - self.len;
        let take = s.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.truncated = true;
        }
        Ok(())
    }
}

/// Logs through a [`ConsoleSink`], one locked whole line per record.
pub struct ConsoleLogger<S: ConsoleSink> {
    sink: S,
    lock: spin::Mutex<()>,
}

impl<S: ConsoleSink> ConsoleLogger<S> {
    /// A logger over `sink`.
    pub const fn new(sink: S) -> Self {
        Self {
            sink,
            lock: spin::Mutex::new(()),
        }
    }

    /// The sink, for reconfiguring (for example switching to the manifest's console).
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Formats one record the way [`log::Log::log`] prints it.
    pub fn format(cpu: usize, level: Level, args: &fmt::Arguments<'_>, line: &mut LineBuffer) {
        let _ = write!(line, "RMM[{cpu}] {level:<5} {args}");
    }
}

impl<S: ConsoleSink> log::Log for ConsoleLogger<S> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut line = LineBuffer::new();
        Self::format(
            self.sink.cpu_index(),
            record.level(),
            record.args(),
            &mut line,
        );
        let _guard = self.lock.lock();
        self.sink.write_bytes(line.finish());
    }

    fn flush(&self) {}
}

/// The default level: boot banners and warnings, no per-call tracing.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::Info;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_end_in_newline() {
        let mut line = LineBuffer::new();
        ConsoleLogger::<crate::arch::fake::RecordingConsole>::format(
            3,
            Level::Info,
            &format_args!("hello {}", 42),
            &mut line,
        );
        assert_eq!(line.finish(), b"RMM[3] INFO  hello 42\n");
    }

    #[test]
    fn long_lines_are_truncated_with_a_marker_and_never_overflow() {
        let mut line = LineBuffer::new();
        let long = "x".repeat(3 * LINE_CAPACITY);
        let _ = write!(line, "{long}");
        let out = line.finish();
        assert_eq!(out.len(), LINE_CAPACITY);
        assert!(out.ends_with(b"...\n"));
    }

    #[test]
    fn exactly_full_line_still_fits() {
        let mut line = LineBuffer::new();
        let fits = "y".repeat(LINE_CAPACITY - 1);
        let _ = write!(line, "{fits}");
        let out = line.finish();
        assert_eq!(out.len(), LINE_CAPACITY);
        assert!(out.ends_with(b"y\n"));
    }
}
