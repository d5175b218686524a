//! The message layouts of the APIs whose bodies are decoded, transcribed from Apache Kafka's
//! message definitions (`clients/src/main/resources/common/message/*.json`): each field with the
//! versions it is present in, the versions it may be null in, and its tag when it is a tagged
//! field of the flexible versions. [`decode`](super::decode) walks these tables, so one walker
//! serves every API and version.
//!
//! JSON names are the definitions' names in snake_case, with three renames that make every API
//! look alike to filters and to the dashboard: an array of topics is `topic_data` (its element's
//! name is `name`), an array of partitions is `partitions`, a partition index is `partition`.

/// A field's type.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Uuid,
    Str,
    Bytes,
    /// A record set (record batches), decoded by [`records`](super::records).
    Records,
    /// An int16 error code: named, and the first non-zero one is the exchange's status.
    ErrorCode,
    /// A string that names a topic: collected into the entry's `topics`.
    TopicName,
    I32s,
    I64s,
    Strs,
    /// An array of topic names (collected like [`Ty::TopicName`]).
    TopicNames,
    /// An array of structs.
    Structs(&'static [Field]),
    /// One struct.
    Struct(&'static [Field]),
}

/// One field of a message or struct.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Present in versions `since..=until`.
    pub since: i16,
    pub until: i16,
    /// May be null from this version on.
    pub null_since: i16,
    /// A tagged field (flexible versions only): its tag.
    pub tag: Option<u32>,
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, since: 0, until: i16::MAX, null_since: i16::MAX, tag: None }
}

impl Field {
    const fn v(mut self, since: i16) -> Field {
        self.since = since;
        self
    }
    const fn upto(mut self, until: i16) -> Field {
        self.until = until;
        self
    }
    const fn null(mut self, since: i16) -> Field {
        self.null_since = since;
        self
    }
    const fn tag(mut self, tag: u32) -> Field {
        self.tag = Some(tag);
        self
    }
    /// Whether the field is in messages of this version.
    pub fn present(&self, version: i16) -> bool {
        (self.since..=self.until).contains(&version)
    }
    pub fn nullable(&self, version: i16) -> bool {
        version >= self.null_since
    }
}

/// An API whose bodies are decoded.
pub struct Api {
    pub key: i16,
    /// The first flexible version (compact encodings, tagged fields, header v2 / v1).
    pub flexible_since: i16,
    pub request: &'static [Field],
    pub response: &'static [Field],
}

impl Api {
    pub fn flexible(&self, version: i16) -> bool {
        version >= self.flexible_since
    }
}

use Ty::*;

const NEVER: i16 = i16::MAX;

const LEADER: &[Field] = &[f("leader_id", I32), f("leader_epoch", I32)];
const NODE_ENDPOINTS: &[Field] = &[f("node_id", I32), f("host", Str), f("port", I32), f("rack", Str).null(0)];

static PRODUCE: Api = Api {
    key: 0,
    flexible_since: 9,
    request: &[
        f("transactional_id", Str).v(3).null(3),
        f("acks", I16),
        f("timeout_ms", I32),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).upto(12),
                f("topic_id", Uuid).v(13),
                f("partitions", Structs(&[f("partition", I32), f("records", Records).null(0)])),
            ]),
        ),
    ],
    response: &[
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).upto(12),
                f("topic_id", Uuid).v(13),
                f(
                    "partitions",
                    Structs(&[
                        f("partition", I32),
                        f("error_code", ErrorCode),
                        f("base_offset", I64),
                        f("log_append_time_ms", I64).v(2),
                        f("log_start_offset", I64).v(5),
                        f(
                            "record_errors",
                            Structs(&[f("batch_index", I32), f("batch_index_error_message", Str).null(0)]),
                        )
                        .v(8),
                        f("error_message", Str).v(8).null(8),
                        f("current_leader", Struct(LEADER)).v(10).tag(0),
                    ]),
                ),
            ]),
        ),
        f("throttle_time_ms", I32).v(1),
        f("node_endpoints", Structs(NODE_ENDPOINTS)).v(10).tag(0),
    ],
};

