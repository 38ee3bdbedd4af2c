//! `--env` profiles: named client flags kept in a file (`endure env …`), used as the
//! flags' defaults, with flags and `ENDURE_*` variables still winning.

use crate::processes::{Server, fails, ok, run_with};
use crate::worker::QUEUE;

#[test]
fn a_profile_supplies_address_and_namespace_and_flags_still_win() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &["team-a"]);
    let at = server.address.as_str();
    let file = dir.path().join("config").join("endure.toml");
    let file = file.to_str().unwrap();
    let endure = |args: &[&str]| run_with(args, &[("ENDURE_CONFIG_FILE", file)]);

    ok(endure(&[
        "env", "set", "--env", "prod", "-k", "address", "-v", at,
    ]));
    ok(endure(&[
        "env",
        "set",
        "--env",
        "prod",
        "-k",
        "namespace",
        "-v",
        "team-a",
    ]));
    let values = ok(endure(&["env", "get", "--env", "prod", "-o", "json"])).json();
    assert_eq!(
        values,
        serde_json::json!({ "address": at, "namespace": "team-a" })
    );
    let names = ok(endure(&["env", "list", "-o", "json"])).json();
    assert_eq!(names, serde_json::json!(["prod"]));
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("[env.prod]"), "{text}");

    // No --address or --namespace: the profile's.
    ok(endure(&[
        "workflow",
        "start",
        "--type",
        "Greet",
        "-t",
        QUEUE,
        "-w",
        "via-profile",
        "-i",
        "\"ada\"",
        "--env",
        "prod",
    ]));
    let described = ok(run_with(
        &[
            "workflow",
            "describe",
            "-w",
            "via-profile",
            "--address",
            at,
            "-n",
            "team-a",
            "-o",
            "json",
        ],
        &[],
    ))
    .json();
    assert_eq!(described["execution"]["workflow_id"], "via-profile");
    // ENDURE_ENV names the profile too, and a flag beats it: not in `default`.
    fails(
        run_with(
            &["workflow", "describe", "-w", "via-profile", "-n", "default"],
            &[("ENDURE_CONFIG_FILE", file), ("ENDURE_ENV", "prod")],
        ),
        3,
        "not found",
    );
    // So does an ENDURE_ADDRESS variable.
    fails(
        run_with(
            &["workflow", "list", "--env", "prod"],
            &[
                ("ENDURE_CONFIG_FILE", file),
                ("ENDURE_ADDRESS", "127.0.0.1:1"),
            ],
        ),
        4,
        "127.0.0.1:1",
    );

    // Mistakes say what to do.
    fails(
        endure(&["workflow", "list", "--env", "staging"]),
        2,
        "no profile \"staging\"",
    );
    fails(
        endure(&["env", "set", "--env", "prod", "-k", "adress", "-v", "x"]),
        2,
        "a profile sets address, namespace, output",
    );
    fails(
        endure(&["env", "delete", "--env", "prod", "-k", "output"]),
        3,
        "no prod.output",
    );
    ok(endure(&[
        "env",
        "delete",
        "--env",
        "prod",
        "-k",
        "namespace",
    ]));
    ok(endure(&["env", "delete", "--env", "prod"]));
    assert_eq!(
        ok(endure(&["env", "list", "-o", "json"])).json(),
        serde_json::json!([])
    );
    std::fs::write(file, "[env.prod\n").unwrap();
    fails(endure(&["workflow", "list"]), 2, "is not a profile file");
}
