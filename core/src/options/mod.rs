//! Options users give to start workflows and run activities, and their validation.

mod activity;
mod workflow;

pub use activity::{ActivityOptions, SUMMARY_BYTES_MAX};
pub use workflow::{StartWorkflowOptions, parse_cron_schedule};
