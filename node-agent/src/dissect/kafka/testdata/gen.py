#!/usr/bin/env python3
"""Writes vectors.json: Kafka requests and responses encoded by kafka-python (an independent
implementation of the protocol, generated from Apache Kafka's message definitions), with what
each one says: the test expectations are these inputs, never the dissector's own output.

Run: pip install kafka-python python-snappy lz4 zstandard && python3 gen.py > vectors.json
"""
import json
from kafka.protocol.metadata.api_versions import ApiVersionsRequest, ApiVersionsResponse
from kafka.protocol.metadata.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.metadata.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from kafka.protocol.producer.produce import ProduceRequest, ProduceResponse
from kafka.protocol.producer.transaction import InitProducerIdRequest, InitProducerIdResponse
from kafka.protocol.consumer.fetch import FetchRequest, FetchResponse
from kafka.protocol.consumer.group import (JoinGroupRequest, JoinGroupResponse, SyncGroupRequest,
    SyncGroupResponse, HeartbeatRequest, HeartbeatResponse, LeaveGroupRequest, LeaveGroupResponse,
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse)
from kafka.protocol.consumer.offsets import ListOffsetsRequest, ListOffsetsResponse
from kafka.protocol.admin.topics import CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse
from kafka.protocol.sasl import SaslHandshakeRequest, SaslHandshakeResponse, SaslAuthenticateRequest, SaslAuthenticateResponse
from kafka.record.default_records import DefaultRecordBatchBuilder


def build(cls, fields, d):
    """An instance of kafka-python's data class `cls` from a dict (nested structs too)."""
    kwargs = {}
    for f in fields:
        if f.name not in d:
            continue
        v = d[f.name]
        if (f.is_struct_array() or f.is_struct()) and v is not None:
            sub = getattr(cls, f._json['type'].replace('[]', ''))
            v = [build(sub, f._fields, x) for x in v] if f.is_struct_array() else build(sub, f._fields, v)
        kwargs[f.name] = v
    return kwargs if cls is None else cls(**kwargs)


def message(cls, version, d, correlation_id, client_id=None):
    kwargs = {}
    for f in cls._struct._fields:
        if f.name in d:
            v = d[f.name]
            if (f.is_struct_array() or f.is_struct()) and v is not None:
                sub = getattr(cls, f._json['type'].replace('[]', ''))
                v = [build(sub, f._fields, x) for x in v] if f.is_struct_array() else build(sub, f._fields, v)
            kwargs[f.name] = v
    m = cls(version=version, **kwargs)
    if cls.is_request():
        m.with_header(correlation_id=correlation_id, client_id=client_id)
    else:
        m.with_header(correlation_id=correlation_id)
    return bytes(m.encode(header=True, framed=True))


def batch(codec, base_offset, records):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i, (k, v, h) in enumerate(records):
        b.append(i, 1700000000000 + i, k, v, h)
    out = bytearray(b.build())
    out[0:8] = base_offset.to_bytes(8, 'big')
    return bytes(out), codec


vectors = []


def add(name, req_cls, resp_cls, version, req, resp, expect, correlation_id=7, client_id='unit-test'):
    vectors.append({
        'name': name,
        'request': message(req_cls, version, req, correlation_id, client_id).hex(),
        'response': None if resp is None else message(resp_cls, version, resp, correlation_id).hex(),
        'expect': dict(expect, api_version=version, correlation_id=correlation_id, client_id=client_id),
    })


# Values long and repetitive enough that every codec compresses them (kafka-python sends a batch
# uncompressed when compression does not pay).
def recs(n, tag):
    return [(('key-%d' % i).encode(), (('%s value %d ' % (tag, i)) * 20).encode(), [('trace', b'abc%d' % i)]) for i in range(n)]


