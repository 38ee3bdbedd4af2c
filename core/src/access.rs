//! Who may do what: the roles a caller holds per namespace ([`Claims`]), what each RPC
//! needs ([`Request::needs`]) and the default decision between them ([`authorize`]) —
//! modelled on Temporal's ClaimMapper and default Authorizer, pure so the table of role ×
//! RPC is tested here without a server.
//!
//! Roles are ordered, each holding every permission of the ones below it:
//!
//! | role | may |
//! |---|---|
//! | `reader` | describe, list, count, read histories, query, describe task queues, schedules and deployments |
//! | `worker` | what a reader may, and poll and answer tasks: workflow and activity task polls, completions, failures, heartbeats, query answers, sticky resets |
//! | `writer` | what a worker may, and start, signal, update, cancel, terminate, reset and delete runs, change schedules, deployments and run options |
//! | `admin` | what a writer may, and change the namespace itself: its configuration (retention) and its search attributes |
//!
//! A role held for the `system` scope holds in every namespace; `system:admin` also creates
//! namespaces. Temporal numbers its worker role below its reader role and lets writers do
//! everything else; here a `worker` credential runs workers and nothing more (it cannot
//! start or terminate runs), and a writer can run workers too, as in Temporal.
//!
//! A workflow task's completion is the worker acting for its workflow, so its commands that
//! reach into another namespace (a child started there, a run signalled or cancelled there)
//! need the writer role in that namespace too — a worker cannot use a workflow to escape its
//! namespace.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Command;
use crate::ids::Namespace;
use crate::protocol::Request;

/// The scope name whose roles hold in every namespace (`system:admin` in a JWT's
/// permissions), as Temporal names it.
pub const SYSTEM_SCOPE: &str = "system";

/// A role a caller holds in a namespace; each holds every permission of those below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: describe, list, history, query.
    Reader,
    /// Runs workers: polls and task answers, and reads.
    Worker,
    /// Changes runs: start, signal, update, cancel, terminate, reset, delete; and runs workers.
    Writer,
    /// Changes the namespace: its configuration and search attributes; and writes.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Self; 4] = [Self::Reader, Self::Worker, Self::Writer, Self::Admin];

    /// The role's name as permissions spell it (`read`, `worker`, `write`, `admin`; the
    /// nouns `reader` and `writer` are read too).
    pub fn name(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Worker => "worker",
            Self::Writer => "writer",
            Self::Admin => "admin",
        }
    }

    /// Reads a role as Temporal's JWT permissions spell it (`read`, `write`, `worker`,
    /// `admin`, any case), or as its name (`reader`, `writer`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "read" | "reader" => Some(Self::Reader),
            "worker" => Some(Self::Worker),
            "write" | "writer" => Some(Self::Writer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an authenticated caller is: who (the subject its credential names) and its roles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who: an API key's name, a JWT's `sub`, a client certificate's subject.
    pub subject: String,
    /// The role held in every namespace, if any.
    pub system: Option<Role>,
    /// The role held per namespace.
    pub namespaces: BTreeMap<String, Role>,
}

impl Claims {
    /// Claims for `subject` with no role yet.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            ..Self::default()
        }
    }

    /// Adds a permission as Temporal's JWTs write them: `namespace:role`, the `system`
    /// scope meaning every namespace. The higher role wins when one scope is named twice.
    /// Returns whether the permission was understood.
    pub fn grant_permission(&mut self, permission: &str) -> bool {
        let Some((scope, role)) = permission.split_once(':') else {
            return false;
        };
        let Some(role) = Role::parse(role) else {
            return false;
        };
        self.grant(scope, role);
        true
    }

    /// Grants `role` in `scope` (a namespace, or [`SYSTEM_SCOPE`]); the higher role wins.
    pub fn grant(&mut self, scope: &str, role: Role) {
        if scope == SYSTEM_SCOPE {
            self.system = self.system.max(Some(role));
        } else {
            let held = self.namespaces.entry(scope.to_owned()).or_insert(role);
            *held = (*held).max(role);
        }
    }

    /// The role held in `namespace`: its own or the system one, whichever is higher.
    pub fn role_in(&self, namespace: &str) -> Option<Role> {
        self.namespaces.get(namespace).copied().max(self.system)
    }

    /// Whether the caller may see that `namespace` exists (it holds any role there).
    pub fn sees_namespace(&self, namespace: &str) -> bool {
        self.role_in(namespace).is_some()
    }
}

/// What a call needs: a role in a namespace, or a system-wide right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need<'a> {
    /// At least `role` in `namespace`.
    Role {
        /// The namespace the call touches.
        namespace: &'a Namespace,
        /// The lowest role that may make it.
        role: Role,
    },
    /// Creating a namespace: `system:admin`.
    SystemAdmin,
    /// Listing namespaces: any authenticated caller, shown only the namespaces it holds a
    /// role in ([`Claims::sees_namespace`]).
    Authenticated,
    /// Nothing: the health check answers anyone.
    Nothing,
}

