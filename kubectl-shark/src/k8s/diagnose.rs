//! Why a session's pod cannot become ready (pure: looks at a Pod or an Event). The waiting loop
//! fails fast on these instead of running into its timeout.

use k8s_openapi::api::core::v1::{Event, Pod};

/// Container states that will not fix themselves without a change by the user.
const HOPELESS_WAITING: [&str; 8] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "CrashLoopBackOff",
];

/// A pod's problem, when it has one that waiting will not solve.
pub fn pod_failure(pod: &Pod) -> Option<String> {
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let status = pod.status.as_ref()?;
    for c in status.conditions.iter().flatten() {
        if c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable") {
            return Some(format!(
                "pod {name} cannot be scheduled: {}",
                c.message.as_deref().unwrap_or("no reason given")
            ));
        }
    }
    for cs in status.container_statuses.iter().flatten().chain(status.init_container_statuses.iter().flatten()) {
        let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else { continue };
        let Some(reason) = waiting.reason.as_deref().filter(|r| HOPELESS_WAITING.contains(r)) else { continue };
        let mut text = format!("pod {name}, container {}: {reason}", cs.name);
        if let Some(m) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
            text.push_str(&format!(": {m}"));
        }
        if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            text.push_str(&format!(" (last exit code {}", t.exit_code));
            if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
                text.push_str(&format!(": {}", m.trim()));
            }
            text.push(')');
        }
        return Some(text);
    }
    None
}

/// A controller's event that means its pods will not be created (PodSecurity admission, quota,
/// policy webhooks all answer "forbidden").
pub fn create_failure(event: &Event) -> Option<String> {
    if event.reason.as_deref() != Some("FailedCreate") {
        return None;
    }
    let message = event.message.as_deref().unwrap_or("");
    // The ServiceAccount admission also says "forbidden" while the account is being created: transient.
    let transient = message.contains("error looking up service account");
    if transient || !(message.contains("forbidden") || message.contains("PodSecurity")) {
        return None;
    }
    let object = &event.involved_object;
    Some(format!(
        "{} {} cannot create its pods: {message}",
        object.kind.as_deref().unwrap_or("controller"),
        object.name.as_deref().unwrap_or("?")
    ))
}

/// One event as a line (`Warning BackOff: Back-off pulling image "x"`).
pub fn event_line(event: &Event) -> String {
    format!(
        "{} {}: {}",
        event.type_.as_deref().unwrap_or("Normal"),
        event.reason.as_deref().unwrap_or("?"),
        event.message.as_deref().unwrap_or("").trim()
    )
}

/// Short state of a pod for the progress lines: `Ready`, `ContainerCreating`, `Pending`, ...
pub fn pod_state(pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else { return "Pending".into() };
    let ready = status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
    if ready {
        return "Ready".into();
    }
    for cs in status.container_statuses.iter().flatten() {
        if let Some(reason) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone()) {
            return reason;
        }
        if cs.state.as_ref().is_some_and(|s| s.running.is_some()) {
            return "Running (not ready)".into();
        }
    }
    status.phase.clone().unwrap_or_else(|| "Pending".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "shark-agent-x"}, "status": status})).expect("pod json")
    }

    #[test]
    fn image_pull_failures_are_hopeless() {
        let p = pod(json!({"phase": "Pending", "containerStatuses": [{"name": "node-agent", "ready": false,
            "restartCount": 0, "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "proxyconnect tcp: connection refused"}}}]}));
        assert_eq!(
            pod_failure(&p).as_deref(),
            Some("pod shark-agent-x, container node-agent: ErrImagePull: proxyconnect tcp: connection refused")
        );
        assert_eq!(pod_state(&p), "ErrImagePull");
    }

    #[test]
    fn crash_loops_carry_the_last_exit() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [{"name": "hub", "ready": false,
            "restartCount": 3, "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": ""}},
            "lastState": {"terminated": {"exitCode": 2, "message": "unexpected argument '--kubernetes'\n"}}}]}));
        assert_eq!(
            pod_failure(&p).as_deref(),
            Some("pod shark-agent-x, container hub: CrashLoopBackOff (last exit code 2: unexpected argument '--kubernetes')")
        );
    }

    #[test]
    fn unschedulable_is_hopeless_but_creating_is_not() {
        let p = pod(json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu."}]}));
        assert_eq!(
            pod_failure(&p).as_deref(),
            Some("pod shark-agent-x cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.")
        );
        let creating = pod(json!({"phase": "Pending", "containerStatuses": [{"name": "hub", "ready": false,
            "restartCount": 0, "image": "x", "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(pod_failure(&creating), None);
        assert_eq!(pod_state(&creating), "ContainerCreating");
        let ready = pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(pod_failure(&ready), None);
        assert_eq!(pod_state(&ready), "Ready");
    }

    #[test]
    fn pod_security_rejections_are_recognised() {
        let ev: Event = serde_json::from_value(json!({"metadata": {"name": "e"}, "reason": "FailedCreate", "type": "Warning",
            "involvedObject": {"kind": "DaemonSet", "name": "shark-agent"},
            "message": "Error creating: pods \"shark-agent-x\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)"}))
        .expect("event json");
        let text = create_failure(&ev).expect("a failure");
        assert!(text.starts_with("DaemonSet shark-agent cannot create its pods: Error creating"), "{text}");
        assert!(text.contains("violates PodSecurity"));
        let transient: Event = serde_json::from_value(json!({"metadata": {"name": "e"}, "reason": "FailedCreate",
            "involvedObject": {}, "message": "Error creating: pods \"shark-hub-1\" is forbidden: error looking up service account shark-x/shark-hub: serviceaccount \"shark-hub\" not found"}))
        .expect("event json");
        assert_eq!(create_failure(&transient), None, "may fix itself");
        assert_eq!(event_line(&ev).split(':').next(), Some("Warning FailedCreate"));
    }
}
