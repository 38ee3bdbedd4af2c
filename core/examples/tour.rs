//! A tour of Endure's vocabulary as it stands: the Quick Start's history event by event,
//! its encoding, and the typed errors bad options get.
//!
//! Run with `cargo run -p endure-core --features testing --example tour`.

use endure_core::codec;
use endure_core::history::samples::quickstart_history;
use endure_core::{
    ActivityOptions, CronSchedule, History, Payload, RetryPolicy, StartWorkflowOptions,
    TaskQueueName, Timestamp, WorkflowId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("The history Temporal (and Endure) writes for the Quick Start's OrderWorkflow:\n");
    let history = quickstart_history();
    print_history(&history);
    history.check()?;
    println!(
        "\nwell-formed: dense ids from 1, every back-reference points to an earlier event of the right type"
    );

    let bytes = codec::encode(&history)?;
    let decoded: History = codec::decode(&bytes)?;
    assert_eq!(decoded, history);
    println!(
        "encoded: {} bytes (format version {}), decodes back to the same history",
        bytes.len(),
        codec::FORMAT_VERSION
    );
    let mut corrupt = bytes.clone();
    corrupt.truncate(bytes.len() / 2);
    println!(
        "half of it: {}",
        codec::decode::<History>(&corrupt)
            .err()
            .map_or("decoded?!".into(), |e| e.to_string())
    );

    println!("\nBad input gets a typed error that says what to do:");
    let missing_timeout = ActivityOptions::default().validate();
    println!(
        "- activity options without timeouts: {}",
        error_text(missing_timeout)
    );
    let options = StartWorkflowOptions::new(
        WorkflowId::new("order_42")?,
        TaskQueueName::new("my-task-queue")?,
    );
    println!(
        "- cron \"0 25 * * *\": {}",
        error_text(options.clone().with_cron_schedule("0 25 * * *").map(drop))
    );
    println!(
        "- workflow id \"\": {}",
        error_text(WorkflowId::new("").map(drop))
    );
    let big = Payload::binary(vec![0; 3 * 1024 * 1024]);
    println!(
        "- a 3 MiB argument: {}",
        error_text(big.check_size("input"))
    );

    let policy = RetryPolicy::default();
    let delays: Vec<String> = (1..=9)
        .map(|attempt| format!("{:?}", policy.backoff(attempt)))
        .collect();
    println!(
        "\nDefault retry policy, delay after each failed attempt: {}",
        delays.join(", ")
    );

    let schedule = CronSchedule::parse("30 9 * * mon-fri")?;
    let mut time = Timestamp::from_unix_seconds(1_795_860_000);
    print!("Cron \"{schedule}\" after {time}:");
    for _ in 0..3 {
        time = schedule.next_after(time).ok_or("never fires")?;
        print!(" {time}");
    }
    println!();
    Ok(())
}

fn error_text<E: std::fmt::Display>(result: Result<(), E>) -> String {
    match result {
        Ok(()) => "accepted".into(),
        Err(error) => error.to_string(),
    }
}

fn print_history(history: &History) {
    println!("{:>3}  {:<24}  {:<28}  references", "id", "time", "event");
    for event in &history.events {
        let references: Vec<String> = event
            .attributes
            .back_references()
            .iter()
            .map(|reference| format!("{}={}", reference.field, reference.target))
            .collect();
        println!(
            "{:>3}  {:<24}  {:<28}  {}",
            event.event_id,
            event.event_time.to_string(),
            event.event_type().name(),
            references.join(" ")
        );
    }
}
