// SPDX-License-Identifier: MIT OR Apache-2.0
//! A static bound on the RMM's stack use, from the disassembly of `rmm.elf`: each function's
//! frame (its `sub sp, sp, #n` and pre-indexed pushes), its direct calls (`bl`) and tail calls
//! (`b` to another function), and for every indirect call (`blr`, and `br` other than a jump
//! table's, an indirect tail call) the deepest function whose
//! address the image takes (a vtable entry or a function pointer) that runs on the same
//! stack. The bound along a chain is the sum of the frames; a tail call replaces the caller's
//! frame. Recursion is cut (reported); a function with two frames on different paths is
//! counted with both, so the bound errs high, never low.
//!
//! A `blr` through a register that the same function loaded with `adr` of a function's start
//! (`adr x10, <f>` ... `blr x10`) is a direct call of that function, and an address taken only
//! for such calls is no indirect call's target. The boot's `continue_on_guarded_stack` calls
//! its trampoline that way, on the same stack at the same depth (the stack pointer moves to
//! the stack's guarded alias, not to its top), so the trampoline's frame counts.
//!
//! What the code cannot show, stated here: the function that starts a stack afresh (the
//! request loop's `serve_requests`, after each CPU's boot) is a root of its own stack, not a
//! callee.
//! Everything else, Confidential Shared Memory's operations included, runs on a CPU's own
//! stack.
//!
//! `cargo xtask size` prints the bound of each stack against its size; `cargo xtask test`
//! fails if a bound does not fit ([`check`]).