static FETCH: Api = Api {
    key: 1,
    flexible_since: 12,
    request: &[
        f("cluster_id", Str).v(12).null(12).tag(0),
        f("replica_id", I32).upto(14),
        f("replica_state", Struct(&[f("replica_id", I32), f("replica_epoch", I64)])).v(15).tag(1),
        f("max_wait_ms", I32),
        f("min_bytes", I32),
        f("max_bytes", I32).v(3),
        f("isolation_level", I8).v(4),
        f("session_id", I32).v(7),
        f("session_epoch", I32).v(7),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).upto(12),
                f("topic_id", Uuid).v(13),
                f(
                    "partitions",
                    Structs(&[
                        f("partition", I32),
                        f("current_leader_epoch", I32).v(9),
                        f("fetch_offset", I64),
                        f("last_fetched_epoch", I32).v(12),
                        f("log_start_offset", I64).v(5),
                        f("partition_max_bytes", I32),
                        f("replica_directory_id", Uuid).v(17).tag(0),
                        f("high_watermark", I64).v(18).tag(1),
                    ]),
                ),
            ]),
        ),
        f(
            "forgotten_topics",
            Structs(&[f("name", Str).v(7).upto(12), f("topic_id", Uuid).v(13), f("partitions", I32s).v(7)]),
        )
        .v(7),
        f("rack_id", Str).v(11),
    ],
    response: &[
        f("throttle_time_ms", I32).v(1),
        f("error_code", ErrorCode).v(7),
        f("session_id", I32).v(7),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).upto(12),
                f("topic_id", Uuid).v(13),
                f(
                    "partitions",
                    Structs(&[
                        f("partition", I32),
                        f("error_code", ErrorCode),
                        f("high_watermark", I64),
                        f("last_stable_offset", I64).v(4),
                        f("log_start_offset", I64).v(5),
                        f("diverging_epoch", Struct(&[f("epoch", I32), f("end_offset", I64)])).v(12).tag(0),
                        f("current_leader", Struct(LEADER)).v(12).tag(1),
                        f("snapshot_id", Struct(&[f("end_offset", I64), f("epoch", I32)])).v(12).tag(2),
                        f("aborted_transactions", Structs(&[f("producer_id", I64), f("first_offset", I64)]))
                            .v(4)
                            .null(4),
                        f("preferred_read_replica", I32).v(11),
                        f("records", Records).null(0),
                    ]),
                ),
            ]),
        ),
        f("node_endpoints", Structs(NODE_ENDPOINTS)).v(16).tag(0),
    ],
};

static LIST_OFFSETS: Api = Api {
    key: 2,
    flexible_since: 6,
    request: &[
        f("replica_id", I32),
        f("isolation_level", I8).v(2),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName),
                f(
                    "partitions",
                    Structs(&[
                        f("partition", I32),
                        f("current_leader_epoch", I32).v(4),
                        f("timestamp", I64),
                        f("max_num_offsets", I32).upto(0),
                    ]),
                ),
            ]),
        ),
        f("timeout_ms", I32).v(10),
    ],
    response: &[
        f("throttle_time_ms", I32).v(2),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName),
                f(
                    "partitions",
                    Structs(&[
                        f("partition", I32),
                        f("error_code", ErrorCode),
                        f("old_style_offsets", I64s).upto(0),
                        f("timestamp", I64).v(1),
                        f("offset", I64).v(1),
                        f("leader_epoch", I32).v(4),
                    ]),
                ),
            ]),
        ),
    ],
};

