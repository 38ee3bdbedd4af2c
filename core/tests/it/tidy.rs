//! Tidy: style rules of the whole workspace, checked inside `cargo test` (aesthetics
//! convention 19). Each rule says why it exists in its failure message.

use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core sits in the workspace root")
        .to_path_buf()
}

/// Every file under `directory` with one of `extensions`, skipping build output and git.
fn files(directory: &Path, extensions: &[&str], found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("readable directory").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !matches!(name, "target" | ".git" | "corpus" | "artifacts") {
                files(&path, extensions, found);
            }
        } else if extensions
            .iter()
            .any(|extension| path.extension().is_some_and(|e| e == *extension))
        {
            found.push(path);
        }
    }
}

fn sources(extensions: &[&str]) -> Vec<(PathBuf, String)> {
    let root = workspace_root();
    let mut found = Vec::new();
    files(&root, extensions, &mut found);
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("UTF-8 source");
            let relative = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
            (relative, text)
        })
        .collect()
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut missing = Vec::new();
    for (path, text) in sources(&["rs"]) {
        if !text.trim_start().starts_with("//!") {
            missing.push(path.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "these files do not start with a `//!` doc saying what the module is for: {missing:?}"
    );
}

#[test]
fn no_skipped_tests_or_stubs() {
    // Spelled in pieces so this file does not match itself.
    let banned = [
        (
            concat!("#[", "ignore"),
            "a skipped test proves nothing: fix it, or assert today's behaviour and name the issue",
        ),
        (
            concat!("#[", "should_panic"),
            "assert the error value instead of expecting a panic",
        ),
        (concat!("todo", "!("), "a stub is not done"),
        (concat!("unimplemented", "!("), "a stub is not done"),
        (
            concat!("dbg", "!("),
            "debug output does not belong in committed code",
        ),
    ];
    let mut found = Vec::new();
    for (path, text) in sources(&["rs"]) {
        for (line_index, line) in text.lines().enumerate() {
            for (pattern, why) in banned {
                if line.contains(pattern) {
                    found.push(format!(
                        "{}:{}: {pattern} — {why}",
                        path.display(),
                        line_index + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn todos_name_an_issue() {
    let mut found = Vec::new();
    for (path, text) in sources(&["rs", "md", "toml", "sh"]) {
        for (line_index, line) in text.lines().enumerate() {
            for marker in [concat!("TO", "DO"), concat!("FIX", "ME")] {
                if let Some(position) = line.find(marker)
                    && !line[position + marker.len()..].starts_with("(#")
                {
                    found.push(format!("{}:{}", path.display(), line_index + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "write {} as TODO(#issue) so it is tracked: {found:?}",
        concat!("TO", "DO")
    );
}

/// Determinism: an unbiased `tokio::select!` picks its first branch from tokio's own random
/// source, seeded from a process-wide counter that simulation does not control, so a seed
/// would not replay the same way twice in one process. Every `select!` says `biased;` and
/// orders its branches on purpose.
#[test]
fn every_select_is_biased() {
    let mut unbiased = Vec::new();
    for (path, text) in sources(&["rs"]) {
        if path.ends_with("tidy.rs") {
            continue;
        }
        let mut rest = text.as_str();
        while let Some(position) = rest.find("select! {") {
            let after = &rest[position + "select! {".len()..];
            let first = after.trim_start();
            let is_doc = rest[..position]
                .rsplit('\n')
                .next()
                .is_some_and(|line| line.trim_start().starts_with("//"));
            if !is_doc && !first.starts_with("biased;") {
                unbiased.push(path.display().to_string());
            }
            rest = after;
        }
    }
    assert!(
        unbiased.is_empty(),
        "start these select!s with `biased;` and order their branches: {unbiased:?}"
    );
}

#[test]
fn no_trailing_whitespace() {
    let mut found = Vec::new();
    for (path, text) in sources(&["rs", "md", "toml", "sh"]) {
        for (line_index, line) in text.lines().enumerate() {
            if line.ends_with(' ') || line.ends_with('\t') {
                found.push(format!("{}:{}", path.display(), line_index + 1));
            }
        }
    }
    assert!(found.is_empty(), "trailing whitespace: {found:?}");
}

/// The layering rule of DESIGN §2: core depends on no runtime, IO or randomness crate.
#[test]
fn core_depends_only_on_pure_crates() {
    let allowed = [
        "serde",
        "serde_json",
        "postcard",
        // The tagged body encoding (MessagePack) and byte strings in it.
        "rmp-serde",
        "rmp",
        "serde_bytes",
        "base64",
        // Test support only: traces the codec's schema snapshots.
        "serde-reflection",
        "thiserror",
        // Time zones (bundled database, no system reads) for schedule specs.
        "jiff",
        "proptest",
        "proptest-derive",
    ];
    let manifest =
        fs::read_to_string(workspace_root().join("core/Cargo.toml")).expect("core manifest");
    let mut section = "";
    let mut offending = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section != "[dependencies]" || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
        if !allowed.contains(&name) {
            offending.push(name.to_owned());
        }
    }
    assert!(
        offending.is_empty(),
        "endure-core must stay pure (no async runtime, IO, clock or randomness); it may depend only on {allowed:?}, not {offending:?}"
    );
}

#[test]
fn readme_names_the_test_command() {
    let readme = fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    assert!(
        readme.contains("scripts/test"),
        "README.md must name the test command, scripts/test"
    );
    assert!(
        workspace_root().join("ARCHITECTURE.md").is_file(),
        "ARCHITECTURE.md is the codemap newcomers read; keep it"
    );
}
