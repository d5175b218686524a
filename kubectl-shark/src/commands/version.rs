//! `kubectl shark version`: this CLI's version and commit, the image it deploys, and (unless
//! `--client`) the cluster's server version and each running session's version, with a warning for
//! every session whose version or image differs from this CLI's.

use super::attach::runtime;
use crate::build_info;
use crate::cli::{VersionArgs, VersionOutput};
use crate::error::CliError;
use crate::k8s::client::{connect, Target};
use crate::k8s::error::K8sError;
use crate::k8s::versions::{self, SessionVersion};
use serde::Serialize;

/// The local part.
#[derive(Debug, Clone, Serialize)]
pub struct ClientVersion {
    pub version: String,
    pub commit: String,
    pub platform: String,
    pub image: String,
}

impl ClientVersion {
    pub fn this_binary() -> ClientVersion {
        ClientVersion {
            version: build_info::VERSION.into(),
            commit: build_info::COMMIT.into(),
            platform: build_info::platform(),
            image: build_info::DEFAULT_IMAGE.into(),
        }
    }
}

/// The cluster part, when asked for and reachable.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterVersion {
    pub server: String,
    pub sessions: Vec<SessionVersion>,
}

/// Everything `version` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub client: ClientVersion,
    /// `None` with `--client` or when the cluster could not be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterVersion>,
    /// Why the cluster part is missing, when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_error: Option<String>,
    pub warnings: Vec<String>,
}

pub fn run(args: VersionArgs) -> Result<(), CliError> {
    let client = ClientVersion::this_binary();
    let (cluster, cluster_error) = if args.client {
        (None, None)
    } else {
        let target = args.cluster.target();
        let rt = runtime()?;
        match rt.block_on(async { tokio::time::timeout(args.request_timeout, query(&target)).await }) {
            Ok(Ok(c)) => (Some(c), None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(_) => (None, Some(format!("no answer within {}s", args.request_timeout.as_secs_f64()))),
        }
    };
    let warnings = cluster.as_ref().map(|c| warnings(&client, &c.sessions)).unwrap_or_default();
    let report = Report { client, cluster, cluster_error, warnings };
    let text = match args.output {
        Some(VersionOutput::Json) => {
            let mut s = serde_json::to_string_pretty(&report).map_err(|e| CliError::Output(e.into()))?;
            s.push('\n');
            s
        }
        None => render(&report),
    };
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes()).map_err(CliError::Output)?;
    if args.output.is_none() {
        for w in &report.warnings {
            eprintln!("kubectl-shark: warning: {w}");
        }
    }
    match report.cluster_error {
        Some(_) => Err(CliError::Unreachable(
            "the cluster is not reachable (above); `--client` prints only the local part".into(),
        )),
        None => Ok(()),
    }
}

async fn query(target: &Target) -> Result<ClusterVersion, K8sError> {
    let conn = connect(target).await?;
    let server = versions::server_version(&conn.client).await?;
    let sessions = versions::sessions(&conn.client).await?;
    Ok(ClusterVersion { server, sessions })
}

/// One warning per session that another CLI version created or that runs another image.
pub fn warnings(client: &ClientVersion, sessions: &[SessionVersion]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sessions {
        match &s.cli_version {
            Some(v) if *v == client.version => {}
            Some(v) => out.push(format!(
                "session {} was created by kubectl-shark {v}, this is {}; its hub and agents may not match this CLI",
                s.id, client.version
            )),
            None => out.push(format!("session {} does not say which kubectl-shark created it", s.id)),
        }
        for image in distinct_images(s).into_iter().filter(|i| *i != client.image) {
            out.push(format!("session {} runs {image}, this CLI deploys {}", s.id, client.image));
        }
    }
    out
}

/// The hub's and the agents' images, each once, in order.
fn distinct_images(s: &SessionVersion) -> Vec<&str> {
    let mut all: Vec<&str> = Vec::new();
    for i in s.hub_images.iter().chain(&s.agent_images) {
        if !all.contains(&i.as_str()) {
            all.push(i);
        }
    }
    all
}

