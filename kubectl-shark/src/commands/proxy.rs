//! `kubectl shark proxy [--session ID]`: attach to a running session; leaving does not end it.

use super::attach::{attach, runtime, say};
use crate::cli::ProxyArgs;
use crate::error::CliError;
use crate::k8s::client::connect;
use crate::k8s::signals::Signals;
use crate::k8s::{lease, sessions};

pub fn run(args: ProxyArgs) -> Result<(), CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let mut signals = Signals::new()?;
        let conn = connect(&args.cluster.target()).await?;
        let id = sessions::pick(&conn.client, args.session.clone()).await?;
        say(format!("attached to session {id}"));
        attach(&conn.client, &id, &lease::holder_identity(), &args.attach, &mut signals).await?;
        say(format!("detached; the session keeps running (end it with `kubectl shark clean --session {id}`)"));
        Ok(())
    })
}
