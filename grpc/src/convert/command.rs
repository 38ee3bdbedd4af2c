//! Temporal's commands (`temporal.api.command.v1.Command`) as Endure's, each field checked.
