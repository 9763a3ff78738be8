//! Links the server with packed relative relocations (`-z pack-relative-relocs`, DT_RELR) when
//! the toolchain and the C library here support them.
//!
//! Why: the executable is position-independent, and the loader applies some 54,000 relative
//! relocations at every start. As classic entries they are a 1.3 MB table, read in full at
//! start-up and then left resident; packed they are 15 KB. Measured with the same code, an idle
//! server's RSS is about 2.4 MB smaller (BENCHMARKS.md, section 5). Nothing else changes: the
//! same relocations are applied, so address-space randomisation is untouched.
//!
//! DT_RELR needs GNU ld 2.38 or lld, and glibc 2.36 at run time. The flag is therefore only
//! added when a probe program linked with it here runs here; a build for another target, or on
//! an older system, links as before. Nothing is downloaded.
//!
//! The probe links with the linker Cargo resolved for the target (`target.<triple>.linker`,
//! passed as `RUSTC_LINKER`), else `$CC`, else `cc`, the driver rustc itself invokes. Since
//! Rust 1.90 that driver is handed rustc's own lld on x86_64 Linux; lld has known the flag
//! since version 15, older than any lld rustc ships, so a driver whose system linker passes the
//! probe links the server too. A linker named only in `RUSTFLAGS` (`-C linker=`) is not
//! visible here: that linker gets the flag too, and one too old for it refuses the link or warns
//! and links the classic table, never a broken binary.

use std::path::PathBuf;
use std::process::Command;

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if packed_relocations_work() {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}

fn packed_relocations_work() -> bool {
    let (Ok(target), Ok(host)) = (std::env::var("TARGET"), std::env::var("HOST")) else {
        return false;
    };
    // Only a native Linux build with glibc can be probed by running the result.
    if target != host || !target.contains("linux-gnu") {
        return false;
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("relr_probe.c");
    let probe = out.join("relr_probe");
    // A pointer in initialised data: the probe has a relative relocation to pack.
    let program = "static const char *p = \"relr\";\nint main(void) { return p[0] != 'r'; }\n";
    if std::fs::write(&source, program).is_err() {
        return false;
    }
    let linker = std::env::var("RUSTC_LINKER")
        .or_else(|_| std::env::var("CC"))
        .unwrap_or_else(|_| "cc".to_owned());
    // `CC` may carry a wrapper or flags of its own ("ccache gcc", "gcc -m64").
    let mut words = linker.split_whitespace();
    let Some(driver) = words.next() else {
        return false;
    };
    let linked = Command::new(driver)
        .args(words)
        .args(["-pie", "-fPIE", FLAG, "-o"])
        .arg(&probe)
        .arg(&source)
        .output();
    // A linker that does not know the flag may warn and ignore it: only a clean link counts.
    let clean = linked.is_ok_and(|o| o.status.success() && o.stderr.is_empty());
    clean && Command::new(&probe).status().is_ok_and(|s| s.success())
}
