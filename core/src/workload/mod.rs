//! The random workload: workflow programs generated from a seed, with the result a correct
//! engine must make them return. One generator feeds two interpreters — the command-level
//! [`Interpreter`] here, which core's property tests drive on the execution and replay
//! machines, and the simulator's SDK workflow, which runs the same programs on a whole
//! cluster under faults — so both explore the same space of programs.

mod interpreter;
mod program;

pub use interpreter::{ACTIVITY_TYPE, Interpreter, attempt_outcome};
pub use program::{Program, Step, signal_name, signal_value, update_name, update_value};