/// A call refused: what it needed and what the caller had.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rpc} {scope} needs the {needed} role; {subject:?} holds {held}")]
pub struct Denied {
    /// The call.
    pub rpc: &'static str,
    /// `in namespace "x"`, or `on the system`.
    pub scope: String,
    /// The missing role (`admin` for system-wide rights).
    pub needed: Role,
    /// The caller.
    pub subject: String,
    /// What it holds there, for the message.
    pub held: String,
}

impl Request {
    /// Calls `check` with everything the request needs, stopping at the first error: the
    /// role in each namespace it touches (a signal- or update-with-start both of its
    /// namespaces; a workflow task's completion, the writer role in every other namespace
    /// its commands reach).
    pub fn needs<'a, E>(
        &'a self,
        mut check: impl FnMut(Need<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        use Role::{Admin, Reader, Worker, Writer};
        let (namespace, role) = match self {
            Self::Health(_) => return check(Need::Nothing),
            Self::DescribeCluster(_) => return check(Need::Authenticated),
            // Only nodes forward: a node's credential holds `system:admin`.
            Self::Forwarded(_) | Self::ApplyToRun(_) | Self::StartChild(_) => {
                return check(Need::SystemAdmin);
            }
            Self::ListNamespaces(_) => return check(Need::Authenticated),
            Self::CreateNamespace(_) => return check(Need::SystemAdmin),
            Self::DescribeNamespace(request) => (&request.name, Reader),
            Self::UpdateNamespace(request) => (&request.name, Admin),
            Self::AddSearchAttributes(request) => (&request.namespace, Admin),
            Self::RemoveSearchAttributes(request) => (&request.namespace, Admin),
            Self::ListSearchAttributes(request) => (&request.namespace, Reader),

            Self::GetHistory(request) => (&request.execution.namespace, Reader),
            Self::GetHistoryPage(request) => (&request.execution.namespace, Reader),
            Self::ListWorkflows(request) => (&request.namespace, Reader),
            Self::CountWorkflows(request) => (&request.namespace, Reader),
            Self::AwaitWorkflowClose(request) => (&request.namespace, Reader),
            Self::DescribeWorkflow(request) => (&request.namespace, Reader),
            Self::QueryWorkflow(request) => (&request.namespace, Reader),
            Self::DescribeTaskQueue(request) => (&request.namespace, Reader),
            Self::DescribeSchedule(request) => (&request.namespace, Reader),
            Self::ListSchedules(request) => (&request.namespace, Reader),
            Self::DescribeWorkerDeployment(request) => (&request.namespace, Reader),
            Self::ListWorkerDeployments(request) => (&request.namespace, Reader),

            Self::PollWorkflowTask(request) => (&request.namespace, Worker),
            Self::FailWorkflowTask(request) => (&request.execution.namespace, Worker),
            Self::ResetStickyTaskQueue(request) => (&request.execution.namespace, Worker),
            Self::RespondQueryTask(request) => (&request.execution.namespace, Worker),
            Self::PollActivityTask(request) => (&request.namespace, Worker),
            Self::RecordActivityHeartbeat(request) => (&request.execution.namespace, Worker),
            Self::CompleteActivityTask(request) => (&request.execution.namespace, Worker),
            Self::FailActivityTask(request) => (&request.execution.namespace, Worker),
            Self::CancelActivityTask(request) => (&request.execution.namespace, Worker),
            Self::CompleteWorkflowTask(request) => {
                let own = &request.execution.namespace;
                check(Need::Role {
                    namespace: own,
                    role: Worker,
                })?;
                for command in &request.commands {
                    let reaches = match command {
                        Command::StartChildWorkflowExecution(a) => a.namespace.as_ref(),
                        Command::SignalExternalWorkflowExecution(a) => a.namespace.as_ref(),
                        Command::RequestCancelExternalWorkflowExecution(a) => a.namespace.as_ref(),
                        _ => None,
                    };
                    if let Some(other) = reaches.filter(|other| *other != own) {
                        check(Need::Role {
                            namespace: other,
                            role: Writer,
                        })?;
                    }
                }
                return Ok(());
            }

            Self::StartWorkflow(request) => (&request.namespace, Writer),
            Self::SignalWithStartWorkflow(request) => (&request.start.namespace, Writer),
            Self::UpdateWorkflow(request) => (&request.namespace, Writer),
            Self::UpdateWithStartWorkflow(request) => {
                check(Need::Role {
                    namespace: &request.update.namespace,
                    role: Writer,
                })?;
                (&request.start.namespace, Writer)
            }
            Self::PollUpdate(request) => (&request.namespace, Writer),
            Self::SignalWorkflow(request) => (&request.namespace, Writer),
            Self::RequestCancelWorkflow(request) => (&request.namespace, Writer),
            Self::TerminateWorkflow(request) => (&request.namespace, Writer),
            Self::ResetWorkflow(request) => (&request.namespace, Writer),
            Self::DeleteWorkflow(request) => (&request.namespace, Writer),
            Self::UpdateWorkflowExecutionOptions(request) => (&request.namespace, Writer),
            Self::CreateSchedule(request) => (&request.namespace, Writer),
            Self::UpdateSchedule(request) => (&request.namespace, Writer),
            Self::PatchSchedule(request) => (&request.namespace, Writer),
            Self::DeleteSchedule(request) => (&request.namespace, Writer),
            Self::SetWorkerDeploymentCurrentVersion(request) => (&request.namespace, Writer),
            Self::SetWorkerDeploymentRampingVersion(request) => (&request.namespace, Writer),
            Self::DeleteWorkerDeploymentVersion(request) => (&request.namespace, Writer),
        };
        check(Need::Role { namespace, role })
    }
}

