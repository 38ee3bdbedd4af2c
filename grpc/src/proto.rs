//! Temporal's API messages, by the short paths this crate names them with.

pub(crate) use temporalio_protos::protos::temporal::api::{
    command::v1 as command, common::v1 as common, deployment::v1 as deployment, enums::v1 as enums,
    errordetails::v1 as errordetails, failure::v1 as failure, history::v1 as history,
    namespace::v1 as namespace, operatorservice::v1 as operator, protocol::v1 as protocol,
    query::v1 as query, replication::v1 as replication, schedule::v1 as schedule, sdk::v1 as sdk,
    taskqueue::v1 as taskqueue, update::v1 as update, workflow::v1 as workflow,
    workflowservice::v1 as service,
};
