//! The role × RPC table: every RPC (a sample of each, from the golden frames) asked by a
//! caller holding each role — in the RPC's namespace, in another one, system-wide, or none —
//! against the table below, written out by hand so a change to `Request::needs` that moves
//! an RPC to another role fails here.

use endure_core::access::{Claims, Need, Role, authorize};
use endure_core::protocol::Request;
use endure_core::*;

use crate::protocol_frames::samples;

/// What each RPC needs, as documented in `access.rs`: the lowest role in its namespace,
/// `None` for the health check (anyone), and the two system-scoped calls apart.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expected {
    Anyone,
    AnyCredential,
    SystemAdmin,
    AtLeast(Role),
}

fn expected(rpc: &str) -> Expected {
    use Expected::*;
    use Role::*;
    match rpc {
        "Health" => Anyone,
        "ListNamespaces" | "DescribeCluster" => AnyCredential,
        "CreateNamespace" | "Forwarded" | "ApplyToRun" | "StartChild" => SystemAdmin,
        "DescribeNamespace"
        | "ListSearchAttributes"
        | "GetHistory"
        | "GetHistoryPage"
        | "ListWorkflows"
        | "CountWorkflows"
        | "AwaitWorkflowClose"
        | "DescribeWorkflow"
        | "QueryWorkflow"
        | "DescribeTaskQueue"
        | "DescribeSchedule"
        | "ListSchedules"
        | "DescribeWorkerDeployment"
        | "ListWorkerDeployments" => AtLeast(Reader),
        "PollWorkflowTask"
        | "CompleteWorkflowTask"
        | "FailWorkflowTask"
        | "ResetStickyTaskQueue"
        | "RespondQueryTask"
        | "PollActivityTask"
        | "RecordActivityHeartbeat"
        | "CompleteActivityTask"
        | "FailActivityTask"
        | "CancelActivityTask" => AtLeast(Worker),
        "StartWorkflow"
        | "SignalWithStartWorkflow"
        | "UpdateWorkflow"
        | "UpdateWithStartWorkflow"
        | "PollUpdate"
        | "SignalWorkflow"
        | "RequestCancelWorkflow"
        | "TerminateWorkflow"
        | "ResetWorkflow"
        | "DeleteWorkflow"
        | "UpdateWorkflowExecutionOptions"
        | "CreateSchedule"
        | "UpdateSchedule"
        | "PatchSchedule"
        | "DeleteSchedule"
        | "SetWorkerDeploymentCurrentVersion"
        | "SetWorkerDeploymentRampingVersion"
        | "DeleteWorkerDeploymentVersion" => AtLeast(Writer),
        "UpdateNamespace" | "AddSearchAttributes" | "RemoveSearchAttributes" => AtLeast(Admin),
        other => panic!("{other} is missing from the role table"),
    }
}

/// The namespace most sample requests touch.
const SAMPLE_NAMESPACE: &str = "default";

fn holding(scope: &str, role: Role) -> Claims {
    let mut claims = Claims::new(format!("{scope}:{role}"));
    claims.grant(scope, role);
    claims
}

/// The namespaces a request touches (most samples: `default`; a namespace's own calls: the
/// sample namespace they name).
fn touched(request: &Request) -> Vec<String> {
    let mut namespaces = Vec::new();
    let _ = request.needs(|need| {
        if let Need::Role { namespace, .. } = need {
            namespaces.push(namespace.as_str().to_owned());
        }
        Ok::<(), ()>(())
    });
    namespaces
}

/// Claims holding `role` in every namespace `request` touches.
fn holding_for(request: &Request, role: Role) -> Claims {
    let mut claims = Claims::new(format!("a {role}"));
    for namespace in touched(request) {
        claims.grant(&namespace, role);
    }
    claims
}

