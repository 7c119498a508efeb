// SPDX-License-Identifier: MIT OR Apache-2.0
//! The monitor's log lines, without `core::fmt`: levels, a line's template and arguments, the
//! fixed buffer they are written into, and the one global place lines go.
//!
//! A line is a template with a `{}` for each argument ([`Line`], [`Arg`]: text, decimal and
//! hexadecimal numbers, an error's own line) that [`LineBuffer`] writes with a few
//! fixed-format writers. Formatting through `core::fmt` cost the firmware about 5 KiB of
//! code (its padding and integer machinery, a `Display` impl per error, an argument table at
//! every call site), for lines that only ever print text and numbers (`docs/benchmarks.md`,
//! "The lean monitor, eighth steps").
//!
//! Where the lines go is a [`LineSink`] installed once ([`set_sink`]); the firmware installs
//! the console logger (`logger`), host tests a recorder. This file is a leaf: it imports
//! nothing of the monitor, so every floor, `arch` included, may log through it. It may not
//! touch a device or a lock itself.

use core::sync::atomic::{AtomicU8, Ordering};

/// How severe a line is. Lower is more severe: a line is written when its level is at most
/// the maximum level ([`set_max_level`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed; the monitor goes on without it, or this CPU stops.
    Error = 1,
    /// Something a person should look at (test-only fault injection, say).
    Warn = 2,
    /// Boot banners and what the boot found: the default maximum.
    Info = 3,
    /// Per-call detail, off by default.
    Debug = 4,
    /// Everything, off by default.
    Trace = 5,
}

impl Level {
    /// The level's name as lines show it, padded to five characters.
    pub const fn padded_name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// One value a line's template shows at a `{}`.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Text as it is.
    Str(&'a str),
    /// An unsigned number in decimal.
    Dec(u64),
    /// A signed number in decimal.
    Int(i64),
    /// A number in hexadecimal with `0x` and no leading zeros (`{:#x}`).
    Hex(u64),
    /// A number in hexadecimal with `0x` and at least `digits` digits (`{:#018x}` is 16).
    HexDigits(u64, u8),
    /// A line of its own inside this one (an error's description).
    Line(&'a Line<'a>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Str(text)
    }
}

/// A line: a template whose every `{}` shows the next argument. A template cannot print
/// `{}` itself; the `log_*!` macros check at compile time that the counts match.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    template: &'a str,
    args: &'a [Arg<'a>],
}

impl<'a> Line<'a> {
    /// `template` with `args` at its `{}`s (missing arguments show as nothing, extra ones
    /// are not shown).
    pub const fn new(template: &'a str, args: &'a [Arg<'a>]) -> Self {
        Self { template, args }
    }
}

/// A line that owns its arguments: an error's description, returned by value and shown
/// inside a log line with `Arg::Line(&message.line())`.
#[derive(Debug, Clone, Copy)]
pub struct Message<const N: usize> {
    template: &'static str,
    args: [Arg<'static>; N],
}

impl<const N: usize> Message<N> {
    /// `template` with `args` at its `{}`s. Every marker has its argument (checked in debug
    /// builds, where the host tests render the messages); arguments beyond the markers pad a
    /// message to the fixed count its error type returns, and are not shown.
    pub const fn new(template: &'static str, args: [Arg<'static>; N]) -> Self {
        debug_assert!(markers(template) <= N, "a message's marker has no argument");
        Self { template, args }
    }

    /// The line to show.
    pub fn line(&self) -> Line<'_> {
        Line::new(self.template, &self.args)
    }
}

/// How many `{}` `template` holds (for the macros' compile-time check).
pub const fn markers(template: &str) -> usize {
    let bytes = template.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && bytes[i + 1] == b'}' {
            count += 1;
            i += 1;
        }
        i += 1;
    }
    count
}

/// An unsigned number in decimal.
pub const fn dec(value: u64) -> Arg<'static> {
    Arg::Dec(value)
}

/// A signed number in decimal.
pub const fn int(value: i64) -> Arg<'static> {
    Arg::Int(value)
}

/// A number in hexadecimal, `0x` first (`{:#x}`).
pub const fn hex(value: u64) -> Arg<'static> {
    Arg::Hex(value)
}