use crate::cmd::{self, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

/// Name fragments of the functions that start a stack of their own (module docs).
const STACK_ROOTS: [&str; 1] = ["serve_requests"];
/// The panic path: followed from the monitor's own code, not again from inside an indirect
/// call's allowance (which adds one panic of its own: [`Graph::indirect_allowance`]).
const PANIC_PATH: [&str; 3] = [
    "core::panicking::",
    "rust_begin_unwind",
    "rmm::arch::aarch64::fatal::stop",
];
/// Bytes each stack keeps free beyond the bound (the exception entry's register frame and
/// what the analysis cannot see, such as `br` tail calls through a register).
pub const MARGIN: u64 = 512;
/// Indirect calls nested inside an indirect call that the bound follows (a log line, a
/// `Display` impl inside it, one more inside that).
const NESTING: usize = 3;
/// The CPUs the measured image has stacks for (the default build's `MAX_CPUS`).
const CPUS: u64 = 32;

/// One function of the image.
#[derive(Debug, Default, Clone)]
struct Function {
    name: String,
    frame: u64,
    calls: Vec<u64>,
    tail_calls: Vec<u64>,
    indirect: bool,
    /// A `br` that is not a jump table's: an indirect tail call.
    indirect_tail: bool,
}

/// The call graph of an image.
#[derive(Debug, Default)]
pub struct Graph {
    functions: BTreeMap<u64, Function>,
    address_taken: HashSet<u64>,
}

/// A chain of calls and its bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    /// Bytes of stack at the deepest point.
    pub bytes: u64,
    /// (function, its frame) from the root down; `(indirect)` marks the allowance.
    pub steps: Vec<(String, u64)>,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

fn immediate(s: &str) -> Option<u64> {
    let s = s.trim().trim_start_matches('#');
    match s.strip_prefix("0x") {
        Some(h) => hex(h),
        None => s.parse().ok(),
    }
}

/// The bytes an instruction takes off SP (0 for any other instruction).
fn stack_bytes(mnemonic: &str, operands: &str) -> u64 {
    if mnemonic == "sub" {
        if let Some(rest) = operands.strip_prefix("sp, sp, ") {
            let mut parts = rest.split(',');
            let value = parts.next().and_then(immediate).unwrap_or(0);
            let shift = parts.next().is_some_and(|p| p.contains("lsl #12"));
            return if shift { value << 12 } else { value };
        }
        return 0;
    }
    if (mnemonic == "stp" || mnemonic == "str")
        && operands.ends_with("]!")
        && let Some(at) = operands.find("[sp, #-")
    {
        let digits = &operands[at + 7..operands.len() - 2];
        return immediate(digits).unwrap_or(0);
    }
    0
}

/// A branch target `hex <name>` that is a function's start (no `+0x` offset).
fn function_target(operands: &str) -> Option<u64> {
    let (addr, name) = operands.split_once(' ')?;
    if name.contains("+0x") {
        return None;
    }
    hex(addr)
}

impl Graph {
    /// Parses `objdump -d --no-show-raw-insn -C` output and `objdump -s` of the data sections.
    pub fn parse(disassembly: &str, data_dump: &str) -> Graph {
        let mut graph = Graph::default();
        let mut current: Option<u64> = None;
        let mut pages: HashMap<String, u64> = HashMap::new();
        // The mnemonics just before, to tell a jump table's `br` (after its `adr`) from an
        // indirect tail call.
        let mut recent: [String; 4] = Default::default();
        let mut taken = Vec::new();
        // Registers this function loaded with `adr` of a function's start, and how often each
        // function's address was taken that way and how often such a load was called directly.
        let mut adr_regs: HashMap<String, u64> = HashMap::new();
        let mut adr_taken: HashMap<u64, usize> = HashMap::new();
        let mut adr_called: HashMap<u64, usize> = HashMap::new();
        for line in disassembly.lines() {
            if let Some((addr, rest)) = line.split_once(" <")
                && let (Some(addr), Some(name)) = (hex(addr.trim()), rest.strip_suffix(">:"))
            {
                graph.functions.insert(
                    addr,
                    Function {
                        name: name.to_string(),
                        ..Function::default()
                    },
                );
                current = Some(addr);
                pages.clear();
                adr_regs.clear();
                recent = Default::default();
                continue;
            }
            let Some(f) = current.and_then(|c| graph.functions.get_mut(&c)) else {
                continue;
            };
            let Some((_, instruction)) = line.split_once(":\t") else {
                continue;
            };
            let (mnemonic, operands) = instruction
                .split_once('\t')
                .map_or((instruction.trim(), ""), |(m, o)| (m.trim(), o.trim()));
            let operands = operands.split("\t//").next().unwrap_or("").trim();
            f.frame += stack_bytes(mnemonic, operands);
            if mnemonic == "br" && !recent.iter().any(|m| m == "adr") {
                f.indirect_tail = true;
            }
            recent.rotate_left(1);
            recent[3] = mnemonic.to_string();
            match mnemonic {
                "bl" => f.calls.extend(function_target(operands)),
                "b" => f.tail_calls.extend(function_target(operands)),
                "blr" => match adr_regs.get(operands) {
                    Some(&target) => {
                        f.calls.push(target);
                        *adr_called.entry(target).or_default() += 1;
                    }
                    None => f.indirect = true,
                },
                "adrp" => {
                    if let Some((reg, target)) = operands.split_once(", ")
                        && let Some(page) = target.split(' ').next().and_then(hex)
                    {
                        pages.insert(reg.to_string(), page);
                    }
                }
                // One instruction for an address within 1 MiB: the firmware's tiny code model,
                // and the link's relaxation of an `adrp`+`add` pair.
                "adr" => {
                    if let Some((reg, target)) = operands.split_once(", ")
                        && let Some(address) = target.split(' ').next().and_then(hex)
                    {
                        taken.push(address);
                        if function_target(target).is_some() {
                            adr_regs.insert(reg.to_string(), address);
                            *adr_taken.entry(address).or_default() += 1;
                        } else {
                            adr_regs.remove(reg);
                        }
                    }
                }
                "add" => {
                    let parts: Vec<&str> = operands.split(", ").collect();
                    if let [_, src, imm] = parts[..]
                        && let (Some(page), Some(offset)) = (pages.get(src), immediate(imm))
                    {
                        taken.push(page + offset);
                    }
                }
                _ => {}
            }
        }
        // Function pointers in the data sections (vtables): aligned little-endian words.
        let mut bytes: Vec<(u64, u8)> = Vec::new();
        for line in data_dump.lines() {
            let mut fields = line.split_whitespace();
            let Some(addr) = fields.next().and_then(hex) else {
                continue;
            };
            let mut at = addr;
            for group in fields.take(4) {
                if group.len() != 8 || hex(group).is_none() {
                    break;
                }
                for i in 0..4 {
                    if let Some(b) = group.get(i * 2..i * 2 + 2).and_then(hex) {
                        bytes.push((at, b as u8));
                        at += 1;
                    }
                }
            }
        }
        for window in bytes.windows(8) {
            if window[0].0 % 8 == 0 && window[7].0 == window[0].0 + 7 {
                let word = window
                    .iter()
                    .rev()
                    .fold(0u64, |acc, (_, b)| (acc << 8) | u64::from(*b));
                taken.push(word);
            }
        }
        // A linker script's boundary symbols (`__image_start`, `__rodata_start`, ...) share
        // their address with the code there (the vector table at the image's base) but name
        // memory, not a function: taking them is never a call.
        // An address whose every taking was an `adr` that a `blr` then called is a callee,
        // already an edge of the call graph, not a target of other indirect calls.
        let mut occurrences: HashMap<u64, usize> = HashMap::new();
        for a in &taken {
            *occurrences.entry(*a).or_default() += 1;
        }
        let called_only = |a: &u64| {
            adr_called.get(a).is_some_and(|called| {
                adr_taken.get(a) == Some(called) && occurrences.get(a) == Some(called)
            })
        };
        graph.address_taken = taken
            .into_iter()
            .filter(|a| !called_only(a))
            .filter(|a| {
                graph
                    .functions
                    .get(a)
                    .is_some_and(|f| !f.name.starts_with("__"))
            })
            .collect();
        graph
    }

    fn name(&self, addr: u64) -> &str {
        self.functions.get(&addr).map_or("?", |f| f.name.as_str())
    }

    /// True if `addr` does not run on the caller's stack: it starts a stack of its own, or it
    /// is the panic path and the walk does not follow it.
    fn excluded(&self, addr: u64, context: &Context) -> bool {
        let name = self.name(addr);
        STACK_ROOTS.iter().any(|r| name.contains(r))
            || (!context.follow_panics && is_panic_path(name))
    }

    /// The functions whose name contains `fragment`, by address.
    pub fn find(&self, fragment: &str) -> Vec<u64> {
        self.functions
            .iter()
            .filter(|(_, f)| f.name.contains(fragment))
            .map(|(a, _)| *a)
            .collect()
    }

    /// The deepest chain from `root`, callees that start their own stack excluded, and every
    /// indirect call charged `allowance` (a chain of its own).
    fn deepest(&self, root: u64, context: &Context, memo: &mut HashMap<u64, Chain>) -> Chain {
        let mut on_path = HashSet::new();
        self.walk(root, context, memo, &mut on_path)
    }

    fn walk(
        &self,
        addr: u64,
        context: &Context,
        memo: &mut HashMap<u64, Chain>,
        on_path: &mut HashSet<u64>,
    ) -> Chain {
        if let Some(chain) = memo.get(&addr) {
            return chain.clone();
        }
        let Some(f) = self.functions.get(&addr) else {
            return Chain::default();
        };
        if !on_path.insert(addr) {
            // Recursion: cut here (the caller's frame is already counted once).
            return Chain::default();
        }
        let mut below = if f.indirect {
            context.indirect(&f.name)
        } else {
            Chain::default()
        };
        for &callee in &f.calls {
            if callee == addr || self.excluded(callee, context) {
                continue;
            }
            let chain = self.step(callee, context, memo, on_path);
            if chain.bytes > below.bytes {
                below = chain;
            }
        }
        let mut own = Chain {
            bytes: f.frame + below.bytes,
            steps: vec![(f.name.clone(), f.frame)],
        };
        own.steps.extend(below.steps);
        for &callee in &f.tail_calls {
            if callee == addr
                || self.excluded(callee, context)
                || !self.functions.contains_key(&callee)
            {
                continue;
            }
            let chain = self.step(callee, context, memo, on_path);
            if chain.bytes > own.bytes {
                own = chain;
            }
        }
        if f.indirect_tail {
            // The caller's frame is popped before the branch.
            let chain = context.indirect(&f.name);
            if chain.bytes > own.bytes {
                own = chain;
            }
        }
        on_path.remove(&addr);
        memo.insert(addr, own.clone());
        own
    }

    /// [`Graph::walk`] into `callee`; entering the panic path from ordinary code switches to a
    /// panicking walk, whose indirect calls are charged no further panic.
    fn step(
        &self,
        callee: u64,
        context: &Context,
        memo: &mut HashMap<u64, Chain>,
        on_path: &mut HashSet<u64>,
    ) -> Chain {
        if context.panic.bytes > 0 && is_panic_path(self.name(callee)) {
            let panicking = Context {
                allowance: context.allowance.clone(),
                panic: Chain::default(),
                follow_panics: true,
            };
            let mut panic_memo = HashMap::new();
            let mut panic_path = HashSet::new();
            return self.walk(callee, &panicking, &mut panic_memo, &mut panic_path);
        }
        self.walk(callee, context, memo, on_path)
    }

    /// The allowance for indirect calls: from formatting code (`core::fmt`), the deepest
    /// address-taken formatting function (a `Display` or `Write` impl); from anywhere else, the
    /// deepest log line sink (`LineSink::write_line`) from the one function that calls it
    /// (`rmm::log_line::emit`, whose `&dyn LineSink` reaches nothing else); from anywhere
    /// else, the deepest other address-taken function that runs on the caller's stack (a hash
    /// engine, ...), since `core::fmt` (left only in the core library's panic messages, which
    /// the panic handler does not format) calls nothing else. Indirect calls inside those are charged the same way up
    /// to [`NESTING`] levels (a log line's `fmt::write` calls a `Display` impl that may call
    /// `fmt::write` again); panics inside them are not followed, and one panic at the deepest
    /// point is added instead (the fatal stop and its log line; a panic while logging a panic
    /// would recurse, and is counted once).
    pub fn indirect_allowance(&self) -> (Allowance, Chain) {
        let mut allowance = Allowance::default();
        for _ in 0..NESTING {
            let context = Context {
                allowance: allowance.clone(),
                panic: Chain::default(),
                follow_panics: false,
            };
            let mut memo = HashMap::new();
            let mut next = Allowance::default();
            for &addr in &self.address_taken {
                if self.excluded(addr, &context) {
                    continue;
                }
                let mut chain = self.deepest(addr, &context, &mut memo);
                if let Some(first) = chain.steps.first_mut() {
                    first.0 = format!("(indirect) {}", first.0);
                }
                if is_line_sink(self.name(addr)) && chain.bytes > next.line_sink.bytes {
                    next.line_sink = chain.clone();
                }
                let slot = if is_formatting(self.name(addr)) {
                    &mut next.formatting
                } else {
                    &mut next.other
                };
                if chain.bytes > slot.bytes {
                    *slot = chain;
                }
            }
            allowance = next;
        }
        // One panic at the bottom: the fatal stop's own chain, its indirect calls charged the
        // allowance without panics.
        let context = Context {
            allowance: allowance.clone(),
            panic: Chain::default(),
            follow_panics: false,
        };
        let mut memo = HashMap::new();
        let panic = self
            .find("rmm::arch::aarch64::fatal::stop")
            .into_iter()
            .map(|stop| self.deepest(stop, &context, &mut memo))
            .max_by_key(|c| c.bytes)
            .unwrap_or_default();
        (allowance, panic)
    }

    /// The deepest chain from any function whose name contains `fragment`.
    pub fn deepest_from(&self, fragment: &str, allowance: &(Allowance, Chain)) -> Chain {
        self.find(fragment)
            .into_iter()
            .map(|root| self.deepest_at(root, allowance))
            .max_by_key(|c| c.bytes)
            .unwrap_or_default()
    }

    /// The deepest chain from the function at `root` (which may itself be one that starts a
    /// stack of its own).
    pub fn deepest_at(&self, root: u64, allowance: &(Allowance, Chain)) -> Chain {
        let context = Context {
            allowance: allowance.0.clone(),
            panic: allowance.1.clone(),
            follow_panics: true,
        };
        // `walk` checks a function's callees, never the function itself, so a root that
        // starts a stack of its own is walked like any other.
        self.walk(root, &context, &mut HashMap::new(), &mut HashSet::new())
    }
}

/// True for the functions of the panic path ([`PANIC_PATH`]).
fn is_panic_path(name: &str) -> bool {
    PANIC_PATH.iter().any(|r| name.contains(r))
}

/// True for `core::fmt`'s functions and the impls of its traits.
fn is_formatting(name: &str) -> bool {
    name.contains("core::fmt::")
}

/// The one function that calls the log line sink (through `&dyn LineSink`).
const LINE_EMIT: &str = "rmm::log_line::emit";

/// True for the impls of the log line sink: the only functions [`LINE_EMIT`]'s indirect call
/// can reach (its trait object's one method).
fn is_line_sink(name: &str) -> bool {
    name.contains("as rmm::log_line::LineSink>::write_line")
}

/// What an indirect call is charged (see [`Graph::indirect_allowance`]).
#[derive(Debug, Clone, Default)]
pub struct Allowance {
    /// From formatting code.
    pub formatting: Chain,
    /// From anywhere else.
    pub other: Chain,
    /// From [`LINE_EMIT`]: the deepest log line sink.
    pub line_sink: Chain,
}

impl Allowance {
    /// The allowance for an indirect call made by `caller`.
    fn at(&self, caller: &str) -> &Chain {
        if is_formatting(caller) {
            &self.formatting
        } else if caller.contains(LINE_EMIT) {
            &self.line_sink
        } else {
            &self.other
        }
    }
}

/// What a walk charges: the allowance for an indirect call, and whether it follows panics.
struct Context {
    /// Charged for an indirect call.
    allowance: Allowance,
    /// Added to an indirect call from ordinary code (a panic inside the callee); empty on the
    /// panic path itself and while computing the allowance.
    panic: Chain,
    follow_panics: bool,
}

impl Context {
    /// The chain an indirect call made by `caller` is charged.
    fn indirect(&self, caller: &str) -> Chain {
        let mut chain = self.allowance.at(caller).clone();
        chain.bytes += self.panic.bytes;
        chain.steps.extend(self.panic.steps.iter().cloned());
        chain
    }
}

/// One stack's bound.
#[derive(Debug, Clone)]
pub struct StackBound {
    /// A short name (the test's).
    pub id: String,
    /// Which stack, which path.
    pub what: String,
    /// The stack's size in bytes.
    pub size: u64,
    /// The deepest chain.
    pub chain: Chain,
}

impl StackBound {
    /// True if the bound and [`MARGIN`] fit the stack.
    pub fn fits(&self) -> bool {
        self.chain.bytes + MARGIN <= self.size
    }
}

/// `objdump -d --no-show-raw-insn -C` of `elf`: what [`Graph::parse`] and the panic-site
/// check (`panic_sites`) read.
pub fn disassembly(elf: &Path) -> Result<String> {
    Ok(cmd::output(
        Command::new("aarch64-linux-gnu-objdump")
            .args(["-d", "--no-show-raw-insn", "-C"])
            .arg(elf),
    )
    .ok_or("aarch64-linux-gnu-objdump -d failed")?)
}

/// The bounds of the RMM image `elf`: each CPU's stack in the request loop and in the cold
/// boot, and under the deepest command handlers.
pub fn bounds(elf: &Path) -> Result<Vec<StackBound>> {
    let disassembly = disassembly(elf)?;
    let data = cmd::output(
        Command::new("aarch64-linux-gnu-objdump")
            .args(["-s", "-j", ".rodata", "-j", ".data"])
            .arg(elf),
    )
    .ok_or("aarch64-linux-gnu-objdump -s failed")?;
    let nm = cmd::output(
        Command::new("aarch64-linux-gnu-nm")
            .args(["-C", "-S"])
            .arg(elf),
    )
    .ok_or("aarch64-linux-gnu-nm failed")?;
    // `address size type name`.
    let size_of = |name: &str| {
        nm.lines()
            .filter_map(|l| {
                let fields: Vec<&str> = l.splitn(4, ' ').collect();
                (fields.len() == 4 && fields[3] == name).then(|| hex(fields[1]))
            })
            .flatten()
            .next()
            .unwrap_or(0)
    };
    let cpu_stack = size_of("rmm::arch::aarch64::entry::STACKS") / CPUS;
    Ok(analyse(&disassembly, &data, cpu_stack))
}

/// [`bounds`] from the tool outputs.
pub fn analyse(disassembly: &str, data: &str, cpu_stack: u64) -> Vec<StackBound> {
    let graph = Graph::parse(disassembly, data);
    let allowance = graph.indirect_allowance();
    let mut out = vec![
        StackBound {
            id: "cpu-stack.request-loop".into(),
            what: "a CPU's stack, request loop (every RMI command; RSI calls and exits inside REC_ENTER)".into(),
            size: cpu_stack,
            chain: graph.deepest_from("rmm::firmware::serve_requests", &allowance),
        },
        StackBound {
            id: "cpu-stack.boot".into(),
            what: "a CPU's stack, cold or warm boot (until the request loop starts afresh)".into(),
            size: cpu_stack,
            // From the platform's entry (`rmm_platform_main`, which `rmm_entry` calls on the
            // CPU's stack and which calls `rmm::firmware::start`), so its frame counts too.
            chain: graph.deepest_from(
                if graph.find("rmm_platform_main").is_empty() {
                    "rmm::firmware::start"
                } else {
                    "rmm_platform_main"
                },
                &allowance,
            ),
        },
    ];
    // The deepest command handlers, each from the request loop's frames down.
    let above: u64 = [
        "rmm::firmware::serve_requests",
        "rmm::firmware::serve_forever",
    ]
    .iter()
    .filter_map(|name| graph.find(name).first().map(|a| graph.functions[a].frame))
    .sum();
    // A command runs in an instance of `rmi::run`, or of `rmi::run_cold` for the commands no
    // hot path measures.
    let mut handlers: Vec<Chain> = graph
        .find("rmm::rmi::run")
        .into_iter()
        .filter(|a| {
            matches!(
                graph.functions[a].name.as_str(),
                "rmm::rmi::run" | "rmm::rmi::run_cold"
            )
        })
        .map(|a| {
            let mut chain = graph.deepest_at(a, &allowance);
            chain.bytes += above;
            chain
        })
        .collect();
    handlers.sort_by_key(|c| std::cmp::Reverse(c.bytes));
    for (n, chain) in handlers.into_iter().take(HANDLERS).enumerate() {
        let runner = chain
            .steps
            .first()
            .map_or("rmi::run", |s| s.0.trim_start_matches("rmm::"))
            .to_string();
        let via = chain
            .steps
            .get(1)
            .map_or("", |s| s.0.as_str())
            .chars()
            .take(60)
            .collect::<String>();
        out.push(StackBound {
            id: format!("cpu-stack.handler-{}", n + 1),
            what: format!(
                "a CPU's stack, the {} deepest command handler (`{runner}` → `{via}`)",
                ordinal(n + 1)
            ),
            size: cpu_stack,
            chain,
        });
    }
    out
}

/// How many command handlers the report lists.
const HANDLERS: usize = 6;

fn ordinal(n: usize) -> String {
    match n {
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        _ => format!("{n}th"),
    }
}

/// The bounds as a markdown table, each with its deepest chain.
pub fn report(bounds: &[StackBound]) -> String {
    let mut out = format!(
        "Stack use, static bound from the disassembly (`xtask/src/stack_depth.rs`; each stack \
         keeps {MARGIN} bytes beyond it):\n\n\
         | stack and path | size | bound | free | verdict |\n|---|---:|---:|---:|---|\n"
    );
    for b in bounds {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            b.what,
            b.size,
            b.chain.bytes,
            b.size as i64 - b.chain.bytes as i64,
            if b.fits() { "fits" } else { "**does not fit**" }
        ));
    }
    out.push_str("\nDeepest chains (frame bytes):\n\n");
    for b in bounds {
        let steps: Vec<String> = b
            .chain
            .steps
            .iter()
            .filter(|(_, frame)| *frame >= 64)
            .map(|(name, frame)| {
                let short: String = name.chars().take(70).collect();
                format!("{short} {frame}")
            })
            .collect();
        out.push_str(&format!("- {}: {}\n", b.what, steps.join(" → ")));
    }
    out
}

