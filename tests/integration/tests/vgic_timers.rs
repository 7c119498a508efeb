// SPDX-License-Identifier: MIT OR Apache-2.0
//! REC_ENTER's virtual interrupt controller and timers through the fake realm CPU: which
//! `gicv3_*` entry values are refused (ERROR_REC, nothing changed, realm not run), what the
//! realm's virtual CPU interface is loaded with, what the exit shows the host (and hides),
//! what the REC keeps between runs, and the timer rule (a timer whose output changed while
//! the host had the CPU makes an IRQ exit without running the realm; an asserted one is
//! masked while the realm runs). Values follow TF-RMM rel0
//! (`docs/reference/tf-rmm-rel0-realm-execution-facts.md` §2.2, §3.10).

use rmm::arch::world::{TimerOutputs, timer_ctl};
use rmm::vcpu::gic::{EXIT_HCR_MASK, INITIAL_HCR};
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::status;
use rmm_integration_tests::running::*;

/// A pending Group 1 list register for `vintid` at `priority`.
fn lr(vintid: u64, priority: u64) -> u64 {
    1 << 62 | 1 << 60 | priority << 48 | vintid
}

const EXIT_GIC_HCR: usize = 0x300;
const EXIT_GIC_LRS: usize = 0x308;
const EXIT_GIC_MISR: usize = 0x388;
const EXIT_GIC_VMCR: usize = 0x390;
const EXIT_CNTP_CTL: usize = 0x400;
const EXIT_CNTV_CTL: usize = 0x410;

fn irq_reason() -> u64 {
    RecExitReason::Irq.as_u64()
}

#[test]
fn bad_gic_values_are_refused_before_anything_changes() {
    let rig = setup(true);
    // No script step: entering the realm would fail the test.
    script(rig.machine(), vec![]);
    let cases: [(&str, u64, Vec<u64>); 9] = [
        ("En set by the host", 1, vec![]),
        ("vSGIEOICount", 1 << 8, vec![]),
        ("EOIcount", 1 << 27, vec![]),
        ("hardware interrupt", 0, vec![lr(40, 0xA0) | 1 << 61]),
        ("unimplemented priority bit", 0, vec![lr(40, 0xA4)]),
        ("pINTID bits", 0, vec![lr(40, 0xA0) | 1 << 32]),
        ("vINTID 1020", 0, vec![0, 0, lr(1020, 0)]),
        ("vINTID between SPIs and LPIs", 0, vec![lr(5000, 0)]),
        (
            "the same vINTID twice",
            0,
            vec![lr(40, 0xA0), 0, 0, lr(40, 0x10)],
        ),
    ];
    for (what, hcr, lrs) in cases {
        assert_eq!(rig.enter_gic(hcr, &lrs)[0], status::REC, "{what}");
        assert!(rig.machine().take_realm_entries().is_empty(), "{what}");
        assert!(rig.machine().take_vgic_loads().is_empty(), "{what}");
        assert_eq!(rig.exit(0), 0, "{what}: the exit page is untouched");
    }
}

#[test]
fn list_registers_reach_the_realm_and_come_back_sanitised() {
    let rig = setup(true);
    let host_lrs = [lr(27, 0xA0), lr(8192, 0x08) | 1 << 41, 0, lr(100, 0)];
    script(
        rig.machine(),
        vec![
            Box::new(|m, config, _| {
                assert_eq!(
                    (config.vgic_lrs, config.vgic_aprs),
                    (4, 1),
                    "QEMU's ICH_VTR"
                );
                // The realm takes and ends vINTID 27; the interface counts an EOI and flags
                // a maintenance condition.
                m.with_live_vgic(|gic| {
                    gic.lrs[0] = 0;
                    gic.vmcr = 0xF800_0002;
                    gic.ap1r[0] = 0x8;
                    gic.misr = 0x1;
                    gic.hcr |= 1 << 27;
                });
                irq()
            }),
            Box::new(|_, _, _| irq()),
        ],
    );
    // Host bits UIE and TDIR; LRs past the four implemented ones are ignored even if bad.
    let mut lrs = host_lrs.to_vec();
    lrs.extend([lr(40, 0xA4) | 1 << 61; 2]);
    assert_eq!(rig.enter_gic(0x2 | 1 << 14, &lrs)[0], status::SUCCESS);
    let loads = rig.machine().take_vgic_loads();
    assert_eq!(loads.len(), 1);
    assert_eq!(
        loads[0].hcr,
        INITIAL_HCR | 0x2 | 1 << 14,
        "En and the RMM's bits"
    );
    assert_eq!(&loads[0].lrs[..4], &host_lrs);
    assert!(
        loads[0].lrs[4..].iter().all(|&l| l == 0),
        "only implemented LRs"
    );
    assert_eq!((loads[0].vmcr, loads[0].ap1r[0]), (0, 0), "a new REC's");

    assert_eq!(rig.exit(0), irq_reason());
    assert_eq!(
        rig.exit(EXIT_GIC_HCR),
        0x2 | 1 << 14 | 1 << 27,
        "host bits and EOIcount, never En, vSGIEOICount or DVIM"
    );
    assert_eq!(rig.exit(EXIT_GIC_HCR) & !EXIT_HCR_MASK, 0);
    let exit_lrs: Vec<u64> = (0..16).map(|i| rig.exit(EXIT_GIC_LRS + 8 * i)).collect();
    assert_eq!(&exit_lrs[..4], &[0, host_lrs[1], 0, host_lrs[3]]);
    assert!(
        exit_lrs[4..].iter().all(|&l| l == 0),
        "unimplemented LRs are 0"
    );
    assert_eq!(rig.exit(EXIT_GIC_MISR), 0x1);
    assert_eq!(rig.exit(EXIT_GIC_VMCR), 0xF800_0002);

    // The next entry: the host's bits replaced, the REC's VMCR, active priorities and
    // EOIcount kept, the host's new (empty) list registers.
    assert_eq!(rig.enter_gic(0, &[])[0], status::SUCCESS);
    let loads = rig.machine().take_vgic_loads();
    assert_eq!(loads[0].hcr, INITIAL_HCR | 1 << 27);
    assert_eq!((loads[0].vmcr, loads[0].ap1r[0]), (0xF800_0002, 0x8));
    assert!(loads[0].lrs.iter().all(|&l| l == 0));
}

