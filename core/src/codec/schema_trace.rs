//! Traces the serde shape of every persisted type: the schema snapshots the codec reads to
//! decode positional bodies of earlier format versions (`codec/schemas/`, docs/format.md).
//! Test support (feature `testing`); nothing at run time traces.
//!
//! serde-reflection explores a type by deserializing it from made-up values. It explores a
//! root enum one variant per pass until every variant is seen, but an enum nested behind a
//! sequence or an option whose shape it already knows is not met again, so every persisted
//! enum is traced as a root of its own, and the result is checked: every enum met is in
//! `ENUMS`'s list, and each has as many variants as its Rust type.

use serde::de::{self, DeserializeOwned, Visitor};
use serde_reflection::{ContainerFormat, Registry, Samples, Tracer, TracerConfig};

use crate::attribute_registry::SearchAttributeType;
use crate::command::Command;
use crate::cron::CronSchedule;
use crate::enums::VersioningBehavior;
use crate::enums::*;
use crate::execution::{
    ActivityOutcome, BufferedEvent, ChildOutcome, ExecutionMachine, PendingActivityState,
    WorkflowTaskKind,
};
use crate::failure::{Failure, FailureInfo};
use crate::history::{EventAttributes, History, HistoryEvent};
use crate::namespace::NamespaceRecord;
use crate::options::{ActivityOptions, StartWorkflowOptions};
use crate::payload::Payloads;
use crate::search_attributes::SearchAttributeValue;
use crate::storage::{
    CurrentRun, DispatchRow, DispatchTask, ExecutionRow, RequestRecord, VisibilityRow,
};
use crate::update::UpdateOutcome;
use crate::versioning::{TaskDirective, VersionDrainageStatus, VersioningOverride};

/// One persisted enum: how to trace it and how many variants its Rust type has.
struct EnumRoot {
    trace: fn(&mut Tracer, &Samples) -> serde_reflection::Result<()>,
    declared: fn() -> Option<(&'static str, usize)>,
}

macro_rules! enum_roots {
    ($($t:ty),* $(,)?) => {
        &[$(EnumRoot {
            trace: |tracer, samples| tracer.trace_type::<$t>(samples).map(|_| ()),
            declared: declared_variants::<$t>,
        }),*]
    };
}

/// Every enum reachable from a record kind's type.
const ENUMS: &[EnumRoot] = enum_roots!(
    ActivityCancellationType,
    ActivityOutcome,
    BufferedEvent,
    CancelExternalWorkflowExecutionFailedCause,
    ChildOutcome,
    Command,
    ContinueAsNewInitiator,
    DispatchTask,
    EventAttributes,
    FailureInfo,
    ParentClosePolicy,
    PendingActivityState,
    RetryState,
    SearchAttributeType,
    SearchAttributeValue,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
    TaskQueueKind,
    TimeoutType,
    UpdateAdmittedEventOrigin,
    UpdateOutcome,
    TaskDirective,
    VersionDrainageStatus,
    VersioningBehavior,
    VersioningOverride,
    WorkflowExecutionStatus,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
    WorkflowTaskKind,
);

/// Traces every record kind's type, as this build encodes it.
pub fn trace() -> Result<Registry, String> {
    let config = TracerConfig::default()
        .is_human_readable(false)
        .record_samples_for_newtype_structs(true)
        .default_u64_value(1)
        .default_u32_value(1)
        .default_string_value("x".into());
    let mut tracer = Tracer::new(config);
    // Two named newtypes whose values the explorer cannot make up are sampled: a cron
    // schedule (no default string parses) and a failure chain (the explorer tries a
    // sequence whose element it knows as empty, which a chain refuses). The failure sample
    // holds no map, which the explorer cannot replay; its info is traced as a root.
    let mut samples = Samples::new();
    let cron = CronSchedule::parse("0 * * * *").map_err(|error| error.to_string())?;
    let sampled = [
        tracer.trace_value(&mut samples, &cron).map(|_| ()),
        tracer
            .trace_value(&mut samples, &Failure::terminated("x"))
            .map(|_| ()),
    ];
    for result in sampled {
        result.map_err(|error| format!("sampling: {error}"))?;
    }
    for root in ENUMS {
        (root.trace)(&mut tracer, &samples).map_err(|error| error.to_string())?;
    }
    macro_rules! trace_structs {
        ($($t:ty),* $(,)?) => {$(
            tracer
                .trace_type::<$t>(&samples)
                .map_err(|error| format!("tracing {}: {error}", stringify!($t)))?;
        )*};
    }
    trace_structs!(
        HistoryEvent,
        History,
        ActivityOptions,
        StartWorkflowOptions,
        Failure,
        Payloads,
        ExecutionRow,
        CurrentRun,
        DispatchRow,
        RequestRecord,
        VisibilityRow,
        ExecutionMachine,
        NamespaceRecord,
    );
    let registry = tracer.registry().map_err(|error| error.to_string())?;
    check_enums(&registry)?;
    Ok(registry)
}

/// Every enum in `registry` is in [`ENUMS`] with all its variants.
fn check_enums(registry: &Registry) -> Result<(), String> {
    let declared: Vec<(&str, usize)> = ENUMS.iter().filter_map(|root| (root.declared)()).collect();
    for (name, container) in registry {
        let ContainerFormat::Enum(variants) = container else {
            continue;
        };
        let Some((_, count)) = declared.iter().find(|(known, _)| known == name) else {
            return Err(format!(
                "enum {name} is persisted but not in schema_trace::ENUMS; add it"
            ));
        };
        if variants.len() != *count {
            return Err(format!(
                "enum {name} traced with {} of its {count} variants",
                variants.len()
            ));
        }
    }
    Ok(())
}

/// The serde name and variant count of enum `T`, read from what its derived
/// `Deserialize` asks for.
fn declared_variants<T: DeserializeOwned>() -> Option<(&'static str, usize)> {
    let mut probe = EnumProbe(None);
    let _ = T::deserialize(&mut probe);
    probe.0
}

/// A deserializer that only records the enum it is asked for.
struct EnumProbe(Option<(&'static str, usize)>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Self
    }
}

impl<'de> de::Deserializer<'de> for &mut EnumProbe {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0 = Some((name, variants.len()));
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}
