// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMM image entry point, shared by cold and warm boot.
//!
//! EL3 enters at the image base (the vector table's first word, a branch to `rmm_entry`: see
//! [`super::vectors`]) at R-EL2 with the MMU and caches off, all exceptions masked
//! and no stack, with x0 = CPU index and x1..x3 = boot arguments (zero on warm boot). The
//! first entry ever is the cold boot (a flag in `.data` says so); it clears BSS exactly once.
//! Every CPU gets its own stack from [`STACKS`], records its index in TPIDR_EL2 and installs
//! the vectors; a warm-booting CPU also turns its MMU on with the tables the boot CPU built
//! (before it uses its stack). Then it calls `rmm_platform_main(x0, x1, x2, x3, cold)`.
//! A CPU index too large for a stack is reported to EL3 as `RMM_BOOT_COMPLETE(-4)` from
//! assembly, since no Rust can run without a stack.
//!
//! **Guarded stacks.** Each stack is also mapped in the stack window of the RMM's stage-1 map
//! ([`crate::mmu::layout`]) with an unmapped hole below it, and every CPU runs on that alias
//! once its MMU is on: a warm-booting CPU switches SP to [`stack_va_top`] right after
//! `rmm_mmu_enable`; the boot CPU, whose MMU goes on in the middle of the cold boot, moves its
//! SP to the window alias of where it is ([`continue_on_guarded_stack`]) as soon as the
//! memory set-up returns. An overflow then faults in the hole, and the vectors report it as
//! `stack overflow on CPU n` and stop the CPU (see [`super::vectors`]). Not guarded: the
//! boot CPU's stack before its MMU is on and until the switch (the boot checks and the
//! memory set-up, 5 KiB deep at most; measured by the boot's high-water line), and a CPU
//! whose MMU stays off because the cold boot failed.

use crate::MAX_CPUS;
use crate::mmu::layout::{STACK_SLOT, STACK_VA_BASE, StackArea, stack_va_top};
use core::cell::UnsafeCell;
use core::convert::Infallible;
use core::sync::atomic::AtomicU64;
use rmm_abi::el3::{BootError, RMM_BOOT_COMPLETE};

/// Bytes of stack per CPU. `cargo xtask test` bounds every path on it from the disassembly
/// (`xtask/src/stack_depth.rs`: the deepest is signing an attestation token for
/// RSI_ATTEST_TOKEN_CONTINUE, which REC_ENTER makes outside the world switch, as it makes the
/// CSM calls) and fails if a bound plus 512 bytes does not fit. 12 KiB leaves a 52 KiB guard
/// hole in each 64 KiB slot.
pub const STACK_SIZE: usize = 12 * 1024;

// At least one guard page below every stack in the stack window.
const _: () = assert!(STACK_SIZE as u64 + 4096 <= STACK_SLOT);

/// Per-CPU boot stacks, in a NOLOAD section (not cleared, not in the image file).
#[repr(C, align(4096))]
pub struct Stacks(pub(super) UnsafeCell<[[u8; STACK_SIZE]; MAX_CPUS]>);

// SAFETY: each CPU uses only its own slice as its stack, set up by the entry assembly; Rust
// code touches the array only through raw pointers in `stack_probe` (painting stacks no
// one uses yet, and reading the paint back).
unsafe impl Sync for Stacks {}

/// The stacks. Referenced only by the entry assembly.
#[unsafe(link_section = ".stacks")]
pub static STACKS: Stacks = Stacks(UnsafeCell::new([[0; STACK_SIZE]; MAX_CPUS]));

/// 1 until the first (cold) boot has cleared BSS. Lives in `.data`, so it survives the clear.
#[unsafe(no_mangle)]
pub static RMM_COLD_BOOT_PENDING: AtomicU64 = AtomicU64::new(1);

