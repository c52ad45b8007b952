//! Resident memory of the processes under test, from `/proc/<pid>/status`.

use anyhow::Context;

/// `VmRSS` in bytes from the text of `/proc/<pid>/status`.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    let unit = parts.next().unwrap_or("kB");
    let factor = match unit {
        "kB" | "KB" => 1024,
        "mB" | "MB" => 1024 * 1024,
        "B" => 1,
        _ => return None,
    };
    Some(value * factor)
}

/// `VmHWM` (peak RSS) in bytes.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    parse_vm_rss(&line.replacen("VmHWM:", "VmRSS:", 1))
}

/// Sum of `VmRSS` over `pids`.
pub fn rss_of(pids: &[u32]) -> anyhow::Result<u64> {
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        total += parse_vm_rss(&status).with_context(|| format!("no VmRSS for pid {pid}"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tledgerline-serv\nVmPeak:\t  123456 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nRssAnon:\t    8000 kB\n";

    #[test]
    fn reads_vm_rss_and_hwm_in_bytes() {
        assert_eq!(parse_vm_rss(STATUS), Some(10240 * 1024));
        assert_eq!(parse_vm_hwm(STATUS), Some(20480 * 1024));
    }

    #[test]
    fn missing_or_odd_lines_are_none() {
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t abc kB\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t 12 parsecs\n"), None);
    }

    #[test]
    fn own_process_has_a_resident_size() {
        assert!(rss_of(&[std::process::id()]).unwrap() > 0);
    }
}
