//! The pending outcome of an asynchronous offset commit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::ClientError;

/// What [`crate::Consumer::commit_async`] returns: the OffsetCommit is already on its way;
/// await this for the broker's answer, or drop it to ignore the answer (the commit still
/// happens). Like Kafka's `commitAsync`, a failed commit is not retried: a later commit
/// carries newer offsets anyway.
#[must_use = "the commit is sent either way; await this to learn whether it succeeded"]
pub struct CommitFuture {
    inner: Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send + 'static>>,
}

impl CommitFuture {
    pub(crate) fn new(
        inner: impl Future<Output = Result<(), ClientError>> + Send + 'static,
    ) -> CommitFuture {
        CommitFuture {
            inner: Box::pin(inner),
        }
    }
}

impl std::fmt::Debug for CommitFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitFuture").finish_non_exhaustive()
    }
}

impl Future for CommitFuture {
    type Output = Result<(), ClientError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