core::arch::global_asm!(
    ".section .text.rmm_entry, \"ax\"",
    ".global rmm_entry",
    "rmm_entry:",
    // Run on SP_EL2 from here on (EL3 enters in EL2h; this makes it so): the vectors for
    // exceptions taken on SP_EL0 hold code (`super::vectors`).
    "msr spsel, #1",
    // Keep the boot arguments in callee-saved registers.
    "mov x19, x0",
    "mov x20, x1",
    "mov x21, x2",
    "mov x22, x3",
    "cmp x0, #{max_cpus}",
    "b.hs 8f",
    // sp = STACKS + (cpu + 1) * STACK_SIZE
    "adrp x9, {stacks}",
    "add x9, x9, :lo12:{stacks}",
    "ldr x10, ={stack_size}",
    "madd x9, x0, x10, x9",
    "add sp, x9, x10",
    "msr tpidr_el2, x0",
    "adrp x9, rmm_vectors",
    "add x9, x9, :lo12:rmm_vectors",
    "msr vbar_el2, x9",
    "isb",
    // Cold boot if the flag is still set: clear BSS, then the flag.
    "adrp x9, {cold}",
    "add x9, x9, :lo12:{cold}",
    "ldr x10, [x9]",
    "mov x4, #0",
    "cbz x10, 3f",
    "adrp x11, __bss_start",
    "add x11, x11, :lo12:__bss_start",
    "adrp x12, __bss_end",
    "add x12, x12, :lo12:__bss_end",
    "1:",
    "cmp x11, x12",
    "b.hs 2f",
    "str xzr, [x11], #8",
    "b 1b",
    "2:",
    "str xzr, [x9]",
    "dsb sy",
    "mov x4, #1",
    "b 4f",
    // Warm boot: MMU and caches on before the stack is touched (see `mmu`), then SP to the
    // top of this CPU's guarded alias in the stack window (only if the MMU did go on):
    // sp = STACK_VA_BASE + (cpu + 1) * STACK_SLOT.
    "3:",
    "bl rmm_mmu_enable",
    "mrs x9, sctlr_el2",
    "tbz x9, #0, 5f",
    "ldr x9, ={stack_va_base}",
    "ldr x10, ={stack_slot}",
    "madd x9, x19, x10, x9",
    "add sp, x9, x10",
    "5:",
    "mov x4, #0",
    "4:",
    "mov x0, x19",
    "mov x1, x20",
    "mov x2, x21",
    "mov x3, x22",
    "bl rmm_platform_main",
    "b 9f",
    // CPU index out of range: report and stop.
    "8:",
    "ldr x0, ={boot_complete}",
    "ldr x1, ={cpu_id_error}",
    "smc #0",
    "9:",
    "wfe",
    "b 9b",
    max_cpus = const MAX_CPUS,
    stack_size = const STACK_SIZE,
    stacks = sym STACKS,
    stack_va_base = const STACK_VA_BASE,
    stack_slot = const STACK_SLOT,
    cold = sym RMM_COLD_BOOT_PENDING,
    boot_complete = const RMM_BOOT_COMPLETE as u64,
    cpu_id_error = const BootError::CpuIdOutOfRange.code(),
);

/// The stacks, for the memory map: where they are and how many.
pub fn stack_area() -> StackArea {
    StackArea {
        pa: STACKS.0.get() as u64,
        size: STACK_SIZE as u64,
        count: MAX_CPUS as u64,
        first_slot: 0,
    }
}

/// Whether this CPU's stage-1 translation is on (`SCTLR_EL2.M`).
pub(super) fn mmu_on() -> bool {
    let sctlr: u64;
    // SAFETY: reading SCTLR_EL2 has no side effects.
    unsafe { core::arch::asm!("mrs {}, sctlr_el2", out(reg) sctlr, options(nomem, nostack)) };
    sctlr & 1 != 0
}

/// The function [`serve_on_empty_stack`] continues in: x0..x7 of a host request.
pub type ServeFromRegisters = extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> !;

