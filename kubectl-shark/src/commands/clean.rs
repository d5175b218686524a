//! `kubectl shark clean [--session ID]`: delete sessions (namespaced and cluster-scoped objects)
//! and wait until they are gone.

use super::attach::{runtime, say};
use crate::cli::CleanArgs;
use crate::error::CliError;
use crate::k8s::client::connect;
use crate::k8s::signals::Signals;
use crate::k8s::teardown::{self, Waited, Which};

pub fn run(args: CleanArgs) -> Result<(), CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let mut signals = Signals::new()?;
        let conn = connect(&args.cluster.target()).await?;
        let which = match args.session {
            Some(id) => Which::One(id),
            None => Which::All,
        };
        let before = teardown::remaining(&conn.client, &which).await?;
        if before.is_empty() {
            say("nothing to clean".into());
            return Ok(());
        }
        match teardown::delete_and_wait(&conn.client, &which, &mut signals).await? {
            Waited::Gone => say(format!("removed {}", before.namespaces.join(", "))),
            Waited::Stopped => say("stopped waiting; the API server finishes the deletion".into()),
        }
        Ok(())
    })
}
