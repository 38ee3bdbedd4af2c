//! Tests of the execution machine.