/// Fails if a stack's bound does not fit (`cargo xtask test`).
pub fn check(elf: &Path) -> Result<Vec<StackBound>> {
    let bounds = bounds(elf)?;
    print!("{}", report(&bounds));
    if bounds.iter().any(|b| b.size == 0) {
        return Err("stack sizes not found in the image's symbols".into());
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIS: &str = "\
0000000040100000 <rmm::firmware::serve_requests>:
    40100000:\tsub\tsp, sp, #0x60
    40100004:\tbl\t40100100 <rmm::firmware::serve_forever>
0000000040100100 <rmm::firmware::serve_forever>:
    40100100:\tstp\tx29, x30, [sp, #-32]!
    40100104:\tbl\t40100200 <rmm::rmi::run>
0000000040100200 <rmm::rmi::run>:
    40100200:\tsub\tsp, sp, #0x1, lsl #12
    40100204:\tsub\tsp, sp, #0x10
    40100208:\tadrp\tx8, 40100000 <rmm::firmware::serve_requests>
    4010020c:\tadd\tx8, x8, #0x600
    40100210:\tblr\tx8
    40100214:\tb\t40100300 <leaf>
    40100218:\tb\t40100220 <rmm::rmi::run+0x20>
    4010021c:\tbl\t40100200 <rmm::rmi::run>
0000000040100300 <leaf>:
    40100300:\tsub\tsp, sp, #1024
0000000040100600 <pointer_target>:
    40100600:\tstr\tx30, [sp, #-16]!
    40100604:\tbl\t40100800 <helper>
0000000040100700 <vtable_target>:
    40100700:\tsub\tsp, sp, #32
0000000040100800 <helper>:
    40100800:\tsub\tsp, sp, #256
";

    // A vtable in .rodata naming `vtable_target` (0x40100700, little-endian).
    const DATA: &str = "\
Contents of section .rodata:
 40132000 00071040 00000000 00000000 00000000  ................
";

    /// The tiny code model takes addresses with one `adr` (absolute target in GNU objdump's
    /// output): a function whose address only an `adr` takes is charged to indirect calls.
    #[test]
    fn an_address_taken_by_adr_counts() {
        let dis = DIS.replace(
            "    40100208:\tadrp\tx8, 40100000 <rmm::firmware::serve_requests>\n    4010020c:\tadd\tx8, x8, #0x600\n",
            // Into another register than the `blr` below uses: an `adr` that a `blr` of the
            // same register calls is a direct call instead (the test after the next).
            "    40100208:\tnop\n    4010020c:\tadr\tx9, 40100600 <pointer_target>\n",
        );
        assert_ne!(dis, DIS);
        let graph = Graph::parse(&dis, DATA);
        assert!(graph.address_taken.contains(&0x4010_0600));
        assert_eq!(graph.indirect_allowance().0.other.bytes, 16 + 256);
    }

    /// The image's base address taken by `adr` is a linker symbol, not a function pointer,
    /// even where objdump names the code at that address after it.
    #[test]
    fn a_linker_symbol_is_not_a_function_pointer() {
        let dis = DIS
            .replace(
                "0000000040100000 <rmm::firmware::serve_requests>:",
                "0000000040100000 <__image_start>:",
            )
            .replace(
                "    4010020c:\tadd\tx8, x8, #0x600\n",
                "    4010020c:\tadr\tx9, 40100000 <__image_start>\n",
            );
        let graph = Graph::parse(&dis, DATA);
        assert!(!graph.address_taken.contains(&0x4010_0000));
    }

    #[test]
    fn frames_calls_tail_calls_and_indirect_calls_add_up() {
        let graph = Graph::parse(DIS, DATA);
        assert_eq!(graph.address_taken.len(), 2, "{:?}", graph.address_taken);
        // The deepest address-taken function: `pointer_target` (16) calling `helper` (256).
        assert_eq!(graph.indirect_allowance().0.other.bytes, 16 + 256);
        let bounds = analyse(DIS, DATA, 12_288);
        let request_loop = &bounds[0];
        // serve_requests 0x60, serve_forever 32, rmi::run 4096 + 16 with its indirect call (272),
        // deeper than its tail call to `leaf` (1024); the self-call is cut.
        assert_eq!(request_loop.chain.bytes, 0x60 + 32 + 4096 + 16 + 272);
        let names: Vec<&str> = request_loop
            .chain
            .steps
            .iter()
            .map(|s| s.0.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "rmm::firmware::serve_requests",
                "rmm::firmware::serve_forever",
                "rmm::rmi::run",
                "(indirect) pointer_target",
                "helper"
            ]
        );
        assert!(request_loop.fits());
        let small = analyse(DIS, DATA, 4_096);
        assert!(!small[0].fits(), "{:?}", small[0]);
        assert!(report(&small).contains("**does not fit**"));
    }

    #[test]
    fn the_deepest_command_handler_is_counted_from_the_request_loop_down() {
        let bounds = analyse(DIS, DATA, 12_288);
        let handler = bounds.iter().find(|b| b.id == "cpu-stack.handler-1");
        assert_eq!(
            handler.map(|b| b.chain.bytes),
            Some(0x60 + 32 + 4096 + 16 + 272)
        );
    }

    #[test]
    fn a_br_is_a_tail_call_unless_a_jump_table_precedes_it() {
        let dis = "\
0000000040100000 <root>:
    40100000:\tsub\tsp, sp, #0x10
    40100004:\tbl\t40100100 <switch>
    40100008:\tbl\t40100200 <tail_through_register>
0000000040100100 <switch>:
    40100100:\tsub\tsp, sp, #0x20
    40100104:\tadr\tx9, 40100110 <switch+0x10>
    40100108:\tldrsw\tx11, [x12, x10, lsl #2]
    4010010c:\tadd\tx9, x9, x11
    40100110:\tbr\tx9
0000000040100200 <tail_through_register>:
    40100200:\tstp\tx29, x30, [sp, #-16]!
    40100204:\tldp\tx29, x30, [sp], #16
    40100208:\tbr\tx3
0000000040100300 <target>:
    40100300:\tsub\tsp, sp, #0x100
";
        // `target` is in a vtable; the jump table adds nothing, the register tail call is
        // charged it (its own frame popped).
        let data = "Contents of section .rodata:\n 40132000 00031040 00000000  ........\n";
        let graph = Graph::parse(dis, data);
        let root = graph.find("root")[0];
        let chain = graph.deepest_at(root, &graph.indirect_allowance());
        assert_eq!(chain.bytes, 0x10 + 0x100);
    }

    #[test]
    fn the_line_emitter_is_charged_only_the_deepest_line_sink() {
        let dis = "\
0000000040100000 <root>:
    40100000:\tsub\tsp, sp, #0x10
    40100004:\tbl\t40100100 <rmm::log_line::emit>
0000000040100100 <rmm::log_line::emit>:
    40100100:\tldr\tx8, [x0, #24]
    40100104:\tbr\tx8
0000000040100200 <<rmm::logger::ConsoleLogger<S> as rmm::log_line::LineSink>::write_line>:
    40100200:\tsub\tsp, sp, #0x100
0000000040100300 <big_callback>:
    40100300:\tsub\tsp, sp, #0x1000
";
        // Both are in vtables; only the sink is reachable from `emit`.
        let data = "Contents of section .rodata:\n 40132000 00021040 00000000 00031040 00000000  ................\n";
        let graph = Graph::parse(dis, data);
        let allowance = graph.indirect_allowance();
        assert_eq!(allowance.0.line_sink.bytes, 0x100);
        assert_eq!(allowance.0.other.bytes, 0x1000);
        let root = graph.find("root")[0];
        assert_eq!(graph.deepest_at(root, &allowance).bytes, 0x10 + 0x100);
    }

    #[test]
    fn stack_bytes_reads_subtractions_and_pushes() {
        assert_eq!(stack_bytes("sub", "sp, sp, #0x60"), 0x60);
        assert_eq!(stack_bytes("sub", "sp, sp, #0x2, lsl #12"), 0x2000);
        assert_eq!(stack_bytes("sub", "x0, sp, #0x60"), 0);
        assert_eq!(stack_bytes("stp", "x29, x30, [sp, #-96]!"), 96);
        assert_eq!(stack_bytes("stp", "x29, x30, [sp, #16]"), 0);
        assert_eq!(stack_bytes("str", "x30, [sp, #-16]!"), 16);
    }

    #[test]
    fn a_call_through_a_register_loaded_by_adr_is_a_direct_call() {
        // `switch` moves to another view of the same stack and calls `tramp` through x10, as
        // the boot's `continue_on_guarded_stack` does: `tramp`'s frame is on the chain, and
        // its address (taken only for that call) is no target of the other indirect call.
        let dis = "\
0000000040100000 <root>:
    40100000:\tsub\tsp, sp, #0x10
    40100004:\tbl\t40100100 <switch>
    40100008:\tbl\t40100300 <other>
0000000040100100 <switch>:
    40100100:\tsub\tsp, sp, #0x20
    40100104:\tadr\tx10, 40100200 <tramp>
    40100108:\tmov\tsp, x9
    4010010c:\tblr\tx10
0000000040100200 <tramp>:
    40100200:\tsub\tsp, sp, #0x340
    40100204:\tbl\t40100400 <leaf>
0000000040100300 <other>:
    40100300:\tsub\tsp, sp, #0x30
    40100304:\tblr\tx3
0000000040100400 <leaf>:
    40100400:\tsub\tsp, sp, #0x40
";
        let graph = Graph::parse(dis, "");
        let root = graph.find("root")[0];
        let chain = graph.deepest_at(root, &graph.indirect_allowance());
        assert_eq!(chain.bytes, 0x10 + 0x20 + 0x340 + 0x40);
        let other = graph.find("other")[0];
        let chain = graph.deepest_at(other, &graph.indirect_allowance());
        assert_eq!(chain.bytes, 0x30, "{chain:?}");
    }
}
