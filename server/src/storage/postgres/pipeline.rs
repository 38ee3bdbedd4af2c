//! Pipelining: several statements sent back to back on one connection, their answers
//! awaited together — one round trip for all of them. tokio-postgres sends a statement when
//! its future is first polled, so [`in_order`] polls every future once, in order, before
//! waiting: the statements reach the server in the order given, which a transaction's
//! `BEGIN`, its statements and its `COMMIT` need.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A statement's future, boxed so that statements of different kinds share a pipeline.
pub(super) type Pending<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a>>;

/// Sends every statement in order, then waits for all of their answers. Returns the
/// answers in order, or the first statement's error in order (after every answer arrived,
/// so nothing of the pipeline is left in flight).
pub(super) async fn in_order<T>(
    statements: Vec<Pending<'_, T>>,
) -> Result<Vec<T>, tokio_postgres::Error> {
    every_answer(statements).await.into_iter().collect()
}

/// Sends every statement in order, then waits for all of their answers; returns each
/// statement's own answer, in order.
pub(super) async fn every_answer<T>(
    mut statements: Vec<Pending<'_, T>>,
) -> Vec<Result<T, tokio_postgres::Error>> {
    let mut answers: Vec<Option<Result<T, tokio_postgres::Error>>> =
        statements.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut waiting = false;
        for (statement, answer) in statements.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none() {
                match statement.as_mut().poll(context) {
                    Poll::Ready(result) => *answer = Some(result),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    answers.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A statement that records when it is first polled and answers on its second poll.
    fn statement(order: Arc<Mutex<Vec<usize>>>, index: usize) -> Pending<'static, usize> {
        Box::pin(async move {
            order.lock().unwrap().push(index);
            tokio::task::yield_now().await;
            Ok(index)
        })
    }

    #[tokio::test]
    async fn statements_are_sent_in_order_and_answered_in_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let statements = (0..40)
            .map(|index| statement(Arc::clone(&order), index))
            .collect();
        let answers = in_order(statements).await.unwrap();
        assert_eq!(answers, (0..40).collect::<Vec<_>>());
        assert_eq!(*order.lock().unwrap(), (0..40).collect::<Vec<_>>());
    }
}
