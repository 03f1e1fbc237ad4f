#!/usr/bin/env node
// Checks trapeze's real API answers against docs/api/trapeze-api.yaml (issue 22): run by
// openapi_check.sh, which installs the npm packages first.
//
//   node openapi_check.js TRAPEZE API_YAML NPM_DIR
//
// Starts `TRAPEZE --api-sock` processes and sends them requests that succeed (GETs, pre-boot
// PUTs with their 204s) and requests that are refused (malformed JSON, unknown fields, wrong
// types, unknown paths and methods, bad HTTP, a body over the limit, pre-boot requests after
// the start), then checks every answer against the description:
//   * the path and method are described, and the status is listed for them explicitly (the
//     `default` answer is Firecracker's catch-all for internal errors, which trapeze has none
//     of); a path or method not described must answer 400 with #/responses/BadRequest;
//   * a status with a schema has a JSON body (Content-Type application/json) that the schema
//     accepts: types, required fields, enumerations, and no field the schema does not list
//     (every definition says additionalProperties: false); a status without one has no body;
//   * the status is the one the request expects, and each body sent with a request expected to
//     succeed is itself accepted by the operation's body schema (keeps the description honest).
// With the guest cache present (Image, as tests/api/api_test.py finds it: TRAPEZE_GUEST_DIR or
// ~/.cache/trapeze/debian-riscv64), a second process boots the kernel (no root file system: the
// guest stops in a panic and stays, which is all the post-boot requests need) and the post-boot
// answers are checked too: state Running and Paused, PATCH of drives and interfaces,
// FlushMetrics, pre-boot requests refused.
//
// Validation: @apidevtools/swagger-parser validates the description and resolves its $refs;
// each schema is then compiled with Ajv (strict mode; Swagger's int32/int64 formats added).
'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { createRequire } = require('module');

const [trapeze, docPath, npmDir] = process.argv.slice(2);
if (!trapeze || !docPath || !npmDir) {
  console.error('usage: openapi_check.js TRAPEZE API_YAML NPM_DIR');
  process.exit(2);
}
const npmRequire = createRequire(path.join(path.resolve(npmDir), 'package.json'));
const SwaggerParser = npmRequire('@apidevtools/swagger-parser');
const Ajv = npmRequire('ajv');

const GUEST_DIR = process.env.TRAPEZE_GUEST_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'trapeze/debian-riscv64');

// --- HTTP over the unix socket -------------------------------------------------------------

// Sends raw bytes on a fresh connection and reads one answer (the server closes after it when
// the request says Connection: close or was malformed).
function exchange(sock, bytes) {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(sock);
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn.destroy();
      if (err) return reject(err);
      const answer = parseAnswer(data);
      if (!answer) return reject(new Error(`incomplete answer: ${JSON.stringify(data.toString('latin1'))}`));
      resolve(answer);
    };
    const timer = setTimeout(() => finish(new Error('no answer within 60 s')), 60000);
    conn.on('connect', () => conn.write(bytes));
    conn.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (parseAnswer(data)) finish();
    });
    conn.on('end', () => finish());
    conn.on('error', (e) => finish(data.length ? null : e));
  });
}

// One HTTP/1.1 answer from the start of `data`, or null while incomplete.
function parseAnswer(data) {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(head[0]);
  if (!m) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(head[0])}`);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] || 0);
  if (data.length < end + 4 + length) return null;
  return { status: Number(m[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString('utf8') };
}

function request(method, target, body, extraHeaders = []) {
  const data = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: localhost', 'Accept: application/json', 'Connection: close'];
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${data.length}`);
  return Buffer.concat([Buffer.from(lines.concat(extraHeaders).join('\r\n') + '\r\n\r\n'), data]);
}

// A copy of a schema without its vendor extensions (x-...), which Ajv's strict mode refuses.
function withoutExtensions(v) {
  if (Array.isArray(v)) return v.map(withoutExtensions);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-')).map(([k, x]) => [k, withoutExtensions(x)]));
}

// --- the description -----------------------------------------------------------------------

class Description {
  static async load(file) {
    const api = await SwaggerParser.validate(file);  // validates, then resolves every $ref
    return new Description(api);
  }

