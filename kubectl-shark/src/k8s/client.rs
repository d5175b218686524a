//! A kube client configured as kubectl would be: `--kubeconfig` (else KUBECONFIG, else
//! ~/.kube/config, else in-cluster), `--context`, exec credential plugins; and the context's
//! default namespace.

use super::error::K8sError;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use std::path::Path;

/// Where to connect.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
}

/// A connected client and the namespace kubectl would use by default.
pub struct Connection {
    pub client: kube::Client,
    pub default_namespace: String,
}

/// Builds the client for `target`.
pub async fn connect(target: &Target) -> Result<Connection, K8sError> {
    let options = KubeConfigOptions { context: target.context.clone(), ..KubeConfigOptions::default() };
    let config = match &target.kubeconfig {
        Some(path) => from_file(path, &options).await?,
        None if target.context.is_some() => {
            Config::from_kubeconfig(&options).await.map_err(|e| K8sError::Config(e.to_string()))?
        }
        None => Config::infer().await.map_err(|e| K8sError::Config(e.to_string()))?,
    };
    let default_namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config).map_err(|e| K8sError::Config(format!("building the client: {e}")))?;
    Ok(Connection { client, default_namespace })
}

async fn from_file(path: &Path, options: &KubeConfigOptions) -> Result<Config, K8sError> {
    let kubeconfig =
        Kubeconfig::read_from(path).map_err(|e| K8sError::Config(format!("reading {}: {e}", path.display())))?;
    Config::from_custom_kubeconfig(kubeconfig, options)
        .await
        .map_err(|e| K8sError::Config(format!("{}: {e}", path.display())))
}
