//! `kubectl shark list`: the sessions in the cluster.

use super::attach::runtime;
use crate::cli::ListArgs;
use crate::error::CliError;
use crate::k8s::client::connect;
use crate::k8s::sessions;

pub fn run(args: ListArgs) -> Result<(), CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let conn = connect(&args.cluster.target()).await?;
        let all = sessions::list(&conn.client).await?;
        if all.is_empty() {
            eprintln!("kubectl-shark: no sessions in this cluster");
            return Ok(());
        }
        print!("{}", sessions::table(&all, k8s_openapi::jiff::Timestamp::now()));
        Ok(())
    })
}