/// Runs `serve(x0..x7)` on an empty guarded stack: SP moves to the top of CPU `cpu`'s alias in
/// the stack window, discarding every frame on this CPU's stack (the cold boot's, which would
/// otherwise stay under every later command for good). The request travels in registers, so
/// nothing is read from the discarded frames after the switch; `serve` must not refer to them
/// either (what it needs is static). If the MMU is off or `cpu` is out of range, `serve` just
/// runs where it is.
pub fn serve_on_empty_stack(cpu: usize, request: [u64; 8], serve: ServeFromRegisters) -> ! {
    let [x0, x1, x2, x3, x4, x5, x6, x7] = request;
    if cpu >= MAX_CPUS || !mmu_on() {
        serve(x0, x1, x2, x3, x4, x5, x6, x7)
    }
    // SAFETY: the MMU is on with the RMM's tables, which map CPU `cpu`'s stack in the stack
    // window just below `stack_va_top(cpu)` (Normal write-back memory, a guard hole below it),
    // and this CPU is the only user of that stack. SP moves to its top, 16-byte aligned: every
    // frame on the stack is abandoned (the block never returns into them), and `serve` gets
    // its arguments in x0..x7, loaded before the switch.
    unsafe {
        core::arch::asm!(
            "mov sp, x9",
            "blr x10",
            "brk #0",
            in("x9") stack_va_top(cpu as u64),
            in("x10") serve as *const () as u64,
            in("x0") x0,
            in("x1") x1,
            in("x2") x2,
            in("x3") x3,
            in("x4") x4,
            in("x5") x5,
            in("x6") x6,
            in("x7") x7,
            options(noreturn),
        )
    }
}

/// Runs `f` on the stack-window alias of the current stack: SP moves from CPU `cpu`'s
/// identity-mapped stack to the same physical bytes in the stack window, so the frames
/// already on the stack stay where they are (and stay reachable through the identity map)
/// while every frame from here on is pushed towards the guard hole. Used once, by the boot
/// CPU right after its MMU went on. If the MMU is off, or SP is not on `cpu`'s stack, `f`
/// just runs where it is. (`f` never returns: `Infallible` stands in for `!`.)
pub fn continue_on_guarded_stack<F: FnOnce() -> Infallible>(cpu: usize, f: F) -> ! {
    extern "C" fn trampoline<F: FnOnce() -> Infallible>(f: *mut F) -> ! {
        // SAFETY: `f` points at the closure `continue_on_guarded_stack` moved into a
        // `ManuallyDrop` in its own frame, which is never popped (neither function
        // returns) and is read exactly once, here.
        let f = unsafe { f.read() };
        match f() {}
    }
    let area = stack_area();
    let (pa_bottom, pa_top) = (
        area.pa + cpu as u64 * area.size,
        area.pa + (cpu as u64 + 1) * area.size,
    );
    let sp: u64;
    // SAFETY: reading the stack pointer has no side effects.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    if cpu >= MAX_CPUS || !mmu_on() || !(pa_bottom..=pa_top).contains(&sp) {
        match f() {}
    } else {
        let mut f = core::mem::ManuallyDrop::new(f);
        let delta = stack_va_top(cpu as u64).wrapping_sub(pa_top);
        // SAFETY: the MMU is on with the RMM's tables, which map CPU `cpu`'s stack both at
        // its PA and in the stack window (`stack_va_top(cpu) - STACK_SIZE ..`), as the same
        // Normal write-back memory. SP, inside that stack, moves to its alias: everything
        // live (including `f`, in this frame at or above SP) keeps its bytes and its
        // identity addresses, and the trampoline's frames go below it. The block never
        // returns, so no code after it relies on the old SP.
        unsafe {
            core::arch::asm!(
                "add x9, sp, x9",
                "mov sp, x9",
                "blr x10",
                "brk #0",
                in("x9") delta,
                in("x10") trampoline::<F> as *const () as u64,
                in("x0") &mut *f as *mut F,
                options(noreturn),
            )
        }
    }
}