  constructor(api) {
    this.api = api;
    this.ajv = new Ajv({ strict: true, allErrors: true });
    const int = (bits) => ({
      type: 'number',
      validate: (n) => Number.isInteger(n) && Math.abs(n) <= (bits === 32 ? 2 ** 31 : Number.MAX_SAFE_INTEGER),
    });
    this.ajv.addFormat('int32', int(32));
    this.ajv.addFormat('int64', int(64));
    // Swagger 2.0's own keywords of a Schema Object, annotations for this purpose.
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    this.compiled = new Map();
    this.templates = Object.keys(api.paths).map((p) => ({
      template: p,
      re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '$'),
    }));
  }

  validator(schema) {
    if (!this.compiled.has(schema)) {
      // Swagger's formats are open-ended: those beyond int32/int64 are annotations here.
      const formats = new Set();
      JSON.stringify(schema, (k, v) => { if (k === 'format' && typeof v === 'string') formats.add(v); return v; });
      for (const f of formats) if (!this.ajv.formats[f]) this.ajv.addFormat(f, true);
      this.compiled.set(schema, this.ajv.compile(withoutExtensions(schema)));
    }
    return this.compiled.get(schema);
  }

  // The operation of a concrete path (no query string), or null.
  operation(method, target) {
    const p = target.split('?')[0];
    const t = this.templates.find((x) => x.re.test(p));
    if (!t) return null;
    const op = this.api.paths[t.template][method.toLowerCase()];
    return op ? { template: t.template, op } : null;
  }

  // What a request's answer must be: {where, response} with the response object, or a problem.
  responseFor(method, target, status) {
    const found = this.operation(method, target);
    if (!found) {
      if (status !== 400) return { problem: `${method} ${target} is not described, so it must answer 400, not ${status}` };
      return this.badRequest();
    }
    const r = found.op.responses[String(status)];
    if (!r) {
      const listed = Object.keys(found.op.responses).filter((k) => k !== 'default').join(', ');
      return { problem: `${method} ${found.template} answered ${status}, which it does not document (documented: ${listed})` };
    }
    return { where: `${method.toLowerCase()} ${found.template} ${status}`, response: r };
  }

  // The answer to a request without an operation: the global BadRequest response (a
  // description without one, such as Firecracker's, gets its Error definition).
  badRequest() {
    const r = this.api.responses && this.api.responses.BadRequest;
    if (r) return { where: '#/responses/BadRequest', response: r };
    return { where: '#/definitions/Error', response: { schema: this.api.definitions.Error } };
  }

  bodySchema(method, target) {
    const found = this.operation(method, target);
    const p = found && (found.op.parameters || []).find((x) => x.in === 'body');
    return p ? p.schema : null;
  }
}

// --- the checks ----------------------------------------------------------------------------

const failures = [];
let checked = 0;

function fail(what) {
  failures.push(what);
  console.log(`  MISMATCH ${what}`);
}

function errorsText(validate) {
  return validate.errors.map((e) => {
    let text = `${e.instancePath || '(body)'} ${e.message}`;
    if (e.params && e.params.additionalProperty) text += ` '${e.params.additionalProperty}'`;
    if (e.params && e.params.allowedValues) text += ` ${JSON.stringify(e.params.allowedValues)}`;
    return text;
  }).join('; ');
}

