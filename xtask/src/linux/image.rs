// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the VMM loads besides the kernel: the arm64 `Image` header, the initramfs (a `newc`
//! cpio archive written here: busybox, `/init`, the attestation modules, the challenge) and
//! the device tree (a DTS written here, compiled by `dtc`).

use std::path::Path;

/// The fields of the arm64 `Image` header (Documentation/arch/arm64/booting.rst) we use.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// Bytes the kernel occupies from its load address, BSS included.
    pub image_size: u64,
    /// `text_offset`.
    pub text_offset: u64,
}

impl Header {
    /// Parses and checks the header: magic "ARM\x64", little-endian, 4 KiB pages.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let word = |at: usize| {
            bytes
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                .unwrap_or(0)
        };
        if bytes.get(56..60) != Some(b"ARM\x64") {
            return Err("not an arm64 Image (no ARM\\x64 magic at offset 56)".into());
        }
        let flags = word(24);
        if flags & 1 != 0 || (flags >> 1) & 3 != 1 {
            return Err(format!(
                "Image flags {flags:#x}: big-endian or not 4 KiB pages"
            ));
        }
        Ok(Self {
            image_size: word(16),
            text_offset: word(8),
        })
    }
}

/// A `newc` cpio archive under construction.
pub struct Cpio {
    bytes: Vec<u8>,
    ino: u32,
}

impl Cpio {
    /// An empty archive.
    pub fn new() -> Self {
        Self {
            bytes: Vec::new(),
            ino: 1,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let fields = [
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.ino += 1;
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    /// A directory.
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), &[]);
    }

    /// A regular file.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, (0, 0), data);
    }

    /// A character device.
    pub fn chardev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, (major, minor), &[]);
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.bytes
    }
}

/// The `/init` script. With `lr.scripted` on the kernel command line it prints what the
/// test checks and powers off; otherwise it starts a shell on the console.
pub const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "INIT: reached /init: $(uname -a)"
dmesg | grep -E "RME:|psci:|software IO TLB" | sed 's/^/INIT: dmesg: /'
echo "INIT: realm config: RSI_REALM_CONFIG is not visible to user space; the VMM prints the parameters and xtask decodes the token's claims"
echo "INIT: CPUs online: $(cat /sys/devices/system/cpu/online)"
grep -m1 Features /proc/cpuinfo | sed 's/^/INIT: cpuinfo: /'
echo "INIT: $(grep MemTotal /proc/meminfo)"
for m in configfs tsm_report arm-cca-guest; do
    insmod /lib/modules/$m.ko || echo "INIT: insmod $m failed"
done
mount -t configfs none /sys/kernel/config
R=/sys/kernel/config/tsm/report/r0
attest() {
    mkdir -p $R || return 1
    cat /challenge.bin > $R/inblob || return 1
    echo "INIT: provider $(cat $R/provider), generation $(cat $R/generation)"
    cat $R/outblob > /tmp/token || return 1
    off=0
    hexdump -v -e '32/1 "%02x" "\n"' /tmp/token | while read -r h; do
        echo "TOKEN linux $off $h"
        off=$((off + 32))
    done
    echo "TOKEN linux end $(wc -c < /tmp/token)"
}
if grep -q lr.scripted /proc/cmdline; then
    attest || echo "INIT: attestation failed"
    echo "INIT: done, powering off"
    poweroff -f
fi
echo "INIT: attestation: mkdir $R; cat /challenge.bin > $R/inblob; cat $R/outblob | hexdump -C"
echo "INIT: then paste the hexdump into a file on the host and run: cargo xtask token <file>"
while true; do
    setsid cttyhack sh
done
"#;

/// The initramfs: busybox, `/init`, the decompressed modules, a 64-byte challenge.
pub fn initramfs(
    busybox: &Path,
    modules: &[(String, Vec<u8>)],
    challenge: &[u8; 64],
) -> Result<Vec<u8>, String> {
    let mut c = Cpio::new();
    for d in ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"] {
        c.dir(d);
    }
    c.chardev("dev/console", 5, 1);
    let bb = std::fs::read(busybox).map_err(|e| format!("{}: {e}", busybox.display()))?;
    c.file("bin/busybox", 0o755, &bb);
    c.file("init", 0o755, INIT.as_bytes());
    for (name, ko) in modules {
        c.file(&format!("lib/modules/{name}.ko"), 0o644, ko);
    }
    c.file("challenge.bin", 0o644, challenge);
    Ok(c.finish())
}

/// The device tree source (the reference's minimal tree, PSCI over SMC), with `/chosen`
/// holding the command line and the initramfs range.
pub fn dts(layout: &super::Layout, bootargs: &str) -> String {
    let mut cpus = String::new();
    for i in 0..layout.vcpus {
        cpus += &format!(
            "    cpu@{i} {{ device_type = \"cpu\"; compatible = \"arm,armv8\"; reg = <{i}>; \
             enable-method = \"psci\"; }};\n"
        );
    }
    let initrd = if layout.initrd_len == 0 {
        String::new()
    } else {
        format!(
            "linux,initrd-start = /bits/ 64 <{:#x}>; linux,initrd-end = /bits/ 64 <{:#x}>;",
            layout.initrd_ipa,
            layout.initrd_ipa + layout.initrd_len
        )
    };
    format!(
        r#"/dts-v1/;
/ {{
  interrupt-parent = <&gic>; #size-cells = <2>; #address-cells = <2>;
  compatible = "linux,dummy-virt";
  psci {{ compatible = "arm,psci-1.0", "arm,psci-0.2"; method = "smc"; }};
  memory@{ram:x} {{ device_type = "memory"; reg = <0x0 {ram:#x} 0x0 {ram_size:#x}>; }};
  cpus {{ #size-cells = <0>; #address-cells = <1>;
{cpus}  }};
  timer {{ compatible = "arm,armv8-timer"; always-on;
    interrupts = <1 13 4>, <1 14 4>, <1 11 4>, <1 10 4>; }};
  gic: intc@8000000 {{ compatible = "arm,gic-v3"; #interrupt-cells = <3>; interrupt-controller;
    #redistributor-regions = <1>;
    reg = <0x0 0x08000000 0x0 0x10000>, <0x0 0x080a0000 0x0 {gicr_size:#x}>; }};
  apb_pclk: apb-pclk {{ compatible = "fixed-clock"; #clock-cells = <0>; clock-frequency = <24000000>; }};
  uart0: pl011@9000000 {{ compatible = "arm,pl011", "arm,primecell"; reg = <0x0 0x09000000 0x0 0x1000>;
    interrupts = <0 1 4>; clocks = <&apb_pclk>, <&apb_pclk>; clock-names = "uartclk", "apb_pclk"; }};
  aliases {{ serial0 = &uart0; }};
  chosen {{ stdout-path = &uart0; bootargs = "{bootargs}"; {initrd} }};
}};
"#,
        ram = layout.ram_ipa,
        ram_size = layout.ram_size,
        gicr_size = 0x20000 * layout.vcpus,
    )
}
