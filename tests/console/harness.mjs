// The console tests' harness: a real doorstep-hq on a free loopback port with
// a temp SQLite database and the demo set, headless Chromium through
// playwright-core, and small HTTP helpers that act as a dispatcher or device.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is a devDependency of ui/ (installed by npm there).
const { chromium } = createRequire(path.join(ROOT, 'ui/package.json'))('playwright-core');
export const HQ_BIN = process.env.DOORSTEP_HQ_BIN ?? path.join(ROOT, 'target/debug/doorstep-hq');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PROTOCOL = { 'X-Doorstep-Protocol': '1' };

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it stops throwing (or returns truthy), then returns its value. */
export async function eventually(check, { timeout = 10_000, interval = 100 } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
      last = new Error('the condition stayed false');
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw last;
    await new Promise((r) => setTimeout(r, interval));
  }
}

export async function startHq() {
  if (!fs.existsSync(HQ_BIN)) throw new Error(`${HQ_BIN} is missing: run cargo build -p doorstep-hq`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorstep-console-'));
  const database = `sqlite:${path.join(dir, 'hq.sqlite3')}`;
  const demo = execFileSync(HQ_BIN, ['admin', 'load-demo', '--database', database], { encoding: 'utf8' });
  const technicians = [...demo.matchAll(/^technician: (\S+) (.+)$/gm)].map((m) => ({ id: m[1], name: m[2].trim() }));
  if (technicians.length < 2) throw new Error(`load-demo printed no technicians:\n${demo}`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(HQ_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--database', database], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = null;
  child.on('exit', (code) => (exited = code));
  await eventually(async () => {
    if (exited !== null) throw new Error(`doorstep-hq exited (${exited}):\n${stderr}`);
    const r = await fetch(`${base}/health`);
    return r.ok;
  }, { timeout: 20_000 });
  const hq = {
    base,
    dir,
    database,
    technicians,
    stderr: () => stderr,
    async stop() {
      if (exited === null) {
        child.kill('SIGINT');
        await eventually(() => exited !== null, { timeout: 5000 }).catch(() => child.kill('SIGKILL'));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  hq.api = await dispatcherApi(base);
  return hq;
}

async function json(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** An admin command on HQ's database; `input` is its standard input. */
export function admin(hq, args, input = '') {
  return execFileSync(HQ_BIN, ['admin', ...args, '--database', hq.database], { encoding: 'utf8', input });
}

/** A log-in attempt, as the console makes it: the response. */
export function login(hq, username, password) {
  return fetch(`${hq.base}/api/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

/** The dispatcher API with the demo login (the session cookie, which is where HQ puts the token). */
export async function dispatcherApi(base) {
  const login = await fetch(`${base}/api/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'dispatcher', password: 'doorstep-demo' }),
  });
  if (!login.ok) throw new Error(`demo login failed: ${login.status}`);
  const session = login.headers.getSetCookie().find((c) => c.startsWith('doorstep_session='));
  if (!session) throw new Error('the login set no session cookie');
  const cookie = session.split(';')[0];
  const call = async (method, url, body, contentType = 'application/json') => {
    const r = await fetch(base + url, {
      method,
      headers: { Cookie: cookie, ...(body === undefined ? {} : { 'Content-Type': contentType }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const data = await json(r);
    if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(data)}`);
    return data;
  };
  return {
    get: (url) => call('GET', url),
    post: (url, body) => call('POST', url, body),
    postCsv: (url, csv) => call('POST', url, csv, 'text/csv'),
  };
}

/** A device enrolled with a fresh code for `technicianId`, speaking the sync protocol. */
export async function enrollDevice(hq, technicianId, deviceName) {
  const { code } = await hq.api.post('/api/v1/enrollment-codes', { technician_id: technicianId });
  const r = await fetch(`${hq.base}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...PROTOCOL },
    body: JSON.stringify({ code, device_name: deviceName }),
  });
  const enrolled = await json(r);
  if (r.status !== 201) throw new Error(`enroll: ${r.status} ${JSON.stringify(enrolled)}`);
  let seq = 0;
  const auth = { Authorization: `Bearer ${enrolled.token}`, ...PROTOCOL };
  return {
    ...enrolled,
    /** Pushes changes [{job, change, deviceTime}] as the next outbox entries,
     *  sent at `sentAt` on the device's clock when given. */
    async push(items, { sentAt } = {}) {
      const entries = items.map(({ job, change, deviceTime }) => ({
        seq: ++seq,
        op_id: uuidv7(),
        job_id: job,
        kind: kindOf(change),
        payload: change,
        device_time: deviceTime,
      }));
      const r = await fetch(`${hq.base}/api/v1/sync/push`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...auth },
        body: JSON.stringify({ device_id: enrolled.device_id, entries, sent_at: sentAt }),
      });
      const body = await json(r);
      if (!r.ok) throw new Error(`push: ${r.status} ${JSON.stringify(body)}`);
      return body;
    },
    async putBlob(bytes) {
      const hash = sha256(bytes);
      const r = await fetch(`${hq.base}/api/v1/blobs/${hash}`, { method: 'PUT', headers: auth, body: bytes });
      if (!r.ok) throw new Error(`put blob: ${r.status} ${await r.text()}`);
      return hash;
    },
    pull: () => fetch(`${hq.base}/api/v1/sync/jobs`, { headers: auth }),
  };
}

function kindOf(change) {
  return typeof change === 'string' ? change : change.type;
}

export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

export function uuidv7() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real RGB PNG of `width`x`height`, painted by `pixel(x, y) -> [r, g, b]`. */
export function png(width, height, pixel) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * (width * 3 + 1) + 1 + x * 3;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Headless Chromium with a fresh profile, a 1280x800 window, in China's
 * time zone unless told another (to show the console keeps HQ's). */
export async function startBrowser({ timezoneId = 'Asia/Shanghai' } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'doorstep-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 800 },
    timezoneId,
    locale: 'zh-CN',
  });
  context.setDefaultTimeout(10_000);
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Today's date in China Standard Time (the demo set's and the browser's zone). */
export function chinaDate(offsetDays = 0) {
  const d = new Date(Date.now() + 8 * 3600_000 + offsetDays * 86_400_000);
  return d.toISOString().slice(0, 10);
}
