//! `--runner local`: runs execute in this server's own sandbox, started once.

use std::sync::{Arc, OnceLock};

use peercode_sandbox::{RunHandle as SandboxRun, Sandbox, SandboxConfig, SandboxError};
use tokio_util::sync::CancellationToken;

use super::{End, Event, RunHandle, Submission, SubmitError, to_request};

/// The sandbox, started once: `serve_on` starts it in the background at start-up (so a
/// missing protection is reported then), or the first run does. A host that cannot
/// sandbox keeps its reason, and runs answer 503 with it.
#[derive(Default)]
pub(crate) struct Local {
    sandbox: OnceLock<Result<Arc<Sandbox>, String>>,
}

impl Local {
    pub(crate) async fn sandbox(&self) -> Result<Arc<Sandbox>, SubmitError> {
        if let Some(ready) = self.sandbox.get() {
            return ready.clone().map_err(unavailable);
        }
        let made = tokio::task::spawn_blocking(|| {
            Sandbox::new(SandboxConfig::default())
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| SubmitError::Internal(e.into()))?;
        if let Err(why) = &made {
            tracing::error!(%why, "the sandbox cannot start; runs are unavailable");
        }
        // A concurrent first request may have set it meanwhile; either answer is the same.
        let _ = self.sandbox.set(made);
        self.sandbox
            .get()
            .cloned()
            .unwrap_or_else(|| Err("the sandbox did not start".into()))
            .map_err(unavailable)
    }

    pub(crate) async fn submit(
        &self,
        submission: Submission,
        cancel: CancellationToken,
    ) -> Result<RunHandle, SubmitError> {
        let sandbox = self.sandbox().await?;
        let request = to_request(
            &sandbox.config().languages,
            &submission.files,
            submission.stdin,
        )?;
        let handle = sandbox.run(request)?;
        Ok(RunHandle::Local(LocalRun { handle, cancel }))
    }
}

fn unavailable(why: String) -> SubmitError {
    SubmitError::Unavailable(format!("runs are unavailable on this server: {why}"))
}

/// A run in this server's sandbox.
pub(crate) struct LocalRun {
    handle: SandboxRun,
    cancel: CancellationToken,
}

impl LocalRun {
    pub(crate) async fn next(&mut self) -> Option<Event> {
        loop {
            tokio::select! {
                chunk = self.handle.next_chunk() => return chunk.map(Event::Output),
                () = self.cancel.cancelled(), if !self.handle.canceller().is_cancelled() => {
                    self.handle.cancel();
                }
            }
        }
    }

    pub(crate) async fn end(self) -> End {
        match self.handle.outcome().await {
            Ok(outcome) => End::Judged(outcome),
            Err(SandboxError::Cancelled) => End::Cancelled,
            Err(error) => {
                tracing::error!(%error, "a run failed in the sandbox");
                End::Failed(error.to_string())
            }
        }
    }
}
