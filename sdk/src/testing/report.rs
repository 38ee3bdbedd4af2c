//! What a failing seed leaves behind: the seed, the command that reruns it, the faults
//! injected in order, and every run's history saved as JSON (the export format the
//! [`Replayer`](crate::Replayer) and `endure workflow show -o json` use).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use endure_core::history::{HistoryEvent, HistoryExport};

/// The environment variable that runs one seed only (the rerun command sets it).
pub const SEED_VARIABLE: &str = "ENDURE_SIM_SEED";

/// The environment variable naming where failing seeds' reports are written (default
/// `target/endure-sim` of the workspace the test runs in).
pub const REPORTS_VARIABLE: &str = "ENDURE_SIM_REPORTS";

/// One failing seed: why, the faults it injected, its histories, how to rerun it.
#[derive(Clone, Debug)]
pub struct SeedFailure {
    /// The test's name (the rerun command's filter).
    pub test: String,
    /// The seed.
    pub seed: u64,
    /// What failed: the scenario's error, an invariant's violation, or a panic's message.
    pub error: String,
    /// The faults injected, in order, one line each.
    pub faults: Vec<String>,
    /// Every run's history, by `workflow-id/run-id`.
    pub histories: BTreeMap<String, Vec<HistoryEvent>>,
    /// The shell command that reruns this seed alone.
    pub rerun: String,
    /// Where the report was saved, if it could be.
    pub saved_to: Option<PathBuf>,
}

impl SeedFailure {
    /// Writes the report under [`reports_dir`]: `failure.txt` (this report), `faults.txt`
    /// and one `<workflow-id>--<run-id>.json` per run; remembers where.
    pub fn save(&mut self) {
        let dir = reports_dir()
            .join(file_name(&self.test))
            .join(format!("seed-{}", self.seed));
        match self.write_to(&dir) {
            Ok(()) => self.saved_to = Some(dir),
            Err(error) => eprintln!("cannot save the report to {}: {error}", dir.display()),
        }
    }

    fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        // A stale report of the same seed would mix runs of two executions.
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("failure.txt"), self.to_string())?;
        std::fs::write(dir.join("faults.txt"), self.faults.join("\n") + "\n")?;
        for (run, events) in &self.histories {
            let json = HistoryExport::new(events.clone()).to_json();
            std::fs::write(dir.join(format!("{}.json", file_name(run))), json)?;
        }
        Ok(())
    }
}

impl std::fmt::Display for SeedFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} failed with seed {}: {}",
            self.test, self.seed, self.error
        )?;
        writeln!(f, "rerun it with:\n  {}", self.rerun)?;
        writeln!(f, "faults injected ({}):", self.faults.len())?;
        for fault in &self.faults {
            writeln!(f, "  {fault}")?;
        }
        write!(f, "runs: {}", self.histories.len())?;
        if let Some(dir) = &self.saved_to {
            write!(f, "; histories and this report saved in {}", dir.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for SeedFailure {}

/// Where reports go: `$ENDURE_SIM_REPORTS`, else `target/endure-sim` beside the nearest
/// `Cargo.lock` above the working directory (the workspace's), else under the temporary
/// directory.
pub fn reports_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(REPORTS_VARIABLE) {
        return PathBuf::from(dir);
    }
    let workspace = std::env::current_dir().ok().and_then(|dir| {
        dir.ancestors()
            .find(|dir| dir.join("Cargo.lock").exists())
            .map(Path::to_path_buf)
    });
    match workspace {
        Some(dir) => dir.join("target").join("endure-sim"),
        None => std::env::temp_dir().join("endure-sim"),
    }
}

/// `name` with every character a file name should not hold replaced by `_`; `/` (between
/// a workflow id and its run id) becomes `--`.
fn file_name(name: &str) -> String {
    name.replace('/', "--")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a caught panic said (its message, when it has one).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The seeds to run: `ENDURE_SIM_SEED` alone if it is set (the rerun command), else `seeds`.
pub fn seeds_to_run(seeds: impl IntoIterator<Item = u64>) -> Vec<u64> {
    match std::env::var(SEED_VARIABLE)
        .ok()
        .and_then(|seed| seed.trim().parse().ok())
    {
        Some(seed) => vec![seed],
        None => seeds.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(file_name("order-1/0c1d"), "order-1--0c1d");
        assert_eq!(file_name("a b:c"), "a_b_c");
    }

    #[test]
    fn a_report_is_saved_and_said() {
        let dir = std::env::temp_dir().join(format!("endure-report-{}", std::process::id()));
        let failure = SeedFailure {
            test: "t".into(),
            seed: 9,
            error: "boom".into(),
            faults: vec!["KillWorker on w".into()],
            histories: BTreeMap::from([("wf/run".to_owned(), Vec::new())]),
            rerun: "ENDURE_SIM_SEED=9 cargo test t".into(),
            saved_to: None,
        };
        failure.write_to(&dir).unwrap();
        assert!(dir.join("wf--run.json").exists());
        let text = std::fs::read_to_string(dir.join("failure.txt")).unwrap();
        assert!(text.contains("t failed with seed 9: boom"), "{text}");
        assert!(text.contains("ENDURE_SIM_SEED=9 cargo test t"), "{text}");
        assert!(text.contains("KillWorker on w"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