for version in (3, 7, 9, 10):
    for codec, cname in ((0, 'none'), (1, 'gzip'), (2, 'snappy'), (3, 'lz4'), (4, 'zstd')):
        rs = recs(3, cname)
        data, _ = batch(codec, 0, rs)
        add('produce v%d %s' % (version, cname), ProduceRequest, ProduceResponse, version,
            {'transactional_id': None, 'acks': -1, 'timeout_ms': 30000,
             'topic_data': [{'name': 'orders', 'partition_data': [{'index': 1, 'records': data}]}]},
            {'responses': [{'name': 'orders', 'partition_responses': [
                {'index': 1, 'error_code': 0, 'base_offset': 42, 'log_append_time_ms': -1, 'log_start_offset': 0,
                 'record_errors': [], 'error_message': None}]}], 'throttle_time_ms': 0},
            {'api': 'Produce', 'topics': ['orders'], 'status': 'NONE', 'compression': cname,
             'records': [[k.decode(), v.decode(), [[h[0][0], h[0][1].decode()]]] for k, v, h in rs]})

add('produce v9 unknown topic', ProduceRequest, ProduceResponse, 9,
    {'transactional_id': None, 'acks': 1, 'timeout_ms': 1000,
     'topic_data': [{'name': 'nope', 'partition_data': [{'index': 0, 'records': batch(0, 0, [(None, b'x', [])])[0]}]}]},
    {'responses': [{'name': 'nope', 'partition_responses': [
        {'index': 0, 'error_code': 3, 'base_offset': -1, 'log_append_time_ms': -1, 'log_start_offset': -1,
         'record_errors': [], 'error_message': None}]}], 'throttle_time_ms': 0},
    {'api': 'Produce', 'topics': ['nope'], 'status': 'UNKNOWN_TOPIC_OR_PARTITION', 'outcome': 'client_error',
     'records': [[None, 'x', []]]})

many = [(b'k%d' % i, b'v%d' % i, []) for i in range(150)]
add('produce 3x150 records', ProduceRequest, ProduceResponse, 9,
    {'transactional_id': None, 'acks': 1, 'timeout_ms': 1000,
     'topic_data': [{'name': 'bulk', 'partition_data': [{'index': p, 'records': batch(3, 0, many)[0]} for p in range(3)]}]},
    {'responses': [{'name': 'bulk', 'partition_responses': [
        {'index': p, 'error_code': 0, 'base_offset': 0, 'log_append_time_ms': -1, 'log_start_offset': 0,
         'record_errors': [], 'error_message': None} for p in range(3)]}], 'throttle_time_ms': 0},
    {'api': 'Produce', 'topics': ['bulk'], 'status': 'NONE', 'record_count': 450,
     'first_records': [['k%d' % i, 'v%d' % i, []] for i in range(10)]})

add('produce acks=0', ProduceRequest, ProduceResponse, 8,
    {'transactional_id': None, 'acks': 0, 'timeout_ms': 1000,
     'topic_data': [{'name': 'fire', 'partition_data': [{'index': 0, 'records': batch(0, 0, [(b'k', b'v', [])])[0]}]}]},
    None, {'api': 'Produce', 'topics': ['fire'], 'status': None, 'outcome': 'ok', 'records': [['k', 'v', []]]})

for version in (4, 11, 12, 13):
    rs = recs(2, 'fetched')
    data, _ = batch(4, 100, rs)
    topic = {'topic': 'orders'} if version < 13 else {'topic_id': '6ba7b810-9dad-11d1-80b4-00c04fd430c8'}
    add('fetch v%d' % version, FetchRequest, FetchResponse, version,
        {'cluster_id': None, 'replica_id': -1, 'max_wait_ms': 500, 'min_bytes': 1, 'max_bytes': 52428800,
         'isolation_level': 0, 'session_id': 0, 'session_epoch': -1,
         'topics': [dict(topic, partitions=[{'partition': 0, 'current_leader_epoch': -1, 'fetch_offset': 100,
                                            'last_fetched_epoch': -1, 'log_start_offset': -1, 'partition_max_bytes': 1048576}])],
         'forgotten_topics_data': [], 'rack_id': ''},
        {'throttle_time_ms': 0, 'error_code': 0, 'session_id': 0,
         'responses': [dict(topic, partitions=[{'partition_index': 0, 'error_code': 0, 'high_watermark': 102,
                                               'last_stable_offset': 102, 'log_start_offset': 0, 'aborted_transactions': None,
                                               'preferred_read_replica': -1, 'records': data}])]},
        {'api': 'Fetch', 'topics': ['orders'] if version < 13 else [], 'status': 'NONE', 'compression': 'zstd',
         'first_offset': 100, 'records': [[k.decode(), v.decode(), [[h[0][0], h[0][1].decode()]]] for k, v, h in rs]})