static METADATA: Api = Api {
    key: 3,
    flexible_since: 9,
    request: &[
        f("topic_data", Structs(&[f("topic_id", Uuid).v(10), f("name", TopicName).null(10)])).null(1),
        f("allow_auto_topic_creation", Bool).v(4),
        f("include_cluster_authorized_operations", Bool).v(8).upto(10),
        f("include_topic_authorized_operations", Bool).v(8),
    ],
    response: &[
        f("throttle_time_ms", I32).v(3),
        f("brokers", Structs(&[f("node_id", I32), f("host", Str), f("port", I32), f("rack", Str).v(1).null(1)])),
        f("cluster_id", Str).v(2).null(2),
        f("controller_id", I32).v(1),
        f(
            "topic_data",
            Structs(&[
                f("error_code", ErrorCode),
                f("name", TopicName).null(12),
                f("topic_id", Uuid).v(10),
                f("is_internal", Bool).v(1),
                f(
                    "partitions",
                    Structs(&[
                        f("error_code", ErrorCode),
                        f("partition", I32),
                        f("leader_id", I32),
                        f("leader_epoch", I32).v(7),
                        f("replica_nodes", I32s),
                        f("isr_nodes", I32s),
                        f("offline_replicas", I32s).v(5),
                    ]),
                ),
                f("topic_authorized_operations", I32).v(8),
            ]),
        ),
        f("cluster_authorized_operations", I32).v(8).upto(10),
        f("error_code", ErrorCode).v(13),
    ],
};

static OFFSET_COMMIT: Api = Api {
    key: 8,
    flexible_since: 8,
    request: &[
        f("group_id", Str),
        f("generation_id_or_member_epoch", I32).v(1),
        f("member_id", Str).v(1),
        f("group_instance_id", Str).v(7).null(7),
        f("retention_time_ms", I64).v(2).upto(4),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).upto(9),
                f("topic_id", Uuid).v(10),
                f(
                    "partitions",
                    Structs(&[
                        f("partition", I32),
                        f("committed_offset", I64),
                        f("committed_leader_epoch", I32).v(6),
                        f("commit_timestamp", I64).v(1).upto(1),
                        f("committed_metadata", Str).null(0),
                    ]),
                ),
            ]),
        ),
    ],
    response: &[
        f("throttle_time_ms", I32).v(3),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).upto(9),
                f("topic_id", Uuid).v(10),
                f("partitions", Structs(&[f("partition", I32), f("error_code", ErrorCode)])),
            ]),
        ),
    ],
};

const OFFSET_FETCH_PARTITION: &[Field] = &[
    f("partition", I32),
    f("committed_offset", I64),
    f("committed_leader_epoch", I32).v(5),
    f("metadata", Str).null(0),
    f("error_code", ErrorCode),
];

static OFFSET_FETCH: Api = Api {
    key: 9,
    flexible_since: 6,
    request: &[
        f("group_id", Str).upto(7),
        f("topic_data", Structs(&[f("name", TopicName), f("partition_indexes", I32s)])).upto(7).null(2),
        f(
            "groups",
            Structs(&[
                f("group_id", Str),
                f("member_id", Str).v(9).null(9),
                f("member_epoch", I32).v(9),
                f(
                    "topic_data",
                    Structs(&[f("name", TopicName).upto(9), f("topic_id", Uuid).v(10), f("partition_indexes", I32s)]),
                )
                .null(8),
            ]),
        )
        .v(8),
        f("require_stable", Bool).v(7),
    ],
    response: &[
        f("throttle_time_ms", I32).v(3),
        f("topic_data", Structs(&[f("name", TopicName), f("partitions", Structs(OFFSET_FETCH_PARTITION))])).upto(7),
        f("error_code", ErrorCode).v(2).upto(7),
        f(
            "groups",
            Structs(&[
                f("group_id", Str),
                f(
                    "topic_data",
                    Structs(&[
                        f("name", TopicName).upto(9),
                        f("topic_id", Uuid).v(10),
                        f("partitions", Structs(OFFSET_FETCH_PARTITION)),
                    ]),
                ),
                f("error_code", ErrorCode),
            ]),
        )
        .v(8),
    ],
};

