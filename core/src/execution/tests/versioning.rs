//! Versioning on the machine (spec §5.13.1): each completed workflow task records its
//! worker's version and behavior, in history and in the run's state, and the run's next
//! tasks are directed by it; a reset rebuilds it from history.

use super::harness::*;
use crate::enums::VersioningBehavior;
use crate::execution::{ExecutionMachine, Input};
use crate::history::EventAttributes;
use crate::versioning::{TaskDirective, WorkerDeploymentVersion};

fn version(build: &str) -> WorkerDeploymentVersion {
    WorkerDeploymentVersion::new("orders", build).unwrap()
}

/// Completes the pending task as a worker of `build` declaring `behavior`.
fn complete_as(run: &mut Run, build: &str, behavior: VersioningBehavior) {
    complete_as_sticky(run, build, behavior, None);
}

/// [`complete_as`], the worker asking for its own (sticky) queue.
fn complete_as_sticky(
    run: &mut Run,
    build: &str,
    behavior: VersioningBehavior,
    sticky: Option<crate::execution::StickyAttributes>,
) {
    let token = run.start_task();
    let Input::WorkflowTaskCompleted(mut completion) = run.completion(token, vec![]) else {
        unreachable!("a completion")
    };
    completion.sticky = sticky;
    completion.deployment_version = Some(version(build));
    completion.versioning_behavior = behavior;
    let effects = run.apply(Input::WorkflowTaskCompleted(completion));
    let completed = effects
        .events
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskCompleted(completed) => Some(completed),
            _ => None,
        })
        .expect("WorkflowTaskCompleted");
    assert_eq!(completed.worker_deployment_version, Some(version(build)));
    assert_eq!(completed.versioning_behavior, behavior);
}

#[test]
fn a_new_run_is_routed_and_a_pinned_completion_pins_it() {
    let (mut run, _) = Run::start(options());
    assert_eq!(run.machine.versioning().directive(), TaskDirective::Route);
    complete_as(&mut run, "1", VersioningBehavior::Pinned);
    assert_eq!(
        run.machine.versioning().directive(),
        TaskDirective::Pinned(version("1"))
    );
    assert_eq!(
        run.machine.versioning().pinned_version(),
        Some(&version("1"))
    );
    // The signal's task goes to build 1's workers only.
    run.signal("go", None).unwrap();
    assert_eq!(
        run.machine.versioning().directive(),
        TaskDirective::Pinned(version("1"))
    );
}

#[test]
fn an_auto_upgrade_run_is_routed_whatever_version_last_ran_it() {
    let (mut run, _) = Run::start(options());
    complete_as(&mut run, "1", VersioningBehavior::AutoUpgrade);
    assert_eq!(run.machine.versioning().directive(), TaskDirective::Route);
    run.signal("go", None).unwrap();
    complete_as(&mut run, "2", VersioningBehavior::AutoUpgrade);
    assert_eq!(run.machine.versioning().version, Some(version("2")));
    assert_eq!(run.machine.versioning().pinned_version(), None);
}

#[test]
fn the_runs_versioning_survives_its_state_encoding_and_a_rebuild_from_history() {
    let (mut run, _) = Run::start(options());
    complete_as(&mut run, "1", VersioningBehavior::Pinned);
    run.signal("go", None).unwrap();
    let key = crate::storage::ExecutionKey {
        namespace: crate::ids::Namespace::default(),
        workflow_id: run.machine.workflow_id().clone(),
        run_id: crate::ids::RunId::from_u128(1),
    };
    let state = run.machine.to_state(&key).unwrap();
    let decoded: ExecutionMachine = crate::codec::decode(&state).unwrap();
    assert_eq!(decoded.versioning(), run.machine.versioning());
    run.start_task();
    let rebuilt =
        ExecutionMachine::rebuild(&run.machine, &run.history, crate::ids::RunId::from_u128(9))
            .unwrap();
    assert_eq!(rebuilt.versioning(), run.machine.versioning());
}

#[test]
fn an_override_pins_the_run_is_recorded_and_removing_it_restores_the_workers_behavior() {
    use crate::execution::Reply;
    use crate::versioning::VersioningOverride;
    let (mut run, _) = Run::start(options());
    complete_as(&mut run, "1", VersioningBehavior::AutoUpgrade);
    let update = |override_: Option<VersioningOverride>| Input::UpdateOptions {
        unset_versioning_override: override_.is_none(),
        versioning_override: override_,
        identity: "operator".into(),
    };
    let effects = run.apply(update(Some(VersioningOverride::Pinned(version("2")))));
    check(&effects.events, "5 WorkflowExecutionOptionsUpdated");
    assert_eq!(
        run.machine.versioning().directive(),
        TaskDirective::Pinned(version("2"))
    );
    assert_eq!(
        run.machine.versioning().effective_behavior(),
        VersioningBehavior::Pinned
    );
    // The same override again changes nothing and records nothing.
    let again = run.apply(update(Some(VersioningOverride::Pinned(version("2")))));
    assert!(again.events.is_empty());
    assert_eq!(again.reply, Reply::Duplicate);
    let effects = run.apply(update(None));
    check(&effects.events, "6 WorkflowExecutionOptionsUpdated");
    assert_eq!(run.machine.versioning().directive(), TaskDirective::Route);
    // A rebuild from history reads the override's events back.
    run.apply(update(Some(VersioningOverride::AutoUpgrade)));
    run.signal("go", None).unwrap();
    run.start_task();
    let rebuilt =
        ExecutionMachine::rebuild(&run.machine, &run.history, crate::ids::RunId::from_u128(9))
            .unwrap();
    assert_eq!(
        rebuilt.versioning().override_,
        Some(VersioningOverride::AutoUpgrade)
    );
}

#[test]
fn an_override_to_another_version_sends_the_next_task_to_the_normal_queue_not_the_sticky_one() {
    use crate::versioning::VersioningOverride;
    let sticky = || crate::execution::StickyAttributes {
        task_queue: crate::ids::TaskQueueName::new("worker-1-sticky").unwrap(),
        schedule_to_start_timeout: std::time::Duration::from_secs(10),
    };
    let scheduled_on = |effects: &crate::execution::Effects| {
        effects
            .events
            .iter()
            .find_map(|event| match &event.attributes {
                EventAttributes::WorkflowTaskScheduled(scheduled) => {
                    Some(scheduled.task_queue.name.as_str().to_owned())
                }
                _ => None,
            })
            .expect("a WorkflowTaskScheduled")
    };
    let update = |build: &str| Input::UpdateOptions {
        versioning_override: Some(VersioningOverride::Pinned(version(build))),
        unset_versioning_override: false,
        identity: "operator".into(),
    };

    // Pinned to the version it runs on already: the worker's cache still serves.
    let (mut run, _) = Run::start(options());
    complete_as_sticky(&mut run, "1", VersioningBehavior::Pinned, Some(sticky()));
    run.apply(update("1"));
    assert_eq!(
        scheduled_on(&run.signal("go", None).unwrap()),
        "worker-1-sticky"
    );

    // Pinned to another: the next task is for that version's workers, by the normal queue.
    let (mut run, _) = Run::start(options());
    complete_as_sticky(&mut run, "1", VersioningBehavior::Pinned, Some(sticky()));
    run.apply(update("2"));
    assert_eq!(
        scheduled_on(&run.signal("go", None).unwrap()),
        queue().as_str()
    );
    assert_eq!(
        run.machine.versioning().directive(),
        TaskDirective::Pinned(version("2"))
    );
}