/// A call the audit log records: who did it is the server's to add (the authenticated
/// subject, never the client-chosen identity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audited<'a> {
    /// The namespace it changes.
    pub namespace: &'a Namespace,
    /// What it acts on: `workflow order-1 run 0191…`, `schedule nightly`, `namespace`.
    pub target: String,
}

impl Request {
    /// The audit record of a call that changes or destroys what others rely on: terminate,
    /// reset, delete and cancel of runs, namespace creation and changes, schedule changes,
    /// search-attribute and deployment routing changes. `None` for every other call.
    pub fn audited(&self) -> Option<Audited<'_>> {
        let workflow = |id: &crate::WorkflowId, run: Option<crate::RunId>| match run {
            Some(run) => format!("workflow {id} run {run}"),
            None => format!("workflow {id}"),
        };
        let (namespace, target) = match self {
            Self::TerminateWorkflow(r) => (&r.namespace, workflow(&r.workflow_id, r.run_id)),
            Self::RequestCancelWorkflow(r) => (&r.namespace, workflow(&r.workflow_id, r.run_id)),
            Self::ResetWorkflow(r) => (&r.namespace, workflow(&r.workflow_id, r.run_id)),
            Self::DeleteWorkflow(r) => (&r.namespace, workflow(&r.workflow_id, r.run_id)),
            Self::CreateNamespace(r) => (&r.name, "namespace (create)".to_owned()),
            Self::UpdateNamespace(r) => (&r.name, "namespace (update)".to_owned()),
            Self::CreateSchedule(r) => {
                (&r.namespace, format!("schedule {} (create)", r.schedule_id))
            }
            Self::UpdateSchedule(r) => {
                (&r.namespace, format!("schedule {} (update)", r.schedule_id))
            }
            Self::PatchSchedule(r) => (&r.namespace, format!("schedule {} (patch)", r.schedule_id)),
            Self::DeleteSchedule(r) => {
                (&r.namespace, format!("schedule {} (delete)", r.schedule_id))
            }
            Self::AddSearchAttributes(r) => (&r.namespace, "search attributes (add)".to_owned()),
            Self::RemoveSearchAttributes(r) => {
                (&r.namespace, "search attributes (remove)".to_owned())
            }
            Self::SetWorkerDeploymentCurrentVersion(r) => (
                &r.namespace,
                format!("deployment {} (set current version)", r.deployment_name),
            ),
            Self::SetWorkerDeploymentRampingVersion(r) => (
                &r.namespace,
                format!("deployment {} (set ramping version)", r.deployment_name),
            ),
            Self::DeleteWorkerDeploymentVersion(r) => {
                (&r.namespace, "deployment version (delete)".to_owned())
            }
            _ => return None,
        };
        Some(Audited { namespace, target })
    }
}

/// The default authorization: whether `claims` (none: an unauthenticated caller) may make
/// `request`. Every need of the request must be met ([`Request::needs`]).
pub fn authorize(claims: Option<&Claims>, request: &Request) -> Result<(), Denied> {
    let rpc = request.name();
    request.needs(|need| check_need(claims, rpc, need))
}

/// Whether `claims` meet one `need` of call `rpc`.
pub fn check_need(
    claims: Option<&Claims>,
    rpc: &'static str,
    need: Need<'_>,
) -> Result<(), Denied> {
    let subject = || {
        claims.map_or_else(
            || "an unauthenticated caller".to_owned(),
            |claims| claims.subject.clone(),
        )
    };
    match need {
        Need::Nothing => Ok(()),
        Need::Authenticated if claims.is_some() => Ok(()),
        Need::Authenticated => Err(Denied {
            rpc,
            scope: "on the system".into(),
            needed: Role::Reader,
            subject: subject(),
            held: "no credentials".into(),
        }),
        Need::SystemAdmin => {
            let system = claims.and_then(|claims| claims.system);
            if system == Some(Role::Admin) {
                Ok(())
            } else {
                Err(Denied {
                    rpc,
                    scope: format!("in scope {SYSTEM_SCOPE:?}"),
                    needed: Role::Admin,
                    subject: subject(),
                    held: held(system),
                })
            }
        }
        Need::Role { namespace, role } => {
            let has = claims.and_then(|claims| claims.role_in(namespace.as_str()));
            if has >= Some(role) {
                Ok(())
            } else {
                Err(Denied {
                    rpc,
                    scope: format!("in namespace {:?}", namespace.as_str()),
                    needed: role,
                    subject: subject(),
                    held: held(has),
                })
            }
        }
    }
}

fn held(role: Option<Role>) -> String {
    role.map_or_else(
        || "no role there".to_owned(),
        |role| format!("the {role} role"),
    )
}
