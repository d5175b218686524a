// Writes a pcap of many small HTTP/1.1 keep-alive exchanges (Ethernet/IPv4/TCP, handshakes and FINs,
// correct sequence numbers and IP checksums), for measuring the dashboard with 100k+ entries without
// root or a network. Usage: node gen-capture.mjs OUT.pcap [entries=150000] [per_connection=500]
import { openSync, writeSync, closeSync } from "node:fs";

const [, , outPath, totalArg, perConnArg] = process.argv;
if (!outPath) {
  console.error("usage: node gen-capture.mjs OUT.pcap [entries] [per_connection]");
  process.exit(2);
}
const TOTAL = Number(totalArg ?? 150_000);
const PER_CONN = Number(perConnArg ?? 500);

const fd = openSync(outPath, "w");
const chunks = [];
let pending = 0;
function out(buf) {
  chunks.push(buf);
  pending += buf.length;
  if (pending > 1 << 20) flush();
}
function flush() {
  writeSync(fd, Buffer.concat(chunks));
  chunks.length = 0;
  pending = 0;
}

const gh = Buffer.alloc(24);
gh.writeUInt32LE(0xa1b2c3d4, 0);
gh.writeUInt16LE(2, 4);
gh.writeUInt16LE(4, 6);
gh.writeUInt32LE(262144, 16);
gh.writeUInt32LE(1, 20); // Ethernet
out(gh);

let tUs = Date.UTC(2026, 10, 21, 6, 0, 0) * 1000;

function ipChecksum(b, off) {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function packet(src, dst, sport, dport, seq, ack, flags, payload) {
  const len = 14 + 20 + 20 + payload.length;
  const b = Buffer.alloc(16 + len);
  tUs += 7;
  b.writeUInt32LE(Math.floor(tUs / 1e6), 0);
  b.writeUInt32LE(tUs % 1e6, 4);
  b.writeUInt32LE(len, 8);
  b.writeUInt32LE(len, 12);
  const e = 16;
  Buffer.from([2, 0, 0, 0, 0, dst[3], 2, 0, 0, 0, 0, src[3], 8, 0]).copy(b, e);
  const ip = e + 14;
  b[ip] = 0x45;
  b.writeUInt16BE(20 + 20 + payload.length, ip + 2);
  b[ip + 8] = 64;
  b[ip + 9] = 6;
  Buffer.from(src).copy(b, ip + 12);
  Buffer.from(dst).copy(b, ip + 16);
  b.writeUInt16BE(ipChecksum(b, ip), ip + 10);
  const tcp = ip + 20;
  b.writeUInt16BE(sport, tcp);
  b.writeUInt16BE(dport, tcp + 2);
  b.writeUInt32BE(seq >>> 0, tcp + 4);
  b.writeUInt32BE(ack >>> 0, tcp + 8);
  b[tcp + 12] = 0x50;
  b[tcp + 13] = flags;
  b.writeUInt16BE(65535, tcp + 14);
  payload.copy(b, tcp + 20);
  out(b);
}

const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;
const server = [10, 88, 0, 1];
let made = 0;
for (let conn = 0; made < TOTAL; conn++) {
  const client = [10, 88, 1 + ((conn >> 8) & 0x7f), 2 + (conn % 200)];
  const sport = 20000 + (conn % 40000);
  let cs = 1000 + conn * 7;
  let ss = 5000 + conn * 13;
  packet(client, server, sport, 80, cs, 0, SYN, Buffer.alloc(0));
  packet(server, client, 80, sport, ss, cs + 1, SYN | ACK, Buffer.alloc(0));
  cs += 1;
  ss += 1;
  packet(client, server, sport, 80, cs, ss, ACK, Buffer.alloc(0));
  for (let i = 0; i < PER_CONN && made < TOTAL; i++, made++) {
    const req = Buffer.from(`GET /api/items/${made}?page=${i % 7} HTTP/1.1\r\nHost: bench.local\r\nAccept: application/json\r\n\r\n`);
    const status = made % 97 === 0 ? "500 Internal Server Error" : made % 23 === 0 ? "404 Not Found" : "200 OK";
    const body = `{"id":${made},"ok":${status.startsWith("200")}}`;
    const res = Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    packet(client, server, sport, 80, cs, ss, PSH | ACK, req);
    cs += req.length;
    packet(server, client, 80, sport, ss, cs, PSH | ACK, res);
    ss += res.length;
  }
  packet(client, server, sport, 80, cs, ss, FIN | ACK, Buffer.alloc(0));
  packet(server, client, 80, sport, ss, cs + 1, FIN | ACK, Buffer.alloc(0));
  packet(client, server, sport, 80, cs + 1, ss + 1, ACK, Buffer.alloc(0));
}
flush();
closeSync(fd);
console.error(`gen-capture: ${made} exchanges in ${outPath}`);