add('fetch v11 offset out of range', FetchRequest, FetchResponse, 11,
    {'replica_id': -1, 'max_wait_ms': 500, 'min_bytes': 1, 'max_bytes': 1000, 'isolation_level': 1, 'session_id': 0,
     'session_epoch': -1, 'topics': [{'topic': 'a', 'partitions': [{'partition': 0, 'current_leader_epoch': -1,
     'fetch_offset': 999, 'log_start_offset': -1, 'partition_max_bytes': 1000}]}, {'topic': 'b', 'partitions': []}],
     'forgotten_topics_data': [], 'rack_id': 'r1'},
    {'throttle_time_ms': 0, 'error_code': 0, 'session_id': 0, 'responses': [{'topic': 'a', 'partitions': [
        {'partition_index': 0, 'error_code': 1, 'high_watermark': 5, 'last_stable_offset': 5, 'log_start_offset': 0,
         'aborted_transactions': None, 'preferred_read_replica': -1, 'records': None}]}]},
    {'api': 'Fetch', 'topics': ['a', 'b'], 'status': 'OFFSET_OUT_OF_RANGE', 'outcome': 'client_error'})

for version in (0, 1, 3, 5, 7):
    add('apiversions v%d' % version, ApiVersionsRequest, ApiVersionsResponse, version,
        {'client_software_name': 'kafka-python', 'client_software_version': '3.0'},
        {'error_code': 0, 'api_keys': [{'api_key': 0, 'min_version': 0, 'max_version': 11},
                                       {'api_key': 18, 'min_version': 0, 'max_version': 4}],
         'throttle_time_ms': 0, 'supported_features': [{'name': 'metadata.version', 'min_version': 1, 'max_version': 19}],
         'finalized_features_epoch': 5, 'finalized_features': [], 'zk_migration_ready': False},
        {'api': 'ApiVersions', 'topics': [], 'status': 'NONE'}) if version <= 4 else None

for version in (1, 4, 9, 12):
    add('metadata v%d' % version, MetadataRequest, MetadataResponse, version,
        {'topics': [{'name': 'orders'}, {'name': 'payments'}], 'allow_auto_topic_creation': True,
         'include_topic_authorized_operations': False},
        {'throttle_time_ms': 0, 'brokers': [{'node_id': 1, 'host': 'localhost', 'port': 9092, 'rack': None}],
         'cluster_id': 'abc', 'controller_id': 1,
         'topics': [{'error_code': 0, 'name': 'orders', 'is_internal': False, 'partitions': [
             {'error_code': 0, 'partition_index': 0, 'leader_id': 1, 'leader_epoch': 0, 'replica_nodes': [1],
              'isr_nodes': [1], 'offline_replicas': []}], 'topic_authorized_operations': -2147483648},
                    {'error_code': 5, 'name': 'payments', 'is_internal': False, 'partitions': [],
                     'topic_authorized_operations': -2147483648}]},
        {'api': 'Metadata', 'topics': ['orders', 'payments'], 'status': 'LEADER_NOT_AVAILABLE', 'outcome': 'server_error'})

for version in (2, 7, 8):
    add('offsetcommit v%d' % version, OffsetCommitRequest, OffsetCommitResponse, version,
        {'group_id': 'g1', 'generation_id_or_member_epoch': 3, 'member_id': 'm-1', 'group_instance_id': None,
         'retention_time_ms': -1, 'topics': [{'name': 'orders', 'partitions': [
             {'partition_index': 0, 'committed_offset': 17, 'committed_leader_epoch': -1, 'committed_metadata': ''}]}]},
        {'throttle_time_ms': 0, 'topics': [{'name': 'orders', 'partitions': [{'partition_index': 0, 'error_code': 22}]}]},
        {'api': 'OffsetCommit', 'topics': ['orders'], 'status': 'ILLEGAL_GENERATION', 'outcome': 'client_error'})