static FIND_COORDINATOR: Api = Api {
    key: 10,
    flexible_since: 3,
    request: &[f("key", Str).upto(3), f("key_type", I8).v(1), f("coordinator_keys", Strs).v(4)],
    response: &[
        f("throttle_time_ms", I32).v(1),
        f("error_code", ErrorCode).upto(3),
        f("error_message", Str).v(1).upto(3).null(1),
        f("node_id", I32).upto(3),
        f("host", Str).upto(3),
        f("port", I32).upto(3),
        f(
            "coordinators",
            Structs(&[
                f("key", Str),
                f("node_id", I32),
                f("host", Str),
                f("port", I32),
                f("error_code", ErrorCode),
                f("error_message", Str).null(0),
            ]),
        )
        .v(4),
    ],
};

static JOIN_GROUP: Api = Api {
    key: 11,
    flexible_since: 6,
    request: &[
        f("group_id", Str),
        f("session_timeout_ms", I32),
        f("rebalance_timeout_ms", I32).v(1),
        f("member_id", Str),
        f("group_instance_id", Str).v(5).null(5),
        f("protocol_type", Str),
        f("protocols", Structs(&[f("name", Str), f("metadata", Bytes)])),
        f("reason", Str).v(8).null(8),
    ],
    response: &[
        f("throttle_time_ms", I32).v(2),
        f("error_code", ErrorCode),
        f("generation_id", I32),
        f("protocol_type", Str).v(7).null(7),
        f("protocol_name", Str).null(7),
        f("leader", Str),
        f("skip_assignment", Bool).v(9),
        f("member_id", Str),
        f("members", Structs(&[f("member_id", Str), f("group_instance_id", Str).v(5).null(5), f("metadata", Bytes)])),
    ],
};

static HEARTBEAT: Api = Api {
    key: 12,
    flexible_since: 4,
    request: &[
        f("group_id", Str),
        f("generation_id", I32),
        f("member_id", Str),
        f("group_instance_id", Str).v(3).null(3),
    ],
    response: &[f("throttle_time_ms", I32).v(1), f("error_code", ErrorCode)],
};

static LEAVE_GROUP: Api = Api {
    key: 13,
    flexible_since: 4,
    request: &[
        f("group_id", Str),
        f("member_id", Str).upto(2),
        f(
            "members",
            Structs(&[f("member_id", Str), f("group_instance_id", Str).null(3), f("reason", Str).v(5).null(5)]),
        )
        .v(3),
    ],
    response: &[
        f("throttle_time_ms", I32).v(1),
        f("error_code", ErrorCode),
        f("members", Structs(&[f("member_id", Str), f("group_instance_id", Str).null(3), f("error_code", ErrorCode)]))
            .v(3),
    ],
};

static SYNC_GROUP: Api = Api {
    key: 14,
    flexible_since: 4,
    request: &[
        f("group_id", Str),
        f("generation_id", I32),
        f("member_id", Str),
        f("group_instance_id", Str).v(3).null(3),
        f("protocol_type", Str).v(5).null(5),
        f("protocol_name", Str).v(5).null(5),
        f("assignments", Structs(&[f("member_id", Str), f("assignment", Bytes)])),
    ],
    response: &[
        f("throttle_time_ms", I32).v(1),
        f("error_code", ErrorCode),
        f("protocol_type", Str).v(5).null(5),
        f("protocol_name", Str).v(5).null(5),
        f("assignment", Bytes),
    ],
};

static SASL_HANDSHAKE: Api = Api {
    key: 17,
    flexible_since: NEVER,
    request: &[f("mechanism", Str)],
    response: &[f("error_code", ErrorCode), f("mechanisms", Strs)],
};

static API_VERSIONS: Api = Api {
    key: 18,
    flexible_since: 3,
    request: &[f("client_software_name", Str).v(3), f("client_software_version", Str).v(3)],
    response: &[
        f("error_code", ErrorCode),
        f("api_keys", Structs(&[f("api_key", I16), f("min_version", I16), f("max_version", I16)])),
        f("throttle_time_ms", I32).v(1),
        f("supported_features", Structs(&[f("name", Str), f("min_version", I16), f("max_version", I16)])).v(3).tag(0),
        f("finalized_features_epoch", I64).v(3).tag(1),
        f("finalized_features", Structs(&[f("name", Str), f("max_version_level", I16), f("min_version_level", I16)]))
            .v(3)
            .tag(2),
        f("zk_migration_ready", Bool).v(3).tag(3),
    ],
};

