//! Numbers to names, as the Kafka protocol guide spells them: API keys (with the newest version
//! this dissector accepts of each) and error codes, and the common outcome of an error code.

use crate::entry::Outcome;

/// `(name, highest version)` by API key. The highest versions are those of Apache Kafka 4.1's
/// message definitions; [`VERSION_SLACK`] more are accepted so a newer client is still followed.
static APIS: [(&str, i16); 93] = [
    ("Produce", 13),
    ("Fetch", 18),
    ("ListOffsets", 11),
    ("Metadata", 13),
    ("LeaderAndIsr", 7),
    ("StopReplica", 4),
    ("UpdateMetadata", 8),
    ("ControlledShutdown", 3),
    ("OffsetCommit", 10),
    ("OffsetFetch", 10),
    ("FindCoordinator", 6),
    ("JoinGroup", 9),
    ("Heartbeat", 4),
    ("LeaveGroup", 5),
    ("SyncGroup", 5),
    ("DescribeGroups", 6),
    ("ListGroups", 5),
    ("SaslHandshake", 1),
    ("ApiVersions", 4),
    ("CreateTopics", 7),
    ("DeleteTopics", 6),
    ("DeleteRecords", 2),
    ("InitProducerId", 6),
    ("OffsetForLeaderEpoch", 4),
    ("AddPartitionsToTxn", 5),
    ("AddOffsetsToTxn", 4),
    ("EndTxn", 5),
    ("WriteTxnMarkers", 2),
    ("TxnOffsetCommit", 5),
    ("DescribeAcls", 3),
    ("CreateAcls", 3),
    ("DeleteAcls", 3),
    ("DescribeConfigs", 4),
    ("AlterConfigs", 2),
    ("AlterReplicaLogDirs", 2),
    ("DescribeLogDirs", 5),
    ("SaslAuthenticate", 2),
    ("CreatePartitions", 3),
    ("CreateDelegationToken", 3),
    ("RenewDelegationToken", 2),
    ("ExpireDelegationToken", 2),
    ("DescribeDelegationToken", 3),
    ("DeleteGroups", 2),
    ("ElectLeaders", 2),
    ("IncrementalAlterConfigs", 1),
    ("AlterPartitionReassignments", 1),
    ("ListPartitionReassignments", 0),
    ("OffsetDelete", 0),
    ("DescribeClientQuotas", 1),
    ("AlterClientQuotas", 1),
    ("DescribeUserScramCredentials", 0),
    ("AlterUserScramCredentials", 0),
    ("Vote", 2),
    ("BeginQuorumEpoch", 1),
    ("EndQuorumEpoch", 1),
    ("DescribeQuorum", 2),
    ("AlterPartition", 3),
    ("UpdateFeatures", 2),
    ("Envelope", 0),
    ("FetchSnapshot", 1),
    ("DescribeCluster", 2),
    ("DescribeProducers", 0),
    ("BrokerRegistration", 4),
    ("BrokerHeartbeat", 1),
    ("UnregisterBroker", 0),
    ("DescribeTransactions", 0),
    ("ListTransactions", 2),
    ("AllocateProducerIds", 0),
    ("ConsumerGroupHeartbeat", 1),
    ("ConsumerGroupDescribe", 1),
    ("ControllerRegistration", 0),
    ("GetTelemetrySubscriptions", 0),
    ("PushTelemetry", 0),
    ("AssignReplicasToDirs", 0),
    ("ListClientMetricsResources", 1),
    ("DescribeTopicPartitions", 0),
    ("ShareGroupHeartbeat", 1),
    ("ShareGroupDescribe", 1),
    ("ShareFetch", 1),
    ("ShareAcknowledge", 1),
    ("AddRaftVoter", 0),
    ("RemoveRaftVoter", 0),
    ("UpdateRaftVoter", 0),
    ("InitializeShareGroupState", 0),
    ("ReadShareGroupState", 0),
    ("WriteShareGroupState", 0),
    ("DeleteShareGroupState", 0),
    ("ReadShareGroupStateSummary", 0),
    ("StreamsGroupHeartbeat", 0),
    ("StreamsGroupDescribe", 0),
    ("DescribeShareGroupOffsets", 0),
    ("AlterShareGroupOffsets", 0),
    ("DeleteShareGroupOffsets", 0),
];

/// Versions above the highest known that are still taken for an API's request.
pub const VERSION_SLACK: i16 = 2;

