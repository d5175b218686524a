//! MongoDB's error codes (the server's `error_codes.yml`): names for replies that carry only the
//! number, and whose fault a failure is, for the common outcome.

use crate::entry::Outcome;

/// Code → name, for the codes a client commonly meets.
const NAMES: &[(i64, &str)] = &[
    (1, "InternalError"),
    (2, "BadValue"),
    (4, "NoSuchKey"),
    (5, "GraphContainsCycle"),
    (6, "HostUnreachable"),
    (7, "HostNotFound"),
    (8, "UnknownError"),
    (9, "FailedToParse"),
    (10, "CannotMutateObject"),
    (11, "UserNotFound"),
    (12, "UnsupportedFormat"),
    (13, "Unauthorized"),
    (14, "TypeMismatch"),
    (15, "Overflow"),
    (16, "InvalidLength"),
    (17, "ProtocolError"),
    (18, "AuthenticationFailed"),
    (19, "CannotReuseObject"),
    (20, "IllegalOperation"),
    (21, "EmptyArrayOperation"),
    (22, "InvalidBSON"),
    (23, "AlreadyInitialized"),
    (24, "LockTimeout"),
    (25, "RemoteValidationError"),
    (26, "NamespaceNotFound"),
    (27, "IndexNotFound"),
    (28, "PathNotViable"),
    (29, "NonExistentPath"),
    (30, "InvalidPath"),
    (31, "RoleNotFound"),
    (32, "RolesNotRelated"),
    (33, "PrivilegeNotFound"),
    (34, "CannotBackfillArray"),
    (35, "UserModificationFailed"),
    (36, "RemoteChangeDetected"),
    (37, "FileRenameFailed"),
    (38, "FileNotOpen"),
    (39, "FileStreamFailed"),
    (40, "ConflictingUpdateOperators"),
    (41, "FileAlreadyOpen"),
    (42, "LogWriteFailed"),
    (43, "CursorNotFound"),
    (45, "UserDataInconsistent"),
    (46, "LockBusy"),
    (47, "NoMatchingDocument"),
    (48, "NamespaceExists"),
    (49, "InvalidRoleModification"),
    (50, "MaxTimeMSExpired"),
    (51, "ManualInterventionRequired"),
    (52, "DollarPrefixedFieldName"),
    (53, "InvalidIdField"),
    (54, "NotSingleValueField"),
    (55, "InvalidDBRef"),
    (56, "EmptyFieldName"),
    (57, "DottedFieldName"),
    (58, "RoleModificationFailed"),
    (59, "CommandNotFound"),
    (61, "ShardKeyNotFound"),
    (62, "OplogOperationUnsupported"),
    (63, "StaleShardVersion"),
    (64, "WriteConcernFailed"),
    (65, "MultipleErrorsOccurred"),
    (66, "ImmutableField"),
    (67, "CannotCreateIndex"),
    (68, "IndexAlreadyExists"),
    (69, "AuthSchemaIncompatible"),
    (70, "ShardNotFound"),
    (71, "ReplicaSetNotFound"),
    (72, "InvalidOptions"),
    (73, "InvalidNamespace"),
    (74, "NodeNotFound"),
    (75, "WriteConcernLegacyOK"),
    (76, "NoReplicationEnabled"),
    (77, "OperationIncomplete"),
    (78, "CommandResultSchemaViolation"),
    (79, "UnknownReplWriteConcern"),
    (80, "RoleDataInconsistent"),
    (81, "NoMatchParseContext"),
    (82, "NoProgressMade"),
    (83, "RemoteResultsUnavailable"),
    (85, "IndexOptionsConflict"),
    (86, "IndexKeySpecsConflict"),
    (87, "CannotSplit"),
    (89, "NetworkTimeout"),
    (90, "CallbackCanceled"),
    (91, "ShutdownInProgress"),
    (92, "SecondaryAheadOfPrimary"),
    (93, "InvalidReplicaSetConfig"),
    (94, "NotYetInitialized"),
    (95, "NotSecondary"),
    (96, "OperationFailed"),
    (97, "NoProjectionFound"),
    (98, "DBPathInUse"),
    (100, "UnsatisfiableWriteConcern"),
    (101, "OutdatedClient"),
    (103, "NewReplicaSetConfigurationIncompatible"),
    (104, "NodeNotElectable"),
    (107, "LockFailed"),
    (109, "ConfigurationInProgress"),
    (111, "NotExactValueField"),
    (112, "WriteConflict"),
    (113, "InitialSyncFailure"),
    (115, "CommandNotSupported"),
    (116, "DocTooLargeForCapped"),
    (117, "ConflictingOperationInProgress"),
    (118, "NamespaceNotSharded"),
    (121, "DocumentValidationFailure"),
    (123, "NotAReplicaSet"),
    (125, "CommandFailed"),
    (133, "FailedToSatisfyReadPreference"),
    (136, "CappedPositionLost"),
    (139, "JSInterpreterFailure"),
    (141, "SSLHandshakeFailed"),
    (143, "CursorInUse"),
    (146, "ExceededMemoryLimit"),
    (147, "ZLibError"),
    (150, "StaleEpoch"),
    (165, "ViewDepthLimitExceeded"),
    (166, "CommandNotSupportedOnView"),
    (167, "OptionNotSupportedOnView"),
    (168, "InvalidPipelineOperator"),
    (170, "TooManyMatchingDocuments"),
    (171, "CannotIndexParallelArrays"),
    (175, "QueryPlanKilled"),
    (182, "InvalidViewDefinition"),
    (189, "PrimarySteppedDown"),
    (197, "InvalidIndexSpecificationOption"),
    (202, "NetworkInterfaceExceededTimeLimit"),
    (206, "NoSuchSession"),
    (207, "InvalidUUID"),
    (211, "KeyNotFound"),
    (216, "ElectionInProgress"),
    (223, "IllegalOpMsgFlag"),
    (225, "TransactionTooOld"),
    (237, "CursorKilled"),
    (238, "NotImplemented"),
    (239, "SnapshotTooOld"),
    (241, "ConversionFailure"),
    (251, "NoSuchTransaction"),
    (256, "TransactionCommitted"),
    (257, "TransactionTooLarge"),
    (262, "ExceededTimeLimit"),
    (263, "OperationNotSupportedInTransaction"),
    (279, "ClientDisconnect"),
    (10107, "NotWritablePrimary"),
    (10334, "BSONObjectTooLarge"),
    (11000, "DuplicateKey"),
    (11600, "InterruptedAtShutdown"),
    (11601, "Interrupted"),
    (11602, "InterruptedDueToReplStateChange"),
    (13297, "DatabaseDifferCase"),
    (13388, "StaleConfig"),
    (13435, "NotPrimaryNoSecondaryOk"),
    (13436, "NotPrimaryOrSecondary"),
    (14031, "OutOfDiskSpace"),
];