static CREATE_TOPICS: Api = Api {
    key: 19,
    flexible_since: 5,
    request: &[
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName),
                f("num_partitions", I32),
                f("replication_factor", I16),
                f("assignments", Structs(&[f("partition", I32), f("broker_ids", I32s)])),
                f("configs", Structs(&[f("name", Str), f("value", Str).null(0)])),
            ]),
        ),
        f("timeout_ms", I32),
        f("validate_only", Bool).v(1),
    ],
    response: &[
        f("throttle_time_ms", I32).v(2),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName),
                f("topic_id", Uuid).v(7),
                f("error_code", ErrorCode),
                f("error_message", Str).v(1).null(0),
                f("topic_config_error_code", ErrorCode).v(5).tag(0),
                f("num_partitions", I32).v(5),
                f("replication_factor", I16).v(5),
                f(
                    "configs",
                    Structs(&[
                        f("name", Str),
                        f("value", Str).null(0),
                        f("read_only", Bool),
                        f("config_source", I8),
                        f("is_sensitive", Bool),
                    ]),
                )
                .v(5)
                .null(5),
            ]),
        ),
    ],
};

static DELETE_TOPICS: Api = Api {
    key: 20,
    flexible_since: 4,
    request: &[
        f("topic_data", Structs(&[f("name", TopicName).null(6), f("topic_id", Uuid)])).v(6),
        f("topic_names", TopicNames).upto(5),
        f("timeout_ms", I32),
    ],
    response: &[
        f("throttle_time_ms", I32).v(1),
        f(
            "topic_data",
            Structs(&[
                f("name", TopicName).null(6),
                f("topic_id", Uuid).v(6),
                f("error_code", ErrorCode),
                f("error_message", Str).v(5).null(5),
            ]),
        ),
    ],
};

static INIT_PRODUCER_ID: Api = Api {
    key: 22,
    flexible_since: 2,
    request: &[
        f("transactional_id", Str).null(0),
        f("transaction_timeout_ms", I32),
        f("producer_id", I64).v(3),
        f("producer_epoch", I16).v(3),
        f("enable_2pc", Bool).v(6),
        f("keep_prepared_txn", Bool).v(6),
    ],
    response: &[
        f("throttle_time_ms", I32),
        f("error_code", ErrorCode),
        f("producer_id", I64),
        f("producer_epoch", I16),
        f("ongoing_txn_producer_id", I64).v(6),
        f("ongoing_txn_producer_epoch", I16).v(6),
    ],
};

static SASL_AUTHENTICATE: Api = Api {
    key: 36,
    flexible_since: 2,
    request: &[f("auth_bytes", Bytes)],
    response: &[
        f("error_code", ErrorCode),
        f("error_message", Str).null(0),
        f("auth_bytes", Bytes),
        f("session_lifetime_ms", I64).v(1),
    ],
};

static APIS: [&Api; 17] = [
    &PRODUCE,
    &FETCH,
    &LIST_OFFSETS,
    &METADATA,
    &OFFSET_COMMIT,
    &OFFSET_FETCH,
    &FIND_COORDINATOR,
    &JOIN_GROUP,
    &HEARTBEAT,
    &LEAVE_GROUP,
    &SYNC_GROUP,
    &SASL_HANDSHAKE,
    &API_VERSIONS,
    &CREATE_TOPICS,
    &DELETE_TOPICS,
    &INIT_PRODUCER_ID,
    &SASL_AUTHENTICATE,
];

/// The layout of an API whose bodies are decoded.
pub fn api(key: i16) -> Option<&'static Api> {
    APIS.iter().copied().find(|a| a.key == key)
}

/// API key of ApiVersions, whose response header never has tagged fields (so a client can read
/// the answer whatever version the broker supports).
pub const API_VERSIONS_KEY: i16 = 18;
pub const PRODUCE_KEY: i16 = 0;
pub const FETCH_KEY: i16 = 1;
