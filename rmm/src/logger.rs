// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console logger: writes each line ([`crate::log_line`]) whole, under a lock, with the
//! CPU index and the level in front.
//!
//! Several CPUs (and TF-A and the test hypervisor) share one UART, so a line is built in a
//! fixed buffer first and written in one go while holding the lock; long lines are cut with
//! a marker rather than split. No heap, no panics, no `core::fmt`.

use crate::arch::ConsoleSink;
use crate::log_line::{Arg, Level, Line, LineBuffer, LineSink, dec};

/// Logs through a [`ConsoleSink`], one locked whole line per call.
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

    /// Builds one line the way [`LineSink::write_line`] prints it:
    /// `RMM[<cpu>] <LEVEL> <text>`.
    pub fn format(cpu: usize, level: Level, text: &Line<'_>, out: &mut LineBuffer) {
        out.push_line(&crate::line_of!(
            "RMM[{}] {} {}",
            dec(cpu as u64),
            level.padded_name(),
            Arg::Line(text),
        ));
    }
}

impl<S: ConsoleSink> LineSink for ConsoleLogger<S> {
    fn write_line(&self, level: Level, text: &Line<'_>) {
        let mut line = LineBuffer::new();
        Self::format(self.sink.cpu_index(), level, text, &mut line);
        let _guard = self.lock.lock();
        self.sink.write_bytes(line.finish());
    }
}

/// The default level: boot banners and warnings, no per-call tracing.
pub const DEFAULT_LEVEL: Level = Level::Info;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::RecordingConsole;
    use crate::log_line::{LINE_CAPACITY, hex};

    #[test]
    fn a_line_has_the_cpu_and_the_padded_level_first() {
        let mut line = LineBuffer::new();
        ConsoleLogger::<RecordingConsole>::format(
            3,
            Level::Info,
            &crate::line_of!("hello {} at {}", dec(42), hex(0x1000)),
            &mut line,
        );
        assert_eq!(line.finish(), b"RMM[3] INFO  hello 42 at 0x1000\n");
    }

    #[test]
    fn the_logger_writes_whole_lines_to_its_sink_and_cuts_long_ones() {
        let logger = ConsoleLogger::new(RecordingConsole::default());
        logger.write_line(Level::Error, &crate::line_of!("broken: {}", dec(7)));
        let long = "x".repeat(2 * LINE_CAPACITY);
        logger.write_line(Level::Warn, &crate::line_of!("{}", long.as_str()));
        let output = logger.sink().output.lock().expect("not poisoned").clone();
        let text = String::from_utf8(output).expect("ASCII");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "RMM[0] ERROR broken: 7");
        assert!(lines[1].starts_with("RMM[0] WARN  xxx") && lines[1].ends_with("..."));
        assert_eq!(lines[1].len() + 1, LINE_CAPACITY);
        assert_eq!(lines.len(), 2);
    }
}