// Sends one request and checks the answer against the description and the expected status.
async function check(desc, sock, c) {
  const method = c.method;
  const target = c.path;
  const bytes = c.raw !== undefined ? Buffer.from(c.raw, 'latin1') : request(method, target, c.body, c.headers);
  const label = `${method} ${target}${c.note ? ` (${c.note})` : ''}`;
  let answer;
  try {
    answer = await exchange(sock, bytes);
  } catch (e) {
    fail(`${label}: ${e.message}`);
    return null;
  }
  checked += 1;
  console.log(`${label} -> ${answer.status} ${answer.body.length > 160 ? answer.body.slice(0, 160) + '...' : answer.body}`);
  if (answer.status !== c.expect) fail(`${label}: expected ${c.expect}, got ${answer.status} ${answer.body}`);
  // The request's own body, when it is expected to succeed, must fit the description too
  // (skipBodyCheck: a body trapeze takes that the schema cannot say, as a PATCH of some fields
  // of a definition that requires two, or a level in lower case).
  if (c.expect === 204 && !c.skipBodyCheck && c.body !== undefined && typeof c.body === 'object') {
    const schema = desc.bodySchema(method, target);
    if (!schema) fail(`${label}: the description has no body for this operation`);
    else {
      const v = desc.validator(schema);
      if (!v(c.body)) fail(`${label}: the request body does not fit the description: ${errorsText(v)}`);
    }
  }
  // A request the HTTP layer refuses has no operation: it gets the global BadRequest answer.
  const r = c.badHttp ? desc.badRequest() : desc.responseFor(method, target, answer.status);
  if (r.problem) {
    fail(`${label}: ${r.problem}`);
    return answer;
  }
  if (!r.response.schema) {
    if (answer.body.length !== 0) fail(`${label}: ${r.where} has no body in the description, but got ${JSON.stringify(answer.body)}`);
    return answer;
  }
  if (!/^application\/json\b/.test(answer.headers['content-type'] || ''))
    fail(`${label}: ${r.where}: Content-Type is ${JSON.stringify(answer.headers['content-type'])}, not application/json`);
  let json;
  try {
    json = JSON.parse(answer.body);
  } catch (e) {
    fail(`${label}: ${r.where}: the body is not JSON: ${JSON.stringify(answer.body)}`);
    return answer;
  }
  const validate = desc.validator(r.response.schema);
  if (!validate(json)) fail(`${label}: ${r.where}: ${errorsText(validate)} in ${answer.body}`);
  answer.json = json;
  return answer;
}

// --- the VMM processes ---------------------------------------------------------------------

class Vmm {
  constructor(work, name) {
    this.name = name;
    this.sock = path.join(work, `${name}.sock`);
    this.stderrPath = path.join(work, `${name}.stderr`);
    this.proc = spawn(trapeze, ['--api-sock', this.sock, '--id', name], {
      stdio: ['pipe', fs.openSync(path.join(work, `${name}.console`), 'w'), fs.openSync(this.stderrPath, 'w')],
    });
    this.exited = null;
    this.proc.on('exit', (code, signal) => { this.exited = signal || code; });
  }