/// The API's name (`"Produce"`), for the keys the protocol guide lists.
pub fn api_name(key: i16) -> Option<&'static str> {
    usize::try_from(key).ok().and_then(|k| APIS.get(k)).map(|(name, _)| *name)
}

/// Whether a request of this API key and version is plausible.
pub fn known_version(key: i16, version: i16) -> bool {
    usize::try_from(key)
        .ok()
        .and_then(|k| APIS.get(k))
        .is_some_and(|(_, max)| (0..=max + VERSION_SLACK).contains(&version))
}

/// Error names by code, from 0; -1 is `UNKNOWN_SERVER_ERROR`.
static ERRORS: [&str; 128] = [
    "NONE",
    "OFFSET_OUT_OF_RANGE",
    "CORRUPT_MESSAGE",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "INVALID_FETCH_SIZE",
    "LEADER_NOT_AVAILABLE",
    "NOT_LEADER_OR_FOLLOWER",
    "REQUEST_TIMED_OUT",
    "BROKER_NOT_AVAILABLE",
    "REPLICA_NOT_AVAILABLE",
    "MESSAGE_SIZE_TOO_LARGE",
    "STALE_CONTROLLER_EPOCH",
    "OFFSET_METADATA_TOO_LARGE",
    "NETWORK_EXCEPTION",
    "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE",
    "NOT_COORDINATOR",
    "INVALID_TOPIC",
    "RECORD_LIST_TOO_LARGE",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "INVALID_REQUIRED_ACKS",
    "ILLEGAL_GENERATION",
    "INCONSISTENT_GROUP_PROTOCOL",
    "INVALID_GROUP_ID",
    "UNKNOWN_MEMBER_ID",
    "INVALID_SESSION_TIMEOUT",
    "REBALANCE_IN_PROGRESS",
    "INVALID_COMMIT_OFFSET_SIZE",
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "CLUSTER_AUTHORIZATION_FAILED",
    "INVALID_TIMESTAMP",
    "UNSUPPORTED_SASL_MECHANISM",
    "ILLEGAL_SASL_STATE",
    "UNSUPPORTED_VERSION",
    "TOPIC_ALREADY_EXISTS",
    "INVALID_PARTITIONS",
    "INVALID_REPLICATION_FACTOR",
    "INVALID_REPLICATION_ASSIGNMENT",
    "INVALID_CONFIG",
    "NOT_CONTROLLER",
    "INVALID_REQUEST",
    "UNSUPPORTED_FOR_MESSAGE_FORMAT",
    "POLICY_VIOLATION",
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "DUPLICATE_SEQUENCE_NUMBER",
    "INVALID_PRODUCER_EPOCH",
    "INVALID_TXN_STATE",
    "INVALID_PRODUCER_ID_MAPPING",
    "INVALID_TRANSACTION_TIMEOUT",
    "CONCURRENT_TRANSACTIONS",
    "TRANSACTION_COORDINATOR_FENCED",
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    "SECURITY_DISABLED",
    "OPERATION_NOT_ATTEMPTED",
    "KAFKA_STORAGE_ERROR",
    "LOG_DIR_NOT_FOUND",
    "SASL_AUTHENTICATION_FAILED",
    "UNKNOWN_PRODUCER_ID",
    "REASSIGNMENT_IN_PROGRESS",
    "DELEGATION_TOKEN_AUTH_DISABLED",
    "DELEGATION_TOKEN_NOT_FOUND",
    "DELEGATION_TOKEN_OWNER_MISMATCH",
    "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
    "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
    "DELEGATION_TOKEN_EXPIRED",
    "INVALID_PRINCIPAL_TYPE",
    "NON_EMPTY_GROUP",
    "GROUP_ID_NOT_FOUND",
    "FETCH_SESSION_ID_NOT_FOUND",
    "INVALID_FETCH_SESSION_EPOCH",
    "LISTENER_NOT_FOUND",
    "TOPIC_DELETION_DISABLED",
    "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH",
    "UNSUPPORTED_COMPRESSION_TYPE",
    "STALE_BROKER_EPOCH",
    "OFFSET_NOT_AVAILABLE",
    "MEMBER_ID_REQUIRED",
    "PREFERRED_LEADER_NOT_AVAILABLE",
    "GROUP_MAX_SIZE_REACHED",
    "FENCED_INSTANCE_ID",
    "ELIGIBLE_LEADERS_NOT_AVAILABLE",
    "ELECTION_NOT_NEEDED",
    "NO_REASSIGNMENT_IN_PROGRESS",
    "GROUP_SUBSCRIBED_TO_TOPIC",
    "INVALID_RECORD",
    "UNSTABLE_OFFSET_COMMIT",
    "THROTTLING_QUOTA_EXCEEDED",
    "PRODUCER_FENCED",
    "RESOURCE_NOT_FOUND",
    "DUPLICATE_RESOURCE",
    "UNACCEPTABLE_CREDENTIAL",
    "INCONSISTENT_VOTER_SET",
    "INVALID_UPDATE_VERSION",
    "FEATURE_UPDATE_FAILED",
    "PRINCIPAL_DESERIALIZATION_FAILURE",
    "SNAPSHOT_NOT_FOUND",
    "POSITION_OUT_OF_RANGE",
    "UNKNOWN_TOPIC_ID",
    "DUPLICATE_BROKER_REGISTRATION",
    "BROKER_ID_NOT_REGISTERED",
    "INCONSISTENT_TOPIC_ID",
    "INCONSISTENT_CLUSTER_ID",
    "TRANSACTIONAL_ID_NOT_FOUND",
    "FETCH_SESSION_TOPIC_ID_ERROR",
    "INELIGIBLE_REPLICA",
    "NEW_LEADER_ELECTED",
    "OFFSET_MOVED_TO_TIERED_STORAGE",
    "FENCED_MEMBER_EPOCH",
    "UNRELEASED_INSTANCE_ID",
    "UNSUPPORTED_ASSIGNOR",
    "STALE_MEMBER_EPOCH",
    "MISMATCHED_ENDPOINT_TYPE",
    "UNSUPPORTED_ENDPOINT_TYPE",
    "UNKNOWN_CONTROLLER_ID",
    "UNKNOWN_SUBSCRIPTION_ID",
    "TELEMETRY_TOO_LARGE",
    "INVALID_REGISTRATION",
    "TRANSACTION_ABORTABLE",
    "INVALID_RECORD_STATE",
    "SHARE_SESSION_NOT_FOUND",
    "INVALID_SHARE_SESSION_EPOCH",
    "FENCED_STATE_EPOCH",
    "INVALID_VOTER_KEY",
    "DUPLICATE_VOTER",
    "VOTER_NOT_FOUND",
];