#[test]
fn an_invalid_list_register_is_not_looked_at() {
    let rig = setup(true);
    script(rig.machine(), vec![Box::new(|_, _, _| irq())]);
    // State bits 0: everything else may be garbage.
    let garbage = (1u64 << 62) - 1;
    assert_eq!(
        rig.enter_gic(0, &[garbage, lr(40, 0xA0)])[0],
        status::SUCCESS
    );
    assert_eq!(rig.machine().take_vgic_loads()[0].lrs[0], garbage);
}

#[test]
fn gic_state_taken_even_when_a_completion_then_fails() {
    let rig = setup(true);
    script(rig.machine(), vec![Box::new(|_, _, _| irq())]);
    assert_eq!(rig.enter_gic(0x4, &[])[0], status::SUCCESS);
    // EMUL_MMIO after an IRQ exit is refused, but only after the GIC fields were taken.
    assert_eq!(
        rig.enter_full(rig.rec, 1, &[], 0x10, &[lr(33, 0)])[0],
        status::REC
    );
    script(rig.machine(), vec![Box::new(|_, _, _| irq())]);
    assert_eq!(rig.enter_gic(0x8, &[])[0], status::SUCCESS);
    let loads = rig.machine().take_vgic_loads();
    assert_eq!(loads.len(), 2);
    assert_eq!(loads[1].hcr, INITIAL_HCR | 0x8);
}

#[test]
fn a_timer_that_fired_while_the_host_ran_exits_before_the_realm_runs() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![Box::new(|_, _, ctx| {
            // The realm arms its virtual timer (deadline not reached) and calls the host.
            ctx.el1.cntv_ctl = timer_ctl::ENABLE;
            ctx.el1.cntv_cval = 0x1234;
            rsi_call(ctx, rsi::VERSION, &[1 << 16]);
            irq()
        })],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(EXIT_CNTV_CTL), timer_ctl::ENABLE);
    assert_eq!(rig.exit(EXIT_CNTV_CTL + 8), 0x1234, "CVAL (CNTVOFF is 0)");
    assert_eq!(rig.machine().take_timer_masks(), [TimerOutputs::default()]);
    assert_eq!(rig.machine().take_realm_entries().len(), 1);

    // The deadline passes while the host has the CPU: the next entry is an IRQ exit and
    // the realm does not run (no script step is left).
    rig.machine().set_timer_conditions(TimerOutputs {
        virt: true,
        phys: false,
    });
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), irq_reason());
    assert_eq!(
        rig.exit(EXIT_CNTV_CTL),
        timer_ctl::ENABLE | timer_ctl::ISTATUS
    );
    assert!(rig.machine().take_realm_entries().is_empty());

    // Now the host knows: the realm runs with the asserted timer masked, and takes the
    // timer interrupt the host injects through a list register.
    script(
        rig.machine(),
        vec![Box::new(|m, _, ctx| {
            m.with_live_vgic(|gic| gic.lrs[0] = 0);
            ctx.el1.cntv_ctl |= timer_ctl::IMASK;
            irq()
        })],
    );
    assert_eq!(rig.enter_gic(0, &[lr(27, 0xA0)])[0], status::SUCCESS);
    assert_eq!(
        rig.machine().take_timer_masks(),
        [TimerOutputs {
            virt: true,
            phys: false
        }]
    );
    assert_eq!(rig.machine().take_realm_entries().len(), 1);
    assert_eq!(rig.exit(EXIT_GIC_LRS), 0, "the realm handled vINTID 27");
    assert_eq!(
        rig.exit(EXIT_CNTV_CTL),
        timer_ctl::ENABLE | timer_ctl::IMASK | timer_ctl::ISTATUS
    );

    // Masked by the realm, the timer no longer asserts: no exit without running.
    script(rig.machine(), vec![Box::new(|_, _, _| irq())]);
    assert_eq!(rig.enter_gic(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.machine().take_realm_entries().len(), 1);
}

#[test]
fn a_timer_that_stopped_asserting_is_reported_too() {
    let rig = setup(true);
    script(
        rig.machine(),
        vec![Box::new(|_, _, ctx| {
            ctx.el1.cntp_ctl = timer_ctl::ENABLE | timer_ctl::ISTATUS;
            irq()
        })],
    );
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    // The host moved nothing, but the physical timer's condition went away (CVAL rewritten
    // by nobody: the counter wrapped, say).
    rig.machine().set_timer_conditions(TimerOutputs::default());
    assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
    assert_eq!(rig.exit(0), irq_reason());
    assert_eq!(rig.exit(EXIT_CNTP_CTL), timer_ctl::ENABLE);
    assert_eq!(rig.exit(EXIT_CNTV_CTL), 0);
    assert!(
        rig.machine().take_realm_entries().len() == 1,
        "only the first run"
    );
}