for version in (1, 5, 7, 8):
    if version < 8:
        req = {'group_id': 'g1', 'topics': [{'name': 'orders', 'partition_indexes': [0, 1]}], 'require_stable': False}
        resp = {'throttle_time_ms': 0, 'topics': [{'name': 'orders', 'partitions': [
            {'partition_index': 0, 'committed_offset': 17, 'committed_leader_epoch': -1, 'metadata': '', 'error_code': 0}]}],
            'error_code': 0}
    else:
        req = {'groups': [{'group_id': 'g1', 'topics': [{'name': 'orders', 'partition_indexes': [0, 1]}]}], 'require_stable': True}
        resp = {'throttle_time_ms': 0, 'groups': [{'group_id': 'g1', 'topics': [{'name': 'orders', 'partitions': [
            {'partition_index': 0, 'committed_offset': 17, 'committed_leader_epoch': -1, 'metadata': None, 'error_code': 0}]}],
            'error_code': 0}]}
    add('offsetfetch v%d' % version, OffsetFetchRequest, OffsetFetchResponse, version, req, resp,
        {'api': 'OffsetFetch', 'topics': ['orders'], 'status': 'NONE'})

for version in (1, 4, 6):
    add('listoffsets v%d' % version, ListOffsetsRequest, ListOffsetsResponse, version,
        {'replica_id': -1, 'isolation_level': 0, 'topics': [{'name': 'orders', 'partitions': [
            {'partition_index': 0, 'current_leader_epoch': -1, 'timestamp': -1}]}]},
        {'throttle_time_ms': 0, 'topics': [{'name': 'orders', 'partitions': [
            {'partition_index': 0, 'error_code': 0, 'timestamp': -1, 'offset': 102, 'leader_epoch': 0}]}]},
        {'api': 'ListOffsets', 'topics': ['orders'], 'status': 'NONE'})

for version in (1, 3, 4):
    if version < 4:
        req = {'key': 'g1', 'key_type': 0}
        resp = {'throttle_time_ms': 0, 'error_code': 15, 'error_message': None, 'node_id': -1, 'host': '', 'port': -1}
    else:
        req = {'key_type': 0, 'coordinator_keys': ['g1']}
        resp = {'throttle_time_ms': 0, 'coordinators': [{'key': 'g1', 'node_id': -1, 'host': '', 'port': -1,
                                                         'error_code': 15, 'error_message': 'not yet'}]}
    add('findcoordinator v%d' % version, FindCoordinatorRequest, FindCoordinatorResponse, version, req, resp,
        {'api': 'FindCoordinator', 'topics': [], 'status': 'COORDINATOR_NOT_AVAILABLE', 'outcome': 'server_error'})

for version in (2, 5, 6, 9):
    add('joingroup v%d' % version, JoinGroupRequest, JoinGroupResponse, version,
        {'group_id': 'g1', 'session_timeout_ms': 10000, 'rebalance_timeout_ms': 300000, 'member_id': '',
         'group_instance_id': None, 'protocol_type': 'consumer',
         'protocols': [{'name': 'range', 'metadata': b'\x00\x01meta'}], 'reason': None},
        {'throttle_time_ms': 0, 'error_code': 79, 'generation_id': -1, 'protocol_type': None, 'protocol_name': '',
         'leader': '', 'skip_assignment': False, 'member_id': 'm-1', 'members': []},
        {'api': 'JoinGroup', 'topics': [], 'status': 'MEMBER_ID_REQUIRED', 'outcome': 'client_error'})