/// The error code's name (`"UNKNOWN_TOPIC_OR_PARTITION"`), or `"ERROR_<n>"` for a code not in the table.
pub fn error_name(code: i16) -> std::borrow::Cow<'static, str> {
    if code == -1 {
        return "UNKNOWN_SERVER_ERROR".into();
    }
    match usize::try_from(code).ok().and_then(|c| ERRORS.get(c)) {
        Some(name) => (*name).into(),
        None => format!("ERROR_{code}").into(),
    }
}

/// Codes that say the broker side could not serve the request now (unknown server error, no
/// leader or coordinator available, timeouts, storage and replication trouble, throttling).
const SERVER_FAULTS: [i16; 26] =
    [-1, 5, 6, 7, 8, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 57, 72, 74, 75, 78, 80, 83, 89, 100, 103, 106];

/// The common outcome of an error code: 0 is ok, the broker-side conditions of
/// [`SERVER_FAULTS`] are server errors, every other code refuses what the client asked
/// (unknown topic, authorization, invalid request, group membership out of date, ...).
pub fn error_outcome(code: i16) -> Outcome {
    match code {
        0 => Outcome::Ok,
        c if SERVER_FAULTS.contains(&c) => Outcome::ServerError,
        _ => Outcome::ClientError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_protocol_guide() {
        assert_eq!(api_name(0), Some("Produce"));
        assert_eq!(api_name(18), Some("ApiVersions"));
        assert_eq!(api_name(36), Some("SaslAuthenticate"));
        assert_eq!(api_name(-1), None);
        assert_eq!(api_name(1000), None);
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR");
        assert_eq!(error_name(999), "ERROR_999");
        assert!(known_version(0, 9) && !known_version(0, 16) && !known_version(0, -1) && !known_version(-3, 0));
    }

    #[test]
    fn outcomes_split_client_and_server_faults() {
        assert_eq!(error_outcome(0), Outcome::Ok);
        assert_eq!(error_outcome(3), Outcome::ClientError);
        assert_eq!(error_outcome(29), Outcome::ClientError);
        assert_eq!(error_outcome(6), Outcome::ServerError);
        assert_eq!(error_outcome(-1), Outcome::ServerError);
    }
}
