//! Peak resident memory of this process, per benchmark phase (Linux: `VmHWM` in
//! `/proc/self/status`, reset by writing 5 to `/proc/self/clear_refs`).

/// Starts a new phase: the peak is reset to the current resident size where the kernel
/// allows it. Returns whether it did; if not, the next peak is the process's whole life.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident set size in bytes since the last reset (or process start); `None`
/// where the operating system does not tell.
pub fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_peak_follows_an_allocation() {
        reset_peak();
        let before = peak_bytes().expect("VmHWM on Linux");
        // Touch 64 MiB so that it is resident.
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = peak_bytes().expect("VmHWM on Linux");
        assert!(
            after >= before + (60 << 20),
            "peak {before} → {after} after touching 64 MiB"
        );
    }
}