for version in (1, 4, 5):
    add('syncgroup v%d' % version, SyncGroupRequest, SyncGroupResponse, version,
        {'group_id': 'g1', 'generation_id': 1, 'member_id': 'm-1', 'group_instance_id': None,
         'protocol_type': 'consumer', 'protocol_name': 'range', 'assignments': [{'member_id': 'm-1', 'assignment': b'\x00\x01'}]},
        {'throttle_time_ms': 0, 'error_code': 0, 'protocol_type': 'consumer', 'protocol_name': 'range', 'assignment': b'\x00\x01'},
        {'api': 'SyncGroup', 'topics': [], 'status': 'NONE'})

for version in (1, 3, 4):
    add('heartbeat v%d' % version, HeartbeatRequest, HeartbeatResponse, version,
        {'group_id': 'g1', 'generation_id': 1, 'member_id': 'm-1', 'group_instance_id': None},
        {'throttle_time_ms': 0, 'error_code': 27},
        {'api': 'Heartbeat', 'topics': [], 'status': 'REBALANCE_IN_PROGRESS', 'outcome': 'client_error'})

for version in (1, 3, 5):
    add('leavegroup v%d' % version, LeaveGroupRequest, LeaveGroupResponse, version,
        {'group_id': 'g1', 'member_id': 'm-1', 'members': [{'member_id': 'm-1', 'group_instance_id': None, 'reason': 'bye'}]},
        {'throttle_time_ms': 0, 'error_code': 0, 'members': [{'member_id': 'm-1', 'group_instance_id': None, 'error_code': 0}]},
        {'api': 'LeaveGroup', 'topics': [], 'status': 'NONE'})

for version in (3, 5, 7):
    add('createtopics v%d' % version, CreateTopicsRequest, CreateTopicsResponse, version,
        {'topics': [{'name': 'new-topic', 'num_partitions': 3, 'replication_factor': 1, 'assignments': [],
                     'configs': [{'name': 'retention.ms', 'value': '1000'}]}], 'timeout_ms': 30000, 'validate_only': False},
        {'throttle_time_ms': 0, 'topics': [{'name': 'new-topic', 'topic_id': '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
                                            'error_code': 36, 'error_message': 'exists', 'num_partitions': -1,
                                            'replication_factor': -1, 'configs': None}]},
        {'api': 'CreateTopics', 'topics': ['new-topic'], 'status': 'TOPIC_ALREADY_EXISTS', 'outcome': 'client_error'})

for version in (1, 4, 5):
    add('deletetopics v%d' % version, DeleteTopicsRequest, DeleteTopicsResponse, version,
        {'topic_names': ['old-topic'], 'timeout_ms': 30000},
        {'throttle_time_ms': 0, 'responses': [{'name': 'old-topic', 'error_code': 0, 'error_message': None}]},
        {'api': 'DeleteTopics', 'topics': ['old-topic'], 'status': 'NONE'})

for version in (1, 2, 4):
    add('initproducerid v%d' % version, InitProducerIdRequest, InitProducerIdResponse, version,
        {'transactional_id': None, 'transaction_timeout_ms': 60000, 'producer_id': -1, 'producer_epoch': -1},
        {'throttle_time_ms': 0, 'error_code': 0, 'producer_id': 4000, 'producer_epoch': 0},
        {'api': 'InitProducerId', 'topics': [], 'status': 'NONE'})

add('saslhandshake v1', SaslHandshakeRequest, SaslHandshakeResponse, 1,
    {'mechanism': 'PLAIN'}, {'error_code': 0, 'mechanisms': ['PLAIN', 'SCRAM-SHA-256']},
    {'api': 'SaslHandshake', 'topics': [], 'status': 'NONE'})

for version in (0, 2):
    add('saslauthenticate v%d' % version, SaslAuthenticateRequest, SaslAuthenticateResponse, version,
        {'auth_bytes': b'\x00alice\x00s3cret-password'},
        {'error_code': 58, 'error_message': 'Authentication failed', 'auth_bytes': b'', 'session_lifetime_ms': 0},
        {'api': 'SaslAuthenticate', 'topics': [], 'status': 'SASL_AUTHENTICATION_FAILED', 'outcome': 'client_error',
         'secret': 's3cret-password'})

print(json.dumps(vectors, indent=1))