#[test]
fn every_role_against_every_rpc_in_its_namespace() {
    let mut checked = 0;
    for (request, _) in samples() {
        let rpc = request.name();
        let expected = expected(rpc);
        // No credentials at all.
        assert_eq!(
            authorize(None, &request).is_ok(),
            expected == Expected::Anyone,
            "{rpc} without credentials"
        );
        for role in Role::ALL {
            let claims = holding_for(&request, role);
            let allowed = match expected {
                Expected::Anyone | Expected::AnyCredential => true,
                Expected::SystemAdmin => false,
                Expected::AtLeast(needed) => role >= needed,
            };
            let outcome = authorize(Some(&claims), &request);
            assert_eq!(outcome.is_ok(), allowed, "{rpc} by a {role}: {outcome:?}");
            if let (Err(denied), Expected::AtLeast(needed)) = (&outcome, expected) {
                // The denial names the role that was missing and the one held.
                assert_eq!(denied.needed, needed);
                let message = denied.to_string();
                assert!(message.contains(needed.name()), "{message}");
                assert!(message.contains(&format!("the {role} role")), "{message}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, Request::NAMES.len() * Role::ALL.len());
}

#[test]
fn a_role_in_another_namespace_allows_nothing_there() {
    for (request, _) in samples() {
        let rpc = request.name();
        let claims = holding("tenant-b", Role::Admin);
        let allowed = matches!(expected(rpc), Expected::Anyone | Expected::AnyCredential);
        let outcome = authorize(Some(&claims), &request);
        assert_eq!(
            outcome.is_ok(),
            allowed,
            "{rpc} by tenant-b's admin: {outcome:?}"
        );
        if let Err(denied) = outcome {
            assert!(denied.held.contains("no role"), "{denied}");
        }
    }
}

#[test]
fn a_system_role_holds_in_every_namespace_and_only_system_admin_creates_namespaces() {
    for (request, _) in samples() {
        let rpc = request.name();
        for role in Role::ALL {
            let claims = holding("system", role);
            let allowed = match expected(rpc) {
                Expected::Anyone | Expected::AnyCredential => true,
                Expected::SystemAdmin => role == Role::Admin,
                Expected::AtLeast(needed) => role >= needed,
            };
            assert_eq!(
                authorize(Some(&claims), &request).is_ok(),
                allowed,
                "{rpc} by system:{role}"
            );
        }
    }
}

#[test]
fn a_workflow_task_reaching_into_another_namespace_needs_a_writer_there() {
    let (request, _) = samples()
        .into_iter()
        .find(|(request, _)| request.name() == "CompleteWorkflowTask")
        .unwrap();
    let Request::CompleteWorkflowTask(mut completion) = request else {
        unreachable!()
    };
    let other = Namespace::new("tenant-b").unwrap();
    completion
        .commands
        .push(Command::SignalExternalWorkflowExecution(
            SignalExternalWorkflowExecutionCommandAttributes {
                namespace: Some(other.clone()),
                workflow_execution: WorkflowExecution {
                    workflow_id: WorkflowId::new("victim").unwrap(),
                    run_id: None,
                },
                signal_name: SignalName::new("drain").unwrap(),
                input: Payloads::default(),
                child_workflow_only: false,
                header: Header::default(),
            },
        ));
    let request = Request::CompleteWorkflowTask(completion);
    let worker_here = holding(SAMPLE_NAMESPACE, Role::Worker);
    let denied = authorize(Some(&worker_here), &request).unwrap_err();
    assert_eq!(denied.needed, Role::Writer);
    assert!(denied.scope.contains("tenant-b"), "{denied}");
    let mut both = worker_here.clone();
    both.grant("tenant-b", Role::Writer);
    assert!(authorize(Some(&both), &request).is_ok());
}

#[test]
fn permissions_are_read_as_temporal_writes_them() {
    let mut claims = Claims::new("alice");
    for permission in [
        "default:read",
        "default:write",
        "orders:WORKER",
        "system:read",
    ] {
        assert!(claims.grant_permission(permission), "{permission}");
    }
    for bad in ["default", "default:owner", ":"] {
        assert!(!claims.grant_permission(bad), "{bad}");
    }
    // The higher of two roles in one namespace wins; the system role counts everywhere.
    assert_eq!(claims.role_in("default"), Some(Role::Writer));
    assert_eq!(claims.role_in("orders"), Some(Role::Worker));
    assert_eq!(claims.role_in("elsewhere"), Some(Role::Reader));
    assert!(claims.sees_namespace("elsewhere"));
    assert!(!Claims::new("nobody").sees_namespace("default"));
}

#[test]
fn the_audited_calls_name_their_namespace_and_target() {
    let audited: Vec<&str> = samples()
        .iter()
        .filter_map(|(request, _)| request.audited().map(|_| request.name()))
        .collect();
    assert_eq!(
        audited,
        [
            "RequestCancelWorkflow",
            "TerminateWorkflow",
            "CreateNamespace",
            "UpdateNamespace",
            "ResetWorkflow",
            "DeleteWorkflow",
            "CreateSchedule",
            "UpdateSchedule",
            "PatchSchedule",
            "DeleteSchedule",
            "SetWorkerDeploymentCurrentVersion",
            "SetWorkerDeploymentRampingVersion",
            "DeleteWorkerDeploymentVersion",
            "AddSearchAttributes",
            "RemoveSearchAttributes",
        ]
    );
    for (request, _) in samples() {
        if let Some(audit) = request.audited() {
            let namespace = audit.namespace.as_str().to_owned();
            let create = request.name() == "CreateNamespace";
            assert!(
                create || touched(&request).contains(&namespace),
                "{audit:?}"
            );
            assert!(!audit.target.is_empty());
        }
    }
}
