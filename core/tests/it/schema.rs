//! Schema snapshots (`core/src/codec/schemas/`): the serde shape of the persisted types,
//! traced from the types themselves (`endure_core::codec::schema_trace`).
//!
//! `v3.json` is the last all-positional format, frozen: bodies of versions 1–3 are read
//! through it. From version 4 on only the positional record kinds need a snapshot (tagged
//! bodies describe themselves), so `v<FORMAT_VERSION>.json` holds the containers reachable
//! from them, and must equal what this build traces: a change to a positional type fails
//! here until FORMAT_VERSION is bumped and the new snapshot blessed
//! (`ENDURE_BLESS=1 cargo test -p endure-core --test it schema`); a released snapshot is
//! never edited.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use endure_core::codec::{BodyEncoding, FORMAT_VERSION, RecordKind, schema_trace};
use serde_reflection::{ContainerFormat, Format, Registry, VariantFormat};

fn schema_path(version: u8) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/codec/schemas/v{version}.json"))
}

/// The record kinds whose current body is positional, with their types' serde names.
fn positional_roots() -> Vec<&'static str> {
    use endure_core::codec::Record;
    let kinds = [
        (RecordKind::HistoryEvent, endure_core::HistoryEvent::BODY),
        (RecordKind::History, endure_core::History::BODY),
        (RecordKind::Command, endure_core::Command::BODY),
        (
            RecordKind::ActivityOptions,
            endure_core::ActivityOptions::BODY,
        ),
        (
            RecordKind::StartWorkflowOptions,
            endure_core::StartWorkflowOptions::BODY,
        ),
        (RecordKind::Failure, endure_core::Failure::BODY),
        (RecordKind::Payloads, endure_core::Payloads::BODY),
    ];
    kinds
        .into_iter()
        .filter(|(_, body)| *body == BodyEncoding::Positional)
        .map(|(kind, _)| match kind {
            // Transparent lists: their element is the root.
            RecordKind::History => "HistoryEvent",
            RecordKind::Payloads => "Payload",
            other => other.type_name(),
        })
        .collect()
}

/// The containers reachable from `roots`.
fn reachable(registry: &Registry, roots: &[&str]) -> Registry {
    fn walk(format: &Format, out: &mut Vec<String>) {
        match format {
            Format::TypeName(name) => out.push(name.clone()),
            Format::Option(inner) | Format::Seq(inner) => walk(inner, out),
            Format::Map { key, value } => {
                walk(key, out);
                walk(value, out);
            }
            Format::Tuple(elements) => elements.iter().for_each(|e| walk(e, out)),
            Format::TupleArray { content, .. } => walk(content, out),
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = roots.iter().map(|root| (*root).to_owned()).collect();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let container = &registry[&name];
        let mut found = Vec::new();
        match container {
            ContainerFormat::UnitStruct => {}
            ContainerFormat::NewTypeStruct(inner) => walk(inner, &mut found),
            ContainerFormat::TupleStruct(elements) => {
                elements.iter().for_each(|e| walk(e, &mut found));
            }
            ContainerFormat::Struct(fields) => {
                fields.iter().for_each(|f| walk(&f.value, &mut found));
            }
            ContainerFormat::Enum(variants) => {
                for variant in variants.values() {
                    match &variant.value {
                        VariantFormat::NewType(inner) => walk(inner, &mut found),
                        VariantFormat::Tuple(elements) => {
                            elements.iter().for_each(|e| walk(e, &mut found));
                        }
                        VariantFormat::Struct(fields) => {
                            fields.iter().for_each(|f| walk(&f.value, &mut found));
                        }
                        _ => {}
                    }
                }
            }
        }
        pending.extend(found);
    }
    registry
        .iter()
        .filter(|(name, _)| seen.contains(*name))
        .map(|(name, container)| (name.clone(), container.clone()))
        .collect()
}

#[test]
fn positional_types_match_the_current_schema_snapshot() {
    let traced = schema_trace::trace().unwrap();
    let current = reachable(&traced, &positional_roots());
    let json = serde_json::to_string_pretty(&current).unwrap() + "\n";
    let path = schema_path(FORMAT_VERSION);
    if std::env::var_os("ENDURE_BLESS").is_some() {
        fs::write(&path, &json).unwrap();
    }
    let Ok(snapshot) = fs::read_to_string(&path) else {
        panic!(
            "{} is missing; write it with ENDURE_BLESS=1 cargo test -p endure-core --test it schema",
            path.display()
        );
    };
    let snapshot: Registry = serde_json::from_str(&snapshot).unwrap();
    for (name, container) in &current {
        assert!(
            snapshot.get(name) == Some(container),
            "the positional encoding of {name} changed (or it is new); encoded data must stay \
             readable: bump FORMAT_VERSION and bless the new snapshot (docs/format.md)"
        );
    }
    assert_eq!(
        snapshot.len(),
        current.len(),
        "the snapshot has containers no longer used"
    );
}

#[test]
fn the_frozen_snapshot_covers_every_kind_of_its_version() {
    let text = fs::read_to_string(schema_path(3)).unwrap();
    let v3: Registry = serde_json::from_str(&text).unwrap();
    for root in [
        "HistoryEvent",
        "Command",
        "ActivityOptions",
        "StartWorkflowOptions",
        "Failure",
        "Payload",
        "ExecutionRow",
        "CurrentRun",
        "DispatchRow",
        "RequestRecord",
        "VisibilityRow",
        "ExecutionMachine",
        "NamespaceRecord",
    ] {
        assert!(v3.contains_key(root), "{root}");
    }
}
