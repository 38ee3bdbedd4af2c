//! The disk's floor under a workload: what `commits` durable commits would cost if each
//! were one 4 KiB write followed by `fdatasync`, measured on the store's own directory in the
//! same run (so a busy or throttled disk shows in both figures alike).

#![allow(
    clippy::disallowed_methods,
    reason = "benchmarks measure the wall clock; nothing here is workflow code"
)]

use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

/// The bytes of one write: a page.
const WRITE_BYTES: usize = 4096;

/// How many times the sequence is timed; the median is the floor.
const ROUNDS: usize = 51;

/// Where the floor's writes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writes {
    /// Appended to a new file, each growing it: the floor `endure bench latency` is
    /// measured against (issue's definition: four 4 KiB writes, each followed by
    /// `fdatasync`).
    Appended,
    /// Over bytes already written and synced, as the write-ahead log's records go (its file
    /// is zero-filled when made): `fdatasync` then has no metadata to write, the cheapest
    /// durable write the disk offers.
    Overwritten,
}

/// The median time, in milliseconds, of `commits` sequential 4 KiB writes each followed by
/// `fdatasync`, placed as `writes` says, in a scratch file of `directory` (removed after).
pub(crate) fn fdatasync_floor_ms(
    directory: &Path,
    commits: usize,
    writes: Writes,
) -> io::Result<f64> {
    let path = directory.join("floor.scratch");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let page = vec![0x5a_u8; WRITE_BYTES];
    if writes == Writes::Overwritten {
        let zeros = vec![0_u8; WRITE_BYTES * commits];
        file.write_all_at(&zeros, 0)?;
        file.sync_all()?;
    }
    let mut offset = 0_u64;
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        if writes == Writes::Overwritten {
            offset = 0;
        }
        let began = Instant::now();
        for _ in 0..commits {
            file.write_all_at(&page, offset)?;
            file.sync_data()?;
            offset += WRITE_BYTES as u64;
        }
        rounds.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    std::fs::remove_file(&path)?;
    rounds.sort_by(f64::total_cmp);
    Ok(rounds[rounds.len() / 2])
}

/// CPU time (user and system) a process has used so far, in milliseconds, from
/// `/proc/<pid>/stat` (`self` for this one); `None` where it cannot be read. Linux counts
/// it in ticks of 1/100 s (`USER_HZ`), so figures are good to 10 ms in total.
pub(crate) fn cpu_ms(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_measured_and_its_file_removed() {
        let directory = tempfile::tempdir().unwrap();
        for writes in [Writes::Appended, Writes::Overwritten] {
            let floor = fdatasync_floor_ms(directory.path(), 2, writes).unwrap();
            assert!(floor > 0.0);
            assert!(!directory.path().join("floor.scratch").exists());
        }
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let used = cpu_ms("self").unwrap();
        assert!(used >= 0.0);
        assert_eq!(cpu_ms("no-such-process"), None);
    }
}