/// The text form: one `Name: value` line per part, then one line per session.
pub fn render(report: &Report) -> String {
    let c = &report.client;
    let mut out =
        format!("Client:  kubectl-shark {} (commit {}, {})\nImage:   {}\n", c.version, c.commit, c.platform, c.image);
    match (&report.cluster, &report.cluster_error) {
        (Some(cluster), _) => {
            out.push_str(&format!("Server:  {}\n", cluster.server));
            if cluster.sessions.is_empty() {
                out.push_str("Sessions: none\n");
            }
            for s in &cluster.sessions {
                let images = distinct_images(s);
                out.push_str(&format!(
                    "Session: {}  cli {}  image {}\n",
                    s.id,
                    s.cli_version.as_deref().unwrap_or("?"),
                    if images.is_empty() { "?".to_string() } else { images.join(", ") }
                ));
            }
        }
        (None, Some(e)) => out.push_str(&format!("Server:  not reachable ({e})\n")),
        (None, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientVersion {
        ClientVersion {
            version: "1.2.3".into(),
            commit: "0123456789ab".into(),
            platform: "linux/amd64".into(),
            image: "ghcr.io/kubectl-shark/kubectl-shark:1.2.3".into(),
        }
    }

    fn session(id: &str, cli: Option<&str>, image: &str) -> SessionVersion {
        SessionVersion {
            id: id.into(),
            cli_version: cli.map(String::from),
            hub_images: vec![image.into()],
            agent_images: vec![image.into()],
        }
    }

    #[test]
    fn a_session_of_this_version_and_image_gives_no_warning() {
        let s = session("aaaaaa", Some("1.2.3"), "ghcr.io/kubectl-shark/kubectl-shark:1.2.3");
        assert_eq!(warnings(&client(), &[s]), Vec::<String>::new());
    }

    #[test]
    fn another_version_or_image_is_warned_once_per_difference() {
        let old = session("aaaaaa", Some("1.0.0"), "ghcr.io/kubectl-shark/kubectl-shark:1.0.0");
        let unnamed = session("bbbbbb", None, "ghcr.io/kubectl-shark/kubectl-shark:1.2.3");
        let w = warnings(&client(), &[old, unnamed]);
        assert_eq!(
            w,
            vec![
                "session aaaaaa was created by kubectl-shark 1.0.0, this is 1.2.3; its hub and agents may not match \
                 this CLI"
                    .to_string(),
                "session aaaaaa runs ghcr.io/kubectl-shark/kubectl-shark:1.0.0, this CLI deploys \
                 ghcr.io/kubectl-shark/kubectl-shark:1.2.3"
                    .to_string(),
                "session bbbbbb does not say which kubectl-shark created it".to_string(),
            ]
        );
    }

    #[test]
    fn the_text_names_every_part() {
        let report = Report {
            client: client(),
            cluster: Some(ClusterVersion {
                server: "v1.34.10".into(),
                sessions: vec![session("aaaaaa", Some("1.2.3"), "reg.local/shark:1.2.3")],
            }),
            cluster_error: None,
            warnings: vec![],
        };
        assert_eq!(
            render(&report),
            "Client:  kubectl-shark 1.2.3 (commit 0123456789ab, linux/amd64)\n\
             Image:   ghcr.io/kubectl-shark/kubectl-shark:1.2.3\n\
             Server:  v1.34.10\n\
             Session: aaaaaa  cli 1.2.3  image reg.local/shark:1.2.3\n"
        );
    }

    #[test]
    fn an_unreachable_cluster_still_prints_the_local_part() {
        let report =
            Report { client: client(), cluster: None, cluster_error: Some("refused".into()), warnings: vec![] };
        let text = render(&report);
        assert!(text.starts_with("Client:  kubectl-shark 1.2.3 (commit 0123456789ab, linux/amd64)\nImage:"), "{text}");
        assert!(text.ends_with("Server:  not reachable (refused)\n"), "{text}");
    }
}
