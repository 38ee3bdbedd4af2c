//! `endure operator search-attribute create | list | remove` and `server start-dev
//! --search-attribute`: list filters may name only the attributes a namespace knows, as in
//! Temporal, and a typo is a usage error (exit 2), not an empty list.

use crate::processes::{Server, cli, fails, ok};

#[test]
fn search_attributes_are_registered_listed_removed_and_checked_in_filters() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start_limited(
        "true",
        &dir.path().join("dev.redb"),
        &[
            "--search-attribute",
            "CustomerTier=Keyword",
            "--namespace",
            "team-a",
        ],
        &log,
    );
    let at = server.address.as_str();

    // Registered at start in every namespace: filters may name it.
    for namespace in ["default", "team-a"] {
        let count = ok(cli(
            at,
            &[
                "workflow",
                "count",
                "-n",
                namespace,
                "-q",
                "CustomerTier = 'gold'",
                "-o",
                "json",
            ],
        ))
        .json();
        assert_eq!(count["count"], 0);
    }
    // A typo is refused, saying which attribute and how to register it.
    fails(
        cli(at, &["workflow", "list", "-q", "CustomerTeir = 'gold'"]),
        2,
        "unknown search attribute \"CustomerTeir\"",
    );

    ok(cli(
        at,
        &[
            "operator",
            "search-attribute",
            "create",
            "--name",
            "Amount",
            "--type",
            "int",
            "--name",
            "Due",
            "--type",
            "Datetime",
        ],
    ));
    let listing = ok(cli(
        at,
        &["operator", "search-attribute", "list", "-o", "json"],
    ))
    .json();
    assert_eq!(
        listing["custom"],
        serde_json::json!({ "Amount": "Int", "CustomerTier": "Keyword", "Due": "Datetime" })
    );
    assert_eq!(listing["system"]["WorkflowType"], "Keyword");
    let text = ok(cli(at, &["operator", "search-attribute", "list"])).stdout;
    assert!(text.lines().next().unwrap().starts_with("NAME"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>() == ["Amount", "Int", "custom"]),
        "{text}"
    );
    ok(cli(
        at,
        &[
            "workflow",
            "list",
            "-q",
            "Amount > 10 AND Due > '2026-01-01T00:00:00Z'",
        ],
    ));

    // Mistakes: a type name, unpaired flags, another type, removing without --yes.
    fails(
        cli(
            at,
            &[
                "operator",
                "search-attribute",
                "create",
                "--name",
                "X",
                "--type",
                "Number",
            ],
        ),
        2,
        "is not a search attribute type",
    );
    fails(
        cli(
            at,
            &[
                "operator",
                "search-attribute",
                "create",
                "--name",
                "X",
                "--name",
                "Y",
                "--type",
                "Int",
            ],
        ),
        2,
        "one --type per --name",
    );
    fails(
        cli(
            at,
            &[
                "operator",
                "search-attribute",
                "create",
                "--name",
                "Amount",
                "--type",
                "Text",
            ],
        ),
        2,
        "registered as Int, not Text",
    );
    fails(
        cli(
            at,
            &["operator", "search-attribute", "remove", "--name", "Amount"],
        ),
        2,
        "add --yes",
    );
    ok(cli(
        at,
        &[
            "operator",
            "search-attribute",
            "remove",
            "--name",
            "Amount",
            "--yes",
        ],
    ));
    fails(
        cli(at, &["workflow", "count", "-q", "Amount > 10"]),
        2,
        "unknown search attribute \"Amount\"",
    );
}
