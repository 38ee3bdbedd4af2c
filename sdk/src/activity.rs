//! Activity definitions: an activity's name and its argument and result types, in one type,
//! so that workflow code calling it and the worker running it agree at compile time.
//!
//! ```
//! use endure::activity::ActivityDefinition;
//!
//! /// The Quick Start's activity: sends an email, returns "sent".
//! struct SendEmail;
//!
//! impl ActivityDefinition for SendEmail {
//!     const NAME: &'static str = "SendEmail";
//!     type Input = (String, String);
//!     type Output = String;
//! }
//! ```
//!
//! Workflow code then calls `ctx.run_activity::<SendEmail>(&(user, subject))`; passing
//! anything but `(String, String)`, or expecting anything but a `String`, does not compile.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ActivityContext;
use crate::workflow::{ActivityError, BoxFuture};

/// The contract of one activity type.
pub trait ActivityDefinition {
    /// The activity type name (spec §5.6.3: the function's name unless registered otherwise).
    const NAME: &'static str;
    /// The argument (a struct is recommended, so fields can evolve — spec §5.4.2).
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The result.
    type Output: Serialize + DeserializeOwned + Send + 'static;
}

/// An activity whose code is a plain function (written by `#[endure::activity]`), so a
/// worker can register it by type alone. Activities needing shared resources (a client, a
/// pool — spec §5.6.1) register a closure holding them with `Worker::register_activity`.
pub trait ActivityImplementation: ActivityDefinition {
    /// Runs one attempt.
    fn run(
        ctx: ActivityContext,
        input: Self::Input,
    ) -> BoxFuture<Result<Self::Output, ActivityError>>;
}
