//! A store file that is corrupt, or in use: the server and `endure admin check` say which,
//! plainly, with their own exit codes — never "is another server using it?" for a corrupt
//! file.

use std::io::{Seek, SeekFrom, Write};

use crate::processes::{Server, cli, run};

/// Overwrites every other page after the first with garbage (the header stays readable).
fn corrupt(path: &std::path::Path) {
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let pages = file.metadata().unwrap().len() / 4096;
    for page in (1..pages).step_by(2) {
        file.seek(SeekFrom::Start(page * 4096)).unwrap();
        file.write_all(&[0xa5; 4096]).unwrap();
    }
    file.sync_all().unwrap();
}

#[test]
fn a_corrupt_store_is_named_corrupt_and_a_store_in_use_is_named_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dev.redb");
    let db_arg = db.to_str().unwrap();
    let server = Server::start(&db, 0, &[]);
    for index in 0..20 {
        let id = format!("order-{index}");
        let started = cli(
            &server.address,
            &["workflow", "start", "--type", "T", "-q", "q", "-w", &id],
        );
        assert_eq!(started.code, 0, "{started:?}");
    }
    let in_use = run(&["admin", "check", "--db", db_arg]);
    assert_eq!(in_use.code, 4, "{in_use:?}");
    assert!(
        in_use.stderr.contains("open in another process"),
        "{in_use:?}"
    );
    assert!(server.terminate(), "the server stops cleanly");

    let sound = run(&["admin", "check", "--db", db_arg]);
    assert_eq!(sound.code, 0, "{sound:?}");
    assert!(sound.stdout.contains("is sound"), "{sound:?}");
    assert!(
        sound
            .stdout
            .lines()
            .any(|line| line.starts_with("executions") && line.contains(" 20 records")),
        "{sound:?}"
    );

    corrupt(&db);
    let checked = run(&["admin", "check", "--db", db_arg]);
    assert_eq!(checked.code, 6, "{checked:?}");
    assert!(checked.stderr.contains("is corrupt"), "{checked:?}");
    let opened = run(&["server", "start-dev", "--db", db_arg, "--port", "0"]);
    assert_eq!(opened.code, 6, "{opened:?}");
    assert!(
        opened.stderr.contains("corrupt") && opened.stderr.contains("endure admin check"),
        "{opened:?}"
    );
    assert!(!opened.stderr.contains("another server"), "{opened:?}");
}