  async ready() {
    const deadline = Date.now() + 30000;
    while (!fs.existsSync(this.sock)) {
      if (this.exited !== null) throw new Error(`${this.name} exited (${this.exited}) before its socket: ${this.stderr()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no API socket after 30 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  stderr() {
    try { return fs.readFileSync(this.stderrPath, 'utf8'); } catch (e) { return ''; }
  }

  async stop() {
    if (this.exited !== null) return;
    const gone = new Promise((r) => this.proc.on('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(t);
  }
}

async function run(desc, vmm, cases) {
  for (const c of cases) {
    await check(desc, vmm.sock, c);
    if (vmm.exited !== null) {
      fail(`${vmm.name} exited (${vmm.exited}) after ${c.method} ${c.path}: ${vmm.stderr()}`);
      return;
    }
  }
}

const bucket = { size: 1048576, one_time_burst: 4194304, refill_time: 1000 };
const ops = { size: 100, refill_time: 100 };

// Everything before InstanceStart, on a process that is never started.
function preBootCases(work, kernel) {
  const disk = path.join(work, 'disk.img');
  const c = (method, p, expect, body, more = {}) => Object.assign({ method, path: p, expect, body }, more);
  return [
    c('GET', '/', 200),
    c('GET', '/version', 200),
    c('GET', '/machine-config', 200),
    c('GET', '/machine-config?pretty=1', 200),
    c('GET', '/vm/config', 200, undefined, { note: 'nothing configured' }),
    c('PUT', '/machine-config', 204, { vcpu_count: 2, mem_size_mib: 256 }),
    c('PUT', '/machine-config', 204, { vcpu_count: 1, mem_size_mib: 128, smt: false, track_dirty_pages: false,
                                       huge_pages: 'None', cpu_template: 'None' }),
    c('PATCH', '/machine-config', 204, { vcpu_count: 2 }, { skipBodyCheck: true }),
    c('GET', '/machine-config', 200, undefined, { note: 'after PUT and PATCH' }),
    c('PUT', '/machine-config', 400, '{not json', { note: 'malformed JSON' }),
    c('PUT', '/machine-config', 400, { vcpu_count: 2, mem_size_mib: 256, colour: 'red' }, { note: 'unknown field' }),
    c('PUT', '/machine-config', 400, { vcpu_count: 'two', mem_size_mib: 256 }, { note: 'wrong type' }),
    c('PUT', '/machine-config', 400, { vcpu_count: 2 }, { note: 'missing field' }),
    c('PUT', '/machine-config', 400, { vcpu_count: 33, mem_size_mib: 256 }, { note: 'out of range' }),
    c('PUT', '/machine-config', 400, { vcpu_count: 2, mem_size_mib: 256, huge_pages: '2M' }, { note: 'unsupported value' }),
    c('PUT', '/machine-config', 400, '', { note: 'no body' }),
    c('PUT', '/machine-config', 400, '[1, 2]', { note: 'not an object' }),
    c('PUT', '/actions', 400, { action_type: 'InstanceStart' }, { note: 'no boot source yet' }),
    c('PUT', '/actions', 400, { action_type: 'Reboot' }, { note: 'unknown action' }),
    c('PUT', '/actions', 400, { action_type: 'FlushMetrics' }, { note: 'metrics not configured' }),
    c('PUT', '/actions', 400, { action_type: 'SendCtrlAltDel' }, { note: 'before start' }),
    c('PUT', '/boot-source', 400, { kernel_image_path: '/nonexistent/vmlinux' }, { note: 'missing kernel file' }),
    c('PUT', '/boot-source', 400, { kernel_image_path: kernel, boot_args: 7 }, { note: 'wrong type' }),
    c('PUT', '/boot-source', 204, { kernel_image_path: kernel, boot_args: 'console=ttyS0 reboot=k panic=1 pci=off' }),
    c('PUT', '/boot-source', 204, { kernel_image_path: kernel, initrd_path: disk, boot_args: 'console=ttyS0' }),
    c('PUT', '/drives/rootfs', 204, { drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false }),
    c('PUT', '/drives/data', 204, { drive_id: 'data', path_on_host: disk, is_root_device: false, is_read_only: true,
                                    partuuid: '0eaa91a0-01', cache_type: 'Writeback', io_engine: 'Async',
                                    rate_limiter: { bandwidth: bucket, ops } }),
    c('PUT', '/drives/other', 400, { drive_id: 'data', path_on_host: disk, is_root_device: false }, { note: 'id mismatch' }),
    c('PUT', '/drives/data2', 400, { drive_id: 'data2', path_on_host: disk, is_root_device: true }, { note: 'second root' }),
    c('PUT', '/drives/sock', 400, { drive_id: 'sock', socket: '/tmp/vhost.sock', is_root_device: false }, { note: 'vhost-user' }),
    c('PUT', '/drives/data', 400, { drive_id: 'data', path_on_host: disk, is_root_device: false,
                                    rate_limiter: { bandwidth: { size: 1 } } }, { note: 'bucket without refill_time' }),
    c('PATCH', '/drives/rootfs', 400, { drive_id: 'rootfs', path_on_host: disk }, { note: 'before start' }),
    c('PUT', '/network-interfaces/eth0', 204, { iface_id: 'eth0', host_dev_name: 'tap-oapi0', guest_mac: '06:00:AC:10:00:02',
                                                rx_rate_limiter: { bandwidth: bucket },
                                                tx_rate_limiter: { ops, bandwidth: { size: 4096, refill_time: 10 } } }),
    c('PUT', '/network-interfaces/eth1', 204, { iface_id: 'eth1', host_dev_name: 'unused', backend: 'user',
                                                hostfwd: ['tcp::2222-:22', 'udp:127.0.0.1:5353-10.0.2.15:53'] }),
    c('PUT', '/network-interfaces/eth2', 400, { iface_id: 'eth2', host_dev_name: 'tap0', guest_mac: 'zz' }, { note: 'bad MAC' }),
    c('PUT', '/network-interfaces/eth2', 400, { iface_id: 'eth2', host_dev_name: 'tap0', mtu: 1500 }, { note: 'mtu' }),
    c('PATCH', '/network-interfaces/eth0', 400, { iface_id: 'eth0' }, { note: 'before start' }),
    c('PUT', '/entropy', 204, { rate_limiter: { bandwidth: { size: 1000, refill_time: 100 } } }),
    c('PUT', '/entropy', 400, { rate_limiter: 5 }, { note: 'wrong type' }),
    c('PUT', '/serial', 204, { serial_out_path: path.join(work, 'serial.out') }),
    c('PUT', '/serial', 400, { serial_out_path: 'x', rate_limiter: ops }, { note: 'serial rate limiter' }),
    c('PUT', '/logger', 204, { log_path: path.join(work, 'pre.log'), level: 'Debug', show_level: true, show_log_origin: true }),
    c('PUT', '/logger', 400, { level: 'Loud' }, { note: 'unknown level' }),
    c('PUT', '/metrics', 204, { metrics_path: path.join(work, 'pre.metrics') }),
    c('PUT', '/metrics', 400, { metrics_path: '' }, { note: 'empty path' }),
    c('PUT', '/actions', 204, { action_type: 'FlushMetrics' }),
    c('PATCH', '/vm', 400, { state: 'Paused' }, { note: 'before start' }),
    c('PATCH', '/vm', 400, { state: 'Running' }, { note: 'unknown state' }),
    c('GET', '/vm/config', 200, undefined, { note: 'everything configured' }),
    // Firecracker's lower-case level names are accepted (its description says the level is
    // case-insensitive); what GET /vm/config reports must still be one of the enumeration.
    c('PUT', '/logger', 204, { log_path: path.join(work, 'pre.log'), level: 'debug' }, { note: 'lower-case level', skipBodyCheck: true }),
    c('GET', '/vm/config', 200, undefined, { note: 'after a lower-case logger level' }),
    // Paths and methods the description does not list.
    c('GET', '/nowhere', 400),
    c('DELETE', '/machine-config', 400),
    c('POST', '/actions', 400, { action_type: 'InstanceStart' }),
    c('GET', '/boot-source', 400),
    c('PUT', '/drives/', 400, { drive_id: '' }),
    c('PUT', '/snapshot/create', 400, { snapshot_path: 'a', mem_file_path: 'b' }, { note: 'before start' }),
    c('PUT', '/snapshot/create', 400, { snapshot_path: 'a' }, { note: 'no mem_file_path' }),
    c('PUT', '/snapshot/load', 400, { snapshot_path: path.join(work, 'none.state'), mem_file_path: disk },
      { note: 'no such state file' }),
    c('PUT', '/snapshot/load', 400, { snapshot_path: disk, mem_backend: { backend_type: 'File', backend_path: disk } },
      { note: 'not a snapshot' }),
    c('PUT', '/snapshot/load', 400, { snapshot_path: disk }, { note: 'no memory file' }),
    c('PUT', '/balloon', 400, { amount_mib: 1, deflate_on_oom: true }),
    c('PUT', '/vsock', 400, { guest_cid: 3, uds_path: 'v.sock' }),
    c('PUT', '/mmds', 400, { a: 1 }),
    c('PUT', '/cpu-config', 400, {}),
    // HTTP the server cannot take: answered 400 (with the Error object) and closed.
    c('PUT', '/boot-source', 400, undefined, {
      note: 'body over the 51200-byte limit', badHttp: true,
      raw: request('PUT', '/boot-source', JSON.stringify({ kernel_image_path: kernel, boot_args: 'x'.repeat(52000) })).toString('latin1'),
    }),
    c('GET', '/', 400, undefined, { note: 'malformed Content-Length', badHttp: true,
                                    raw: 'GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n' }),
    c('GET', '/', 400, undefined, { note: 'not HTTP', badHttp: true, raw: 'HELLO\x01 WORLD\r\n\r\n' }),
  ];
}

// After InstanceStart, on a process that boots the guest kernel.
function postBootCases(work, kernel) {
  const disk = path.join(work, 'disk.img');
  const c = (method, p, expect, body, more = {}) => Object.assign({ method, path: p, expect, body }, more);
  return [
    c('PUT', '/machine-config', 204, { vcpu_count: 1, mem_size_mib: 128 }),
    // No initrd and no root file system: the kernel stops in a panic (no reboot) and the VM
    // stays up, which is all these requests need.
    c('PUT', '/boot-source', 204, { kernel_image_path: kernel, boot_args: 'console=ttyS0 pci=off' }),
    c('PUT', '/drives/rootfs', 204, { drive_id: 'rootfs', path_on_host: disk, is_root_device: true, is_read_only: false }),
    c('PUT', '/network-interfaces/eth0', 204, { iface_id: 'eth0', host_dev_name: 'unused', backend: 'user' }),
    c('PUT', '/metrics', 204, { metrics_path: path.join(work, 'post.metrics') }),
    c('PUT', '/actions', 204, { action_type: 'InstanceStart' }),
    c('GET', '/', 200, undefined, { note: 'running' }),
    c('PATCH', '/vm', 204, { state: 'Paused' }),
    c('GET', '/', 200, undefined, { note: 'paused' }),
    c('PATCH', '/vm', 204, { state: 'Resumed' }),
    c('PATCH', '/drives/rootfs', 204, { drive_id: 'rootfs', rate_limiter: { ops: { size: 1000, refill_time: 1000 } } }),
    c('PATCH', '/drives/rootfs', 400, { drive_id: 'rootfs', is_read_only: true }, { note: 'field not patchable' }),
    c('PATCH', '/drives/nosuch', 400, { drive_id: 'nosuch' }, { note: 'unknown drive' }),
    c('PATCH', '/network-interfaces/eth0', 204, { iface_id: 'eth0', rx_rate_limiter: { bandwidth: bucket } }),
    c('PUT', '/actions', 204, { action_type: 'FlushMetrics' }),
    c('PUT', '/actions', 400, { action_type: 'InstanceStart' }, { note: 'second start' }),
    c('PUT', '/machine-config', 400, { vcpu_count: 2, mem_size_mib: 256 }, { note: 'after start' }),
    c('PUT', '/drives/rootfs', 400, { drive_id: 'rootfs', path_on_host: disk, is_root_device: true }, { note: 'after start' }),
    c('GET', '/machine-config', 200),
    c('GET', '/vm/config', 200, undefined, { note: 'running' }),
    c('GET', '/', 200, undefined, { note: 'still running' }),
  ];
}

async function main() {
  const desc = await Description.load(docPath);
  console.log(`${docPath}: a valid Swagger ${desc.api.swagger} description, ${Object.keys(desc.api.paths).length} paths`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trapeze-openapi-'));
  const vmms = [];
  try {
    fs.writeFileSync(path.join(work, 'disk.img'), Buffer.alloc(1 << 20));
    const guestKernel = path.join(GUEST_DIR, 'Image');
    const haveGuest = fs.existsSync(guestKernel);
    // Without the guest cache, a RISC-V Image header is enough for PUT /boot-source.
    let kernel = guestKernel;
    if (!haveGuest) {
      kernel = path.join(work, 'Image');
      const image = Buffer.alloc(4096);
      image.write('RSC\x05', 0x38, 'latin1');
      fs.writeFileSync(kernel, image);
    }
    console.log('== before start');
    const pre = new Vmm(work, 'openapi-pre');
    vmms.push(pre);
    await pre.ready();
    await run(desc, pre, preBootCases(work, kernel));
    if (haveGuest) {
      console.log('== after start');
      const post = new Vmm(work, 'openapi-post');
      vmms.push(post);
      await post.ready();
      await run(desc, post, postBootCases(work, kernel));
    } else {
      console.log(`== after start: skipped (no guest kernel at ${guestKernel}; run tools/fetch-guest)`);
    }
  } finally {
    for (const v of vmms) await v.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`${checked} answers checked against ${path.basename(docPath)}`);
  if (failures.length) {
    console.log(`FAIL: ${failures.length} mismatches:`);
    for (const f of failures) console.log(`  ${f}`);
    process.exit(1);
  }
  console.log('PASS: every answer matches the description');
}

main().catch((e) => {
  console.error(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