/// A 64-bit register value: `0x` and all 16 digits (`{:#018x}`).
pub const fn hex64(value: u64) -> Arg<'static> {
    Arg::HexDigits(value, 16)
}

/// A byte: `0x` and two digits (`{:#04x}`).
pub const fn hex8(value: u64) -> Arg<'static> {
    Arg::HexDigits(value, 2)
}

/// Longest line written, its newline included; longer lines are cut and end in `...`.
pub const LINE_CAPACITY: usize = 200;

/// A fixed buffer that builds one line. Never overflows: what does not fit is cut.
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

    /// Appends `text`, cut if the line is full (one byte always stays for the newline).
    pub fn push_str(&mut self, text: &str) {
        self.push_bytes(text.as_bytes());
    }

    /// Out of line: every writer above ends here, and inlined into each it was most of the
    /// formatting code.
    #[inline(never)]
    fn push_bytes(&mut self, bytes: &[u8]) {
        // `len` never passes the last byte (kept for the newline); taking the minimum lets
        // the compiler see it, so the copy carries no bounds-check panic.
        let start = self.len.min(LINE_CAPACITY - 1);
        let take = bytes.len().min(LINE_CAPACITY - 1 - start);
        if let (Some(to), Some(from)) = (self.bytes.get_mut(start..start + take), bytes.get(..take))
        {
            to.copy_from_slice(from);
        }
        self.len = start + take;
        if take < bytes.len() {
            self.truncated = true;
        }
    }

    /// Appends `line`: its template with each `{}` replaced by the next argument. A line
    /// inside a line is written one level deep; deeper ones show as `...`, so no line
    /// recurses without bound.
    pub fn push_line(&mut self, line: &Line<'_>) {
        self.push_line_at(line, 0);
    }

    #[inline(never)]
    fn push_line_at(&mut self, line: &Line<'_>, depth: usize) {
        let mut rest = line.template.as_bytes();
        let mut args = line.args.iter();
        while let Some(at) = rest.iter().position(|&byte| byte == b'{') {
            if rest.get(at + 1) != Some(&b'}') {
                self.push_bytes(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            }
            self.push_bytes(&rest[..at]);
            rest = &rest[at + 2..];
            match args.next() {
                Some(Arg::Line(inner)) if depth == 0 => self.push_line_at(inner, 1),
                Some(Arg::Line(_)) => self.push_str("..."),
                Some(arg) => self.push_arg(*arg),
                None => {}
            }
        }
        self.push_bytes(rest);
    }

    fn push_arg(&mut self, arg: Arg<'_>) {
        match arg {
            Arg::Str(text) => self.push_str(text),
            Arg::Line(_) => {}
            Arg::Dec(value) => self.push_decimal(value),
            Arg::Int(value) => {
                if value < 0 {
                    self.push_str("-");
                }
                self.push_decimal(value.unsigned_abs());
            }
            Arg::Hex(value) => self.push_hex(value, 1),
            Arg::HexDigits(value, digits) => self.push_hex(value, usize::from(digits)),
        }
    }

    /// `value` in decimal.
    fn push_decimal(&mut self, mut value: u64) {
        // u64::MAX has 20 decimal digits.
        let mut digits = [0; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 || start == 0 {
                break;
            }
        }
        self.push_bytes(&digits[start..]);
    }

    /// `0x` and `value` in lower-case hexadecimal, at least `min_digits` (1 to 16) digits.
    fn push_hex(&mut self, value: u64, min_digits: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Digits the value needs (none for 0), at least `min_digits`: a loop of that many
        // steps, where a loop until the value ran out was unrolled sixteen times.
        let needed = 16 - value.leading_zeros() as usize / 4;
        let count = needed.max(min_digits.clamp(1, 16));
        let mut digits = *b"0x0000000000000000";
        for (i, digit) in digits[2..2 + count].iter_mut().rev().enumerate() {
            *digit = HEX[((value >> (4 * i)) & 0xf) as usize];
        }
        self.push_bytes(&digits[..2 + count]);
    }

    /// The text so far (no newline).
    pub fn text(&self) -> &str {
        // Only whole `&str`s and ASCII digits are pushed, but a cut can split a character:
        // keep the longest valid prefix.
        match core::str::from_utf8(&self.bytes[..self.len]) {
            Ok(text) => text,
            Err(error) => {
                core::str::from_utf8(&self.bytes[..error.valid_up_to()]).unwrap_or_default()
            }
        }
    }

    /// The finished line, ending in `\n` (with `...` before it if it was cut).
    pub fn finish(&mut self) -> &[u8] {
        const MARK: &[u8] = b"...\n";
        // `get`s, with `len` kept below the capacity: no bounds-check panic on the way out.
        let (at, end) = if self.truncated {
            let at = self.len.min(LINE_CAPACITY - MARK.len());
            (at, MARK)
        } else {
            (self.len.min(LINE_CAPACITY - 1), &MARK[MARK.len() - 1..])
        };
        if let Some(to) = self.bytes.get_mut(at..at + end.len()) {
            to.copy_from_slice(end);
        }
        self.len = at + end.len();
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl Default for LineBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// Where lines go.
pub trait LineSink: Sync {
    /// Writes one line at `level` (already checked against the maximum level).
    fn write_line(&self, level: Level, line: &Line<'_>);
}

/// The most detailed level compiled in: lines below it are not in the image at all (the
/// `log-*` features; otherwise [`Level::Info`] in the firmware, whose maximum level never
/// changes at run time, and everything in host builds).
pub const STATIC_MAX_LEVEL: u8 = if cfg!(feature = "log-off") {
    0
} else if cfg!(feature = "log-error") {
    Level::Error as u8
} else if cfg!(feature = "log-warn") {
    Level::Warn as u8
} else if cfg!(target_os = "none") {
    Level::Info as u8
} else {
    Level::Trace as u8
};

static SINK: spin::Once<&'static dyn LineSink> = spin::Once::new();
static MAX_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Installs where lines go; the first sink installed stays (later calls return `false`).
pub fn set_sink(sink: &'static dyn LineSink) -> bool {
    let mut installed = false;
    SINK.call_once(|| {
        installed = true;
        sink
    });
    installed
}

/// Lines above `level` are dropped at run time. The default is [`Level::Info`] (and no
/// line above [`STATIC_MAX_LEVEL`] is compiled in).
pub fn set_max_level(level: Level) {
    MAX_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a line at `level` is written.
pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Writes one line at `level` to the installed sink (nowhere before one is installed).
/// Out of line: a log call costs its arguments and a call.
#[inline(never)]
pub fn emit(level: Level, line: &Line<'_>) {
    if enabled(level)
        && let Some(sink) = SINK.get()
    {
        sink.write_line(level, line);
    }
}

/// A [`Line`] from a literal template and its arguments (each an [`Arg`] or a `&str`, one
/// per `{}`, checked when the crate compiles): `line_of!("bank {}: {} MiB", dec(i), dec(n))`.
#[macro_export]
macro_rules! line_of {
    ($template:literal $(, $arg:expr)* $(,)?) => {
        $crate::log_line::Line::new(
            {
                const TEMPLATE: &str = $template;
                const {
                    assert!(
                        $crate::log_line::markers(TEMPLATE)
                            == [$($crate::line_of!(@one $arg)),*].len(),
                        "a line's markers and its arguments do not match"
                    )
                };
                TEMPLATE
            },
            &[$($crate::log_line::Arg::from($arg)),*],
        )
    };
    (@one $arg:expr) => {
        ()
    };
}

/// Logs one line at a level: `log_at!(Level::Info, "bank {}: {} MiB", dec(i), dec(mib))`
/// (the template and arguments as [`line_of!`] takes them).
#[macro_export]
macro_rules! log_at {
    ($level:expr, $($line:tt)+) => {
        if $level as u8 <= $crate::log_line::STATIC_MAX_LEVEL {
            $crate::log_line::emit($level, &$crate::line_of!($($line)+))
        }
    };
}

/// Logs one line at [`Level::Error`] (see [`log_at!`]).
#[macro_export]
macro_rules! log_error {
    ($($tokens:tt)+) => { $crate::log_at!($crate::log_line::Level::Error, $($tokens)+) };
}

/// Logs one line at [`Level::Warn`] (see [`log_at!`]).
#[macro_export]
macro_rules! log_warn {
    ($($tokens:tt)+) => { $crate::log_at!($crate::log_line::Level::Warn, $($tokens)+) };
}

/// Logs one line at [`Level::Info`] (see [`log_at!`]).
#[macro_export]
macro_rules! log_info {
    ($($tokens:tt)+) => { $crate::log_at!($crate::log_line::Level::Info, $($tokens)+) };
}

/// Logs one line at [`Level::Debug`] (see [`log_at!`]).
#[macro_export]
macro_rules! log_debug {
    ($($tokens:tt)+) => { $crate::log_at!($crate::log_line::Level::Debug, $($tokens)+) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, args: &[Arg<'_>]) -> String {
        let mut line = LineBuffer::new();
        line.push_line(&Line::new(template, args));
        line.text().to_string()
    }

    #[test]
    fn numbers_read_as_core_fmt_writes_them() {
        for value in [0, 1, 9, 10, 255, 0x1000, 0xdead_beef, u64::MAX, 1 << 63] {
            assert_eq!(render("{}", &[dec(value)]), format!("{value}"));
            assert_eq!(render("{}", &[hex(value)]), format!("{value:#x}"));
            assert_eq!(render("{}", &[hex64(value)]), format!("{value:#018x}"));
            assert_eq!(render("{}", &[hex8(value)]), format!("{value:#04x}"));
        }
        for value in [0, 1, -1, 42, -42, i64::MIN, i64::MAX] {
            assert_eq!(render("{}", &[int(value)]), format!("{value}"));
        }
    }

    #[test]
    fn the_template_shows_each_argument_at_its_marker() {
        assert_eq!(
            render(
                "bank {}: {}..{} ({} MiB){}",
                &[
                    dec(0),
                    hex(0x4000_0000),
                    hex(0x8000_0000),
                    dec(1024),
                    "".into()
                ]
            ),
            "bank 0: 0x40000000..0x80000000 (1024 MiB)"
        );
        assert_eq!(render("no markers, {no} {", &[]), "no markers, {no} {");
        // Missing arguments show as nothing, extra ones not at all.
        assert_eq!(render("{} and {}", &["one".into()]), "one and ");
        assert_eq!(render("{}", &["one".into(), "two".into()]), "one");
        assert_eq!(markers("{} {}{}, {x} {"), 3);
    }

    #[test]
    fn a_line_inside_a_line_is_shown_one_level_deep() {
        let status = [int(-3)];
        let inner = Line::new("EL3 refused (status {})", &status);
        let inner_arg = [Arg::Line(&inner)];
        let deeper = Line::new("[{}]", &inner_arg);
        assert_eq!(
            render(
                "attestation unavailable: {}; {}",
                &[Arg::Line(&inner), Arg::Line(&deeper)]
            ),
            "attestation unavailable: EL3 refused (status -3); [...]"
        );
    }

    #[test]
    fn short_lines_end_in_one_newline() {
        let mut line = LineBuffer::new();
        line.push_line(&Line::new("hello {}", &[dec(42)]));
        assert_eq!(line.finish(), b"hello 42\n");
    }

    #[test]
    fn long_lines_are_cut_with_a_marker_and_never_overflow() {
        let mut line = LineBuffer::new();
        let long = "x".repeat(3 * LINE_CAPACITY);
        line.push_str(&long);
        line.push_line(&Line::new("{}{}", &[dec(u64::MAX), hex64(1)]));
        let out = line.finish();
        assert_eq!(out.len(), LINE_CAPACITY);
        assert!(out.ends_with(b"...\n"));
    }

    #[test]
    fn an_exactly_full_line_still_fits() {
        let mut line = LineBuffer::new();
        line.push_str(&"y".repeat(LINE_CAPACITY - 1));
        let out = line.finish();
        assert_eq!(out.len(), LINE_CAPACITY);
        assert_eq!(out.last(), Some(&b'\n'));
        assert!(!out.ends_with(b"...\n"));
    }

    #[test]
    fn a_cut_inside_a_character_keeps_valid_text() {
        let mut line = LineBuffer::new();
        line.push_str(&"z".repeat(LINE_CAPACITY - 2));
        line.push_str("é");
        assert_eq!(line.text(), "z".repeat(LINE_CAPACITY - 2));
    }

    #[test]
    fn levels_order_as_severity() {
        assert!(Level::Error < Level::Warn && Level::Info < Level::Debug);
        set_max_level(Level::Info);
        assert!(enabled(Level::Error) && enabled(Level::Info) && !enabled(Level::Debug));
    }
}