/// The name of an error code; `Location<code>` (the server's own name for an assertion without
/// a registered name) for the rest.
pub fn code_name(code: i64) -> String {
    match NAMES.binary_search_by_key(&code, |&(c, _)| c) {
        Ok(i) => NAMES[i].1.to_owned(),
        Err(_) => format!("Location{code}"),
    }
}

/// Failures that are the server's (or its cluster's) state, not the request: unreachable or
/// stepping-down members, shutdowns, internal errors, timeouts inside the cluster, resources.
const SERVER_FAULTS: &[&str] = &[
    "InternalError",
    "HostUnreachable",
    "HostNotFound",
    "UnknownError",
    "LockTimeout",
    "LockBusy",
    "NetworkTimeout",
    "ShutdownInProgress",
    "WriteConcernFailed",
    "LockFailed",
    "WriteConflict",
    "FailedToSatisfyReadPreference",
    "ExceededMemoryLimit",
    "PrimarySteppedDown",
    "NetworkInterfaceExceededTimeLimit",
    "ElectionInProgress",
    "ExceededTimeLimit",
    "NotWritablePrimary",
    "InterruptedAtShutdown",
    "InterruptedDueToReplStateChange",
    "NotPrimaryNoSecondaryOk",
    "NotPrimaryOrSecondary",
    "OutOfDiskSpace",
    "StaleConfig",
    "StaleShardVersion",
    "StaleEpoch",
    "NotImplemented",
];

/// The common outcome of a failure named `name`: server-side states are server errors, a name
/// from the table otherwise says the request was refused (client error), and a failure without
/// a known name is an error of unknown fault.
pub fn outcome_of(name: &str) -> Outcome {
    if SERVER_FAULTS.contains(&name) {
        Outcome::ServerError
    } else if NAMES.iter().any(|&(_, n)| n == name) {
        Outcome::ClientError
    } else {
        Outcome::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(SERVER_FAULTS.iter().all(|n| NAMES.iter().any(|&(_, m)| m == *n)), "server faults are known names");
    }

    #[test]
    fn names_and_outcomes() {
        assert_eq!(code_name(11000), "DuplicateKey");
        assert_eq!(code_name(59), "CommandNotFound");
        assert_eq!(code_name(16436), "Location16436");
        assert_eq!(outcome_of("DuplicateKey"), Outcome::ClientError);
        assert_eq!(outcome_of("NotWritablePrimary"), Outcome::ServerError);
        assert_eq!(outcome_of("Location16436"), Outcome::Error);
    }
}
