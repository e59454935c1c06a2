// The dispatcher console's main paths in headless Chromium against a real
// doorstep-hq (temp SQLite, demo set). Run with scripts/console-test.sh, or
// `npm --prefix ui run test:console` after building the console and HQ.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { admin, chinaDate, enrollDevice, eventually, login, png, startBrowser, startHq, uuidv7 } from './harness.mjs';

let hq;
let browser;
let page;
const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? path.join(os.tmpdir(), 'doorstep-console-shots');

before(async () => {
  hq = await startHq();
  browser = await startBrowser();
  page = await browser.context.newPage();
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await hq?.stop();
});

const tid = (id) => `[data-testid="${id}"]`;
const [LIN, CHEN] = [0, 1];
const today = () => chinaDate(0);
/** A time today in China Standard Time, as RFC 3339. */
const at = (hhmm, day = today()) => `${day}T${hhmm}:00+08:00`;

async function board(date = today()) {
  return hq.api.get(`/api/v1/board?date=${date}`);
}

async function signIn() {
  await page.goto(`${hq.base}/console/`);
  const form = page.locator(tid('login-form'));
  if (await form.isVisible().catch(() => false)) {
    await page.fill(tid('login-username'), 'dispatcher');
    await page.fill(tid('login-password'), 'doorstep-demo');
    await page.click(tid('login-submit'));
  }
  await page.locator(tid('board')).waitFor();
}

async function cardCount() {
  return page.locator(tid('job-card')).count();
}

async function createJob(fields) {
  const created = await hq.api.post('/api/v1/jobs', {
    phone: '13800000000',
    address: '福州市鼓楼区测试路 1 号',
    job_type: 'fault',
    sub_case: 'indoor',
    fault_description: '没有信号',
    window_start: at('09:00'),
    window_end: at('11:00'),
    technician_id: null,
    ...fields,
  });
  return created.job.id;
}

test('sign-in: a wrong password gets a clear error, the right one opens the board', async () => {
  await page.goto(`${hq.base}/console/`);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'the console starts in Chinese');
  await page.fill(tid('login-username'), 'dispatcher');
  await page.fill(tid('login-password'), 'not-the-password');
  await page.click(tid('login-submit'));
  const error = page.locator(tid('login-error'));
  await error.waitFor();
  assert.equal(await error.getAttribute('data-code'), 'bad_credentials', 'HQ refused the login');
  assert.equal((await error.textContent()).trim(), '用户名或密码错误。', 'the refusal is explained in Chinese');
  assert.equal(await page.locator(tid('board')).count(), 0, 'no board without a login');

  await page.fill(tid('login-password'), 'doorstep-demo');
  await page.click(tid('login-submit'));
  await page.locator(tid('board')).waitFor();
  assert.match(await page.textContent(tid('signed-in')), /dispatcher/, 'the header names the dispatcher');
  const columns = await page.locator(tid('board-column')).evaluateAll((els) => els.map((e) => e.querySelector('h3').textContent));
  assert.deepEqual(columns, ['林师傅', '陈师傅', '未派工'], 'a column per technician, then the unassigned');
});

test('board: by day, by technician and by status, matching HQ', async () => {
  // Make sure the day holds more than one status.
  const doomed = await createJob({ customer_name: '看板取消测试', technician_id: hq.technicians[CHEN].id });
  await hq.api.post(`/api/v1/jobs/${doomed}/cancel`);
  const day = await board();
  const all = day.columns.flatMap((c) => c.jobs);
  const cancelled = all.filter((j) => j.status === 'cancelled');
  assert.ok(cancelled.length >= 1 && cancelled.length < all.length, 'the day has cancelled and other jobs');

  await signIn();
  await page.click(tid('board-today'));
  await eventually(async () => assert.equal(await cardCount(), all.length, 'every job of the day is on the board'));
  assert.equal(await page.getAttribute(tid('board'), 'data-date'), today(), "the board shows China's today");

  await page.click(tid('status-filter-cancelled'));
  await eventually(async () => assert.equal(await cardCount(), cancelled.length, 'only cancelled jobs remain'));
  const statuses = await page.locator(tid('job-card')).evaluateAll((els) => els.map((e) => e.dataset.status));
  assert.ok(statuses.every((s) => s === 'cancelled'), `every card shown is cancelled: ${statuses}`);
  await page.click(tid('status-filter-all'));

  const chen = day.columns.find((c) => c.technician?.name === '陈师傅');
  await page.selectOption(tid('board-technician'), hq.technicians[CHEN].id);
  await eventually(async () => assert.equal(await cardCount(), chen.jobs.length, "only 陈师傅's jobs"));
  assert.equal(await page.locator(tid('board-column')).count(), 1, 'one column for one technician');
  await page.selectOption(tid('board-technician'), 'all');

  const next = await board(chinaDate(1));
  const nextCount = next.columns.reduce((n, c) => n + c.jobs.length, 0);
  await page.click(tid('board-next'));
  await eventually(async () => assert.equal(await page.getAttribute(tid('board'), 'data-date'), chinaDate(1)));
  await eventually(async () => assert.equal(await cardCount(), nextCount, "the next day's jobs"));
  await page.click(tid('board-today'));
  await eventually(async () => assert.equal(await cardCount(), all.length));
  await page.screenshot({ path: path.join(SHOTS, 'board.png') });
});

test('create a job with the form: required fields are checked, the job lands in its column', async () => {
  await signIn();
  await page.click(tid('nav-new'));
  await page.click(tid('job-submit'));
  const error = page.locator(tid('job-form-error'));
  await error.waitFor();
  assert.match(await error.textContent(), /客户姓名/, 'the missing customer name is named');

  await page.fill(tid('job-customer'), '表单新建客户');
  await page.fill(tid('job-phone'), '13912345678');
  await page.fill(tid('job-address'), '福州市台江区新建路 8 号');
  await page.selectOption(tid('job-type'), 'install');
  await page.selectOption(tid('job-subcase'), 'drilling_wiring');
  await page.fill(tid('job-start'), `${today()}T14:00`);
  await page.fill(tid('job-end'), `${today()}T16:00`);
  await page.selectOption(tid('job-technician'), hq.technicians[CHEN].id);
  await page.click(tid('job-submit'));
  await page.locator(tid('detail-customer')).waitFor();
  assert.equal(await page.textContent(tid('detail-customer')), '表单新建客户', 'the new job opens');
  assert.equal(await page.textContent(tid('detail-technician')), '陈师傅');

  const chen = (await board()).columns.find((c) => c.technician?.id === hq.technicians[CHEN].id);
  const job = chen.jobs.find((j) => j.customer.name === '表单新建客户');
  assert.ok(job, "HQ holds the job in 陈师傅's column");
  assert.equal(job.job_type, 'install');
  assert.equal(job.window_start, `${today()}T06:00:00Z`, '14:00 in China is 06:00 UTC');

  await page.click(tid('nav-board'));
  const card = page.locator(`${tid('board-column')}[data-technician="陈师傅"] ${tid('job-card')}[data-job-id="${job.id}"]`);
  await card.waitFor();
});

const HEADER = 'customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician';

test('CSV import: every bad row is reported and nothing is imported; a good file imports', async () => {
  await signIn();
  await page.click(tid('nav-import'));
  const bad = [
    HEADER,
    `导入好行,1380,福州,fault,indoor,,${at('09:00')},${at('10:00')},`,
    `导入坏类型,1381,厦门,repair,indoor,,${at('09:00')},${at('10:00')},`,
    `导入坏师傅,1382,泉州,install,outdoor,,${at('11:00')},${at('12:00')},Nobody`,
  ].join('\n');
  await page.fill(tid('import-text'), bad);
  await page.click(tid('import-submit'));
  const rows = page.locator(tid('import-row-error'));
  await rows.first().waitFor();
  assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.row)), ['2', '3'], 'rows 2 and 3 are named');
  const texts = await rows.allTextContents();
  assert.match(texts[0], /第 2 行.*工单类型.*repair/, `row 2 says job_type is wrong, in Chinese: ${texts[0]}`);
  assert.match(texts[1], /第 3 行.*Nobody/, `row 3 names the unknown technician: ${texts[1]}`);
  const names = (await board()).columns.flatMap((c) => c.jobs.map((j) => j.customer.name));
  assert.ok(!names.includes('导入好行'), 'nothing was half-imported');

  const good = [
    HEADER,
    `导入甲,13800000011,福州市仓山区 1 号,fault,indoor,电视无信号,${at('13:00')},${at('14:00')},林师傅`,
    `导入乙,13800000012,福州市晋安区 2 号,install,drilling_wiring,,${at('15:00')},${at('16:00')},`,
  ].join('\n');
  await page.setInputFiles(tid('import-file'), { name: 'jobs.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await eventually(async () => assert.match(await page.inputValue(tid('import-text')), /导入甲/, 'the file is read into the form'));
  await page.click(tid('import-submit'));
  await page.locator(tid('board')).waitFor();
  assert.match(await page.textContent(tid('flash')), /已导入 2 张工单/);
  const after = (await board()).columns;
  assert.ok(after[0].jobs.some((j) => j.customer.name === '导入甲'), "导入甲 is 林师傅's");
  assert.ok(after.at(-1).jobs.some((j) => j.customer.name === '导入乙'), '导入乙 is unassigned');
});

test('assign, reschedule and cancel a job from its page', async () => {
  const id = await createJob({ customer_name: '派工测试' });
  await signIn();
  await page.locator(`${tid('board-column')}[data-technician=""] ${tid('job-card')}[data-job-id="${id}"]`).click();
  await page.locator(tid('detail-customer')).waitFor();
  assert.equal(await page.textContent(tid('detail-technician')), '未派工');

  await page.selectOption(tid('assign-select'), hq.technicians[LIN].id);
  await page.click(tid('assign-submit'));
  await eventually(async () => assert.equal(await page.textContent(tid('detail-technician')), '林师傅'));
  const lin = (await board()).columns.find((c) => c.technician?.id === hq.technicians[LIN].id);
  assert.ok(lin.jobs.some((j) => j.id === id), 'HQ moved the job to 林师傅');

  await page.fill(tid('reschedule-start'), `${today()}T17:00`);
  await page.fill(tid('reschedule-end'), `${today()}T18:30`);
  await page.click(tid('reschedule-submit'));
  await eventually(async () => assert.match(await page.textContent(tid('detail-window')), /17:00.18:30/));
  const detail = await hq.api.get(`/api/v1/jobs/${id}`);
  assert.equal(detail.job.window_start, `${today()}T09:00:00Z`, 'HQ holds the new window (17:00 China)');
  assert.equal(detail.job.window_end, `${today()}T10:30:00Z`);

  await page.click(tid('cancel-job'));
  await page.click(tid('cancel-confirm'));
  await eventually(async () => assert.equal(await page.getAttribute(tid('detail-status'), 'data-status'), 'cancelled'));
  assert.equal((await hq.api.get(`/api/v1/jobs/${id}`)).job.status, 'cancelled', 'HQ cancelled it');
  await page.locator(tid('closed-note')).waitFor();
  assert.equal(await page.locator(tid('assign-submit')).count(), 0, 'a cancelled job cannot be assigned');
});

test('customers: a repeat fault is flagged, its customer page lists the jobs, sets the VIP grade, and a revisit is booked', async () => {
  const phone = '13712345678';
  const first = await createJob({
    customer_name: '回访测试', phone, account_number: 'FZ-CONSOLE-1',
    window_start: at('09:00', chinaDate(-10)), window_end: at('10:00', chinaDate(-10)),
  });
  const second = await createJob({ customer_name: '回访测试', phone, window_start: at('14:00'), window_end: at('15:00') });
  await signIn();
  const card = page.locator(`${tid('job-card')}[data-job-id="${second}"]`);
  await card.locator(tid('repeat-badge')).waitFor();
  await card.click();
  await page.locator(tid('detail-repeat-fault')).waitFor();

  await page.click(tid('detail-customer-link'));
  await page.locator(tid('customer-name')).waitFor();
  assert.equal(await page.textContent(tid('customer-account')), 'FZ-CONSOLE-1', 'matched by phone, the account number is theirs');
  assert.equal(await page.locator(tid('customer-job')).count(), 2, 'both jobs on the customer page');
  assert.equal(await page.locator(`${tid('customer-job')}[data-job-id="${second}"] ${tid('customer-job-repeat')}`).count(), 1);
  assert.equal(await page.locator(`${tid('customer-job')}[data-job-id="${first}"] ${tid('customer-job-repeat')}`).count(), 0);

  await page.selectOption(tid('vip-select'), 'gold');
  await page.click(tid('vip-save'));
  await eventually(async () => assert.equal(await page.getAttribute(tid('customer-vip'), 'data-grade'), 'gold'));
  const customerId = (await hq.api.get(`/api/v1/jobs/${second}`)).job.customer.id;
  assert.equal((await hq.api.get(`/api/v1/customers/${customerId}`)).customer.vip_grade, 'gold', 'HQ keeps the grade');

  await page.click(tid('nav-customers'));
  await page.fill(tid('customer-query'), 'FZ-CONSOLE');
  await page.click(tid('customer-search'));
  await page.locator(`${tid('customer-row')}[data-customer-id="${customerId}"]`).waitFor();
  await page.fill(tid('customer-query'), '没有这个人');
  await page.click(tid('customer-search'));
  await page.locator(tid('customers-empty')).waitFor();

  await page.goto(`${hq.base}/console/#/job/${second}`);
  await page.locator(tid('revisit')).waitFor();
  await page.fill(tid('revisit-start'), `${chinaDate(1)}T10:00`);
  await page.fill(tid('revisit-end'), `${chinaDate(1)}T11:00`);
  await page.click(tid('revisit-submit'));
  await eventually(async () => assert.notEqual(new URL(page.url()).hash, `#/job/${second}`));
  const revisit = new URL(page.url()).hash.replace('#/job/', '');
  const created = await hq.api.get(`/api/v1/jobs/${revisit}`);
  assert.equal(created.job.customer.id, customerId, 'the revisit is the same customer');
  assert.equal(created.job.job_type, 'fault');
  assert.ok(created.dispatcher_actions.some((a) => a.action === 'create_revisit'), 'audit-logged');
  await page.screenshot({ path: path.join(SHOTS, 'customer-revisit.png') });
});

test('technicians: add one, issue an enrollment code shown large, and it enrolls a device', async () => {
  await signIn();
  await page.click(tid('nav-technicians'));
  await page.fill(tid('technician-name'), '测试师傅');
  await page.click(tid('technician-create'));
  const row = page.locator(`${tid('technician-row')}[data-name="测试师傅"]`);
  await row.waitFor();
  await row.locator(tid('issue-code')).click();
  const code = page.locator(tid('enrollment-code'));
  await code.waitFor();
  const text = (await code.textContent()).trim();
  assert.match(text, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/, `a code a person can read out: ${text}`);
  const size = parseFloat(await code.evaluate((e) => getComputedStyle(e).fontSize));
  assert.ok(size >= 32, `the code is shown large (${size}px)`);
  const r = await fetch(`${hq.base}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Doorstep-Protocol': '1' },
    body: JSON.stringify({ code: text, device_name: '测试笔记本' }),
  });
  assert.equal(r.status, 201, 'the code shown enrolls a device');
  assert.equal((await r.json()).technician.name, '测试师傅', 'for the technician it was issued for');
});

test('enrollment codes: one not used yet is listed, and once revoked it enrolls nothing', async () => {
  await signIn();
  await page.click(tid('nav-technicians'));
  const lin = page.locator(`${tid('technician-row')}[data-name="林师傅"]`);
  await lin.locator(tid('issue-code')).click();
  const code = (await page.locator(tid('enrollment-code')).textContent()).trim();
  const codes = await hq.api.get('/api/v1/enrollment-codes');
  const issued = codes.at(-1);
  const row = page.locator(`${tid('code-row')}[data-code-id="${issued.id}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /林师傅/, 'the list says whom the code is for');
  assert.ok(!(await page.locator(tid('codes')).textContent()).includes(code), 'the list never shows a code itself');
  await row.locator(tid('revoke-code')).click();
  await row.waitFor({ state: 'detached' });
  assert.equal(await page.locator(tid('code-panel')).count(), 0, 'the revoked code is no longer shown');
  const r = await fetch(`${hq.base}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Doorstep-Protocol': '1' },
    body: JSON.stringify({ code, device_name: '捡到的笔记本' }),
  });
  assert.equal(r.status, 401, 'a revoked code enrolls no device');
  assert.equal((await r.json()).code, 'invalid_code');
});

test('audit log: filtered by dispatcher, action, job and time; a job page lists the actions on it', async () => {
  const job = await createJob({ customer_name: '审计测试', technician_id: hq.technicians[LIN].id });
  await hq.api.post(`/api/v1/jobs/${job}/reschedule`, { window_start: at('13:00'), window_end: at('14:00') });
  await hq.api.post(`/api/v1/jobs/${job}/cancel`);
  assert.equal((await login(hq, '冒名者', 'guess-guess')).status, 401);

  await signIn();
  await page.click(tid('nav-audit'));
  await page.locator(tid('audit-row')).first().waitFor();
  assert.equal(await page.textContent(tid('nav-audit')), '审计日志');
  const rows = () => page.locator(tid('audit-row')).evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
  const apply = async () => {
    await page.click(tid('audit-apply'));
    await page.waitForLoadState('networkidle');
  };

  await page.selectOption(tid('audit-action'), 'cancel');
  await apply();
  await eventually(async () => {
    const shown = await rows();
    assert.ok(shown.length >= 1 && shown.every((r) => r.action === 'cancel'), `only cancellations: ${JSON.stringify(shown)}`);
    assert.ok(shown.some((r) => r.job === job), 'ours among them');
  });
  assert.equal(await page.locator(tid('audit-row-action')).first().textContent(), '取消工单', 'actions named in Chinese');

  await page.selectOption(tid('audit-action'), '');
  await page.fill(tid('audit-job'), job);
  await apply();
  await eventually(async () =>
    assert.deepEqual((await rows()).map((r) => r.action), ['cancel', 'reschedule', 'create_job'], 'that job only, newest first'),
  );
  assert.ok((await rows()).every((r) => r.actor === 'dispatcher'), 'done by the demo dispatcher');
  const rescheduled = page.locator(`${tid('audit-row')}[data-action="reschedule"] ${tid('audit-row-detail')}`);
  assert.match(await rescheduled.textContent(), /13:00–14:00/, "the new window, in the dispatcher's time zone");

  await page.fill(tid('audit-actor'), '冒名者');
  await apply();
  await page.locator(tid('audit-empty')).waitFor();
  await page.fill(tid('audit-job'), '');
  await apply();
  await eventually(async () => assert.deepEqual((await rows()).map((r) => r.action), ['login_failed'], 'a failed sign-in, under the name typed'));
  assert.equal(await page.locator(tid('audit-row-detail')).textContent(), '用户名不存在', 'and why, in Chinese');

  await page.fill(tid('audit-actor'), 'dispatcher');
  await page.fill(tid('audit-from'), `${chinaDate(1)}T00:00`);
  await apply();
  await page.locator(tid('audit-empty')).waitFor();
  await page.fill(tid('audit-from'), `${chinaDate(-1)}T00:00`);
  await apply();
  await eventually(async () => assert.ok((await rows()).length > 0, 'today is after yesterday'));
  await page.screenshot({ path: path.join(SHOTS, 'audit.png') });

  await page.click(tid('audit-clear'));
  await page.goto(`${hq.base}/console/#/job/${job}`);
  const inTimeline = page.locator(`${tid('timeline')} ${tid('dispatcher-action')}`);
  await inTimeline.first().waitFor();
  const onJob = await inTimeline.evaluateAll((els) => els.map((e) => e.dataset.action));
  assert.deepEqual(onJob, ['create_job', 'reschedule', 'cancel'], "the job's timeline shows the dispatchers' actions, oldest first");
});

test('account: a dispatcher changes their own password, and disables another dispatcher', async () => {
  // Dispatchers of their own, made with the admin command, which reads the
  // password from standard input and never from its arguments.
  admin(hq, ['create-dispatcher', '--username', '王调度', '--password-stdin'], 'first-password\n');
  admin(hq, ['create-dispatcher', '--username', '赵调度', '--password-stdin'], 'zhao-password\n');
  const own = await startBrowser();
  try {
    const mine = await own.context.newPage();
    await mine.goto(`${hq.base}/console/`);
    await mine.fill(tid('login-username'), '王调度');
    await mine.fill(tid('login-password'), 'first-password');
    await mine.click(tid('login-submit'));
    await mine.locator(tid('board')).waitFor();
    await mine.click(tid('nav-account'));

    await mine.fill(tid('password-current'), 'not-my-password');
    await mine.fill(tid('password-new'), 'second-password');
    await mine.fill(tid('password-again'), 'second-password');
    await mine.click(tid('password-submit'));
    assert.equal((await mine.locator(tid('password-error')).textContent()).trim(), '当前密码不正确。');
    await mine.fill(tid('password-current'), 'first-password');
    await mine.fill(tid('password-again'), 'second-passwort');
    await mine.click(tid('password-submit'));
    assert.equal((await mine.locator(tid('password-error')).textContent()).trim(), '两次输入的新密码不一致');
    await mine.fill(tid('password-again'), 'second-password');
    await mine.click(tid('password-submit'));
    await eventually(async () => assert.equal((await mine.textContent(tid('flash'))).trim(), '密码已修改'));
    assert.equal((await login(hq, '王调度', 'first-password')).status, 401, 'the old password no longer works');
    assert.equal((await login(hq, '王调度', 'second-password')).status, 200, 'the new one does');

    const zhao = mine.locator(`${tid('dispatcher-row')}[data-name="赵调度"]`);
    await zhao.locator(tid('disable')).click();
    await zhao.locator(tid('disable-confirm')).click();
    await eventually(async () => assert.equal(await zhao.getAttribute('data-disabled'), 'true'));
    const refused = await login(hq, '赵调度', 'zhao-password');
    assert.equal(refused.status, 403, 'a disabled dispatcher cannot sign in');
    assert.equal((await refused.json()).code, 'account_disabled');
    const me = mine.locator(`${tid('dispatcher-row')}[data-name="王调度"]`);
    assert.equal(await me.locator(tid('disable')).count(), 0, 'no one is offered to disable themselves');

    await mine.click(tid('nav-board'));
    await mine.locator(tid('board')).waitFor();
    const changes = await hq.api.get(`/api/v1/audit?actor=${encodeURIComponent('王调度')}`);
    assert.deepEqual(
      changes.entries.map((e) => e.action).filter((a) => !a.startsWith('login')),
      ['disable_dispatcher', 'change_password'],
      'both account changes are in the audit log',
    );
  } finally {
    await own.close();
  }
});

test('devices: an enrolled device is listed and revoking it locks it out', async () => {
  const device = await enrollDevice(hq, hq.technicians[CHEN].id, '陈的笔记本');
  assert.equal((await device.pull()).status, 200, 'the device syncs before it is revoked');
  await signIn();
  await page.click(tid('nav-devices'));
  const row = page.locator(`${tid('device-row')}[data-device-id="${device.device_id}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-revoked'), 'false');
  await row.locator(tid('revoke')).click();
  await row.locator(tid('revoke-confirm')).click();
  await eventually(async () => assert.equal(await row.getAttribute('data-revoked'), 'true'));
  assert.match(await row.locator(tid('device-state')).textContent(), /已吊销/);
  const pull = await device.pull();
  assert.equal(pull.status, 401, 'a revoked device is refused');
  assert.equal((await pull.json()).code, 'device_revoked');
});

/** Pushes a whole visit for `job`, signed over HQ's own form hash, then completed. */
async function completeVisit(device, job, { editAfterSigning = false } = {}) {
  const start = new Date(at('09:00')); // the window createJob gives
  // The device's clock runs 3 hours behind: the console must show both clocks.
  const dt = (minutes) => new Date(start.getTime() - 3 * 3600_000 + minutes * 60_000).toISOString();
  const signature = png(240, 90, (x, y) => (Math.abs(y - 45 - Math.round(25 * Math.sin(x / 18))) < 3 ? [20, 30, 160] : [255, 255, 255]));
  const photo = png(160, 120, (x, y) => [x, y * 2, 150]);
  const photoAfter = png(160, 120, (x, y) => [40, x, y * 2]);
  const strokes = Buffer.from(JSON.stringify([[{ x: 1, y: 2 }]]));
  const [sigHash, photoHash, afterHash, strokesHash] = [
    await device.putBlob(signature),
    await device.putBlob(photo),
    await device.putBlob(photoAfter),
    await device.putBlob(strokes),
  ];
  const work = { indoor: true, line_test: true, outdoor_line: false, replacement: true, drilling_wiring: false,
    fault_point: '分配器', description: '更换分配器,信号恢复', non_company_equipment: false };
  const changes = [
    { type: 'log_call', data: { id: uuidv7(), at: dt(0), outcome: 'booked', note: '约好上午十点' } },
    { type: 'save_arrival', data: { arrived_at: new Date(start.getTime() - 7 * 60_000).toISOString(), knock_started_at: null,
      door_answered: true, badge_shown: true, fault_point_verified: true, service_form_left: true } },
    { type: 'save_kit', data: { mat_cloth: true, cover_cloth: true, wiping_cloth: true, shoe_covers: true, missing_reason: '' } },
    { type: 'save_work', data: work },
    { type: 'add_replacement', data: { id: uuidv7(), item: 'set_top_box', old_serial: 'OLD-123', new_serial: 'NEW-456', told_in_advance: true, consent: true } },
    { type: 'set_fees', data: [{ code: 'splitter', quantity: 1 }, { code: 'indoor_cable_m', quantity: 5 }] },
    { type: 'save_communicate', data: { customer_type: 'owl', needs: '想宽带提速', notes: '' } },
    { type: 'save_feedback', data: { mot: 2, opinion: '师傅很专业' } },
    { type: 'save_cleanup', data: { site_checked: true, tools_packed: true, restored: true, rubbish_taken: true, splitter_checked: true } },
    { type: 'add_lead', data: { id: uuidv7(), product: 'speed', interest: 'interested', note: '', follow_up_at: null, contacts: [] } },
    { type: 'add_photo', data: { id: uuidv7(), kind: 'before', blob_hash: photoHash, width: 160, height: 120, added_at: dt(20) } },
    { type: 'add_photo', data: { id: uuidv7(), kind: 'after', blob_hash: afterHash, width: 160, height: 120, added_at: dt(40) } },
  ];
  const first = await device.push(changes.map((change, i) => ({ job, change, deviceTime: dt(i * 5) })));
  const formHash = first.receipts.find((r) => r.job_id === job).content_hash;
  const rest = [
    { type: 'sign', data: { signed_content_hash: formHash, png_hash: sigHash, strokes_hash: strokesHash, width: 240, height: 90, signed_at: dt(60) } },
  ];
  if (editAfterSigning) rest.push({ type: 'save_work', data: { ...work, description: '签名后又改了说明' } });
  else rest.push({ type: 'complete' });
  const second = await device.push(rest.map((change, i) => ({ job, change, deviceTime: dt(61 + i) })));
  return { pushed: changes.length + rest.length, deviceTimes: [...changes, ...rest].map((_, i) => (i < changes.length ? dt(i * 5) : dt(61 + i - changes.length))), second, sigHash };
}

test('a completed job shows its kit, forms, photos, valid signature, timeline with both clocks, and receipt', async () => {
  const device = await enrollDevice(hq, hq.technicians[LIN].id, '林的笔记本');
  const job = await createJob({ customer_name: '完工查看客户', technician_id: hq.technicians[LIN].id });
  const { pushed, deviceTimes } = await completeVisit(device, job);
  const detail = await hq.api.get(`/api/v1/jobs/${job}`);
  assert.equal(detail.job.status, 'completed', 'HQ took the completion');
  assert.equal(detail.signature_valid, true, 'the signature covers the form HQ rebuilt');

  await signIn();
  await page.goto(`${hq.base}/console/#/job/${job}`);
  await page.locator(tid('rec-kit')).waitFor();
  assert.equal(await page.getAttribute(tid('detail-status'), 'data-status'), 'completed');
  for (const item of ['mat_cloth', 'cover_cloth', 'wiping_cloth', 'shoe_covers']) {
    assert.equal(await page.getAttribute(tid(`kit-${item}`), 'data-ok'), 'true', `kit item ${item} is ticked`);
  }
  assert.equal(await page.textContent(tid('work-description')), '更换分配器,信号恢复', 'the work as recorded');
  assert.match(await page.textContent(tid('rec-replacements')), /OLD-123[\s\S]*NEW-456/, 'the replacement log');
  const total = (detail.service_form.total_fen / 100).toFixed(2);
  assert.ok(detail.service_form.total_fen > 0);
  assert.match(await page.textContent(tid('fees-total')), new RegExp(`¥${total}`), 'fees are totalled from the price list');
  assert.match(await page.textContent(tid('mot')), /\+2\s*超出期望/, 'the MOT score and its meaning');
  assert.match(await page.textContent(tid('rec-cleanup')), /已带走垃圾/);
  assert.match(await page.textContent(tid('rec-leads')), /宽带提速/, 'the lead, by product name');

  const photos = page.locator(tid('photo'));
  assert.equal(await photos.count(), 2, 'both photos');
  await eventually(async () => {
    const widths = await photos.evaluateAll((imgs) => imgs.map((i) => i.complete && i.naturalWidth));
    assert.deepEqual(widths, [160, 160], 'the photos load from HQ as images');
  });
  const validity = page.locator(tid('signature-validity'));
  assert.equal(await validity.getAttribute('data-valid'), 'true');
  assert.match(await validity.textContent(), /签名有效/, 'a clear valid mark');
  await eventually(async () => {
    const w = await page.locator(tid('signature-image')).evaluate((i) => i.complete && i.naturalWidth);
    assert.equal(w, 240, 'the signature image loads from HQ');
  });

  const rows = page.locator(tid('timeline-row'));
  assert.equal(await rows.count(), pushed, 'one timeline row per change HQ holds');
  const shownDevice = await page.locator(tid('timeline-device-time')).evaluateAll((els) => els.map((e) => e.dataset.iso));
  assert.deepEqual(shownDevice.map((t) => Date.parse(t)), deviceTimes.map((t) => Date.parse(t)), 'device times as the device sent them');
  const server = await page.locator(tid('timeline-server-time')).evaluateAll((els) => els.map((e) => Date.parse(e.dataset.iso)));
  assert.ok(server.every((s, i) => Math.abs(s - Date.parse(deviceTimes[i])) > 60_000), 'server times are HQ\'s, not the device\'s');
  assert.ok(server.every((s) => Math.abs(s - Date.now()) < 10 * 60_000), 'server times are when HQ received them');
  // The first change the device sent (the job's creation by a dispatcher
  // comes before it in the same timeline).
  const first = rows.first();
  assert.notEqual(await first.locator(tid('timeline-device-time')).textContent(),
    await first.locator(tid('timeline-server-time')).textContent(), 'the two clocks differ on screen');
  assert.equal(await first.locator(tid('timeline-device')).textContent(), '林的笔记本', 'the device by name');
  assert.equal(await page.textContent(`${tid('timeline-row')}[data-kind="sign"] ${tid('timeline-kind')}`), '客户签名');
  assert.equal(await page.textContent(tid('receipt-hash')), detail.receipt.content_hash, "HQ's receipt hash");
  assert.ok((await page.textContent(tid('receipt-time'))).length > 8, 'the receipt time');
  // Only <main> scrolls: a tall window shows the whole page at once.
  await page.setViewportSize({ width: 1280, height: 2600 });
  await page.screenshot({ path: path.join(SHOTS, 'job-detail.png') });
  await page.setViewportSize({ width: 1280, height: 800 });

  // The customer's page tells the visit from HQ's history: the equipment it
  // left (by serial), the MOT score and what was done.
  await page.click(tid('detail-customer-link'));
  const product = page.locator(tid('customer-product'));
  await product.first().waitFor();
  assert.match(await product.allTextContents().then((t) => t.join(' ')), /NEW-456/, 'the new equipment, by serial');
  const visit = page.locator(`${tid('customer-job')}[data-job-id="${job}"]`);
  assert.match(await visit.textContent(), /\+2/, 'the MOT score of the visit');
  assert.match(await visit.textContent(), /更换分配器,信号恢复/, 'what was done');
  await page.screenshot({ path: path.join(SHOTS, 'customer-page.png') });
});

test('a form edited after signing shows the signature as invalid', async () => {
  const device = await enrollDevice(hq, hq.technicians[LIN].id, '林的第二台');
  const job = await createJob({ customer_name: '签名失效客户', technician_id: hq.technicians[LIN].id });
  await completeVisit(device, job, { editAfterSigning: true });
  await signIn();
  await page.goto(`${hq.base}/console/#/job/${job}`);
  const validity = page.locator(tid('signature-validity'));
  await validity.waitFor();
  assert.equal(await validity.getAttribute('data-valid'), 'false');
  assert.match(await validity.textContent(), /签名无效/, 'a clear invalid mark');
});

test('conflicts: a completion pushed for a cancelled job is queued and resolved', async () => {
  const device = await enrollDevice(hq, hq.technicians[CHEN].id, '陈的冲突笔记本');
  const job = await createJob({ customer_name: '冲突客户', technician_id: hq.technicians[CHEN].id });
  await hq.api.post(`/api/v1/jobs/${job}/cancel`);
  const { second } = await completeVisit(device, job);
  assert.equal(second.conflicts[0]?.reason, 'cancelled', 'HQ recorded a conflict');

  await signIn();
  await page.click(tid('nav-conflicts'));
  const card = page.locator(`${tid('conflict')}[data-job-id="${job}"]`);
  await card.waitFor();
  assert.equal(await card.locator(tid('conflict-reason')).getAttribute('data-reason'), 'cancelled');
  assert.match(await card.textContent(), /冲突客户/, 'the conflict names the customer');
  await card.locator(tid('resolve-submit')).click();
  assert.match(await card.locator(tid('resolve-error')).textContent(), /请选择处理结果/, 'an outcome must be chosen');
  await card.locator(tid('resolution-accept_completion')).check();
  await card.locator(tid('resolution-note')).fill('客户当天又同意上门');
  await card.locator(tid('resolve-submit')).click();
  await eventually(async () => assert.equal(await card.count(), 0, 'the conflict leaves the open queue'));
  assert.match(await page.textContent(tid('flash')), /接受完工/);
  const conflict = (await hq.api.get('/api/v1/conflicts?all=true')).find((c) => c.job_id === job);
  assert.equal(conflict.resolution, 'accept_completion');
  assert.equal(conflict.note, '客户当天又同意上门');
  assert.equal(conflict.resolved_by, 'dispatcher');
  assert.equal((await hq.api.get(`/api/v1/jobs/${job}`)).job.status, 'completed', "the technician's completion stands");
  await page.check(tid('show-resolved'));
  await card.locator(tid('conflict-resolution')).waitFor();
});

// Item 23: a support request reaches the console with the push, the job
// stays open, and it awaits support (nav count, board badge, list, detail)
// until a dispatcher re-books it.
test('support requests: listed with a badge on the board until the job is re-booked', async () => {
  const device = await enrollDevice(hq, hq.technicians[LIN].id, '林的支持笔记本');
  const job = await createJob({ customer_name: '支持客户', technician_id: hq.technicians[LIN].id });
  await device.push([
    { job, change: { type: 'set_step', data: 'operate' }, deviceTime: at('09:10') },
    { job, change: { type: 'request_support', data: { problem: '光猫无光,需线路班支持' } }, deviceTime: at('09:20') },
  ]);
  assert.equal((await hq.api.get(`/api/v1/jobs/${job}`)).job.status, 'in_progress', 'the job stays open');

  await signIn();
  const card = page.locator(`${tid('job-card')}[data-job-id="${job}"]`);
  await card.locator(tid('support-badge')).waitFor();
  assert.match(await card.locator(tid('support-badge')).textContent(), /待支持/);
  await eventually(async () => assert.ok(Number(await page.textContent(tid('nav-support-count'))) >= 1));

  await page.click(tid('nav-support'));
  const row = page.locator(`${tid('support-request')}[data-job-id="${job}"]`);
  await row.waitFor();
  assert.equal(await row.locator(tid('support-problem')).textContent(), '光猫无光,需线路班支持');
  assert.match(await row.textContent(), /支持客户/);
  assert.match(await row.textContent(), /林师傅/);
  await page.screenshot({ path: path.join(SHOTS, 'support-requests.png') });

  await row.locator('a').click();
  await page.locator(tid('detail-support-request')).waitFor();
  assert.match(await page.textContent(tid('detail-support-request')), /光猫无光/);
  await page.locator(tid('detail-support-waiting')).waitFor();

  // Re-booking is the dispatcher acting on it: the job leaves the list.
  await page.fill(tid('reschedule-start'), `${today()}T15:00`);
  await page.fill(tid('reschedule-end'), `${today()}T16:00`);
  await page.click(tid('reschedule-submit'));
  await eventually(async () => assert.equal(await page.locator(tid('detail-support-waiting')).count(), 0));
  const waiting = await hq.api.get('/api/v1/support-requests');
  assert.ok(!waiting.some((s) => s.job.id === job), 'HQ no longer lists it');
  await page.click(tid('nav-support'));
  await eventually(async () => assert.equal(await page.locator(`${tid('support-request')}[data-job-id="${job}"]`).count(), 0));
});

test('calls: each technician\'s calls with their durations and totals, for review', async () => {
  const device = await enrollDevice(hq, hq.technicians[CHEN].id, '陈的通话笔记本');
  const job = await createJob({ customer_name: '通话客户', technician_id: hq.technicians[CHEN].id });
  const call = (outcome, seconds, note, hhmm) => ({
    job,
    change: { type: 'log_call', data: { id: uuidv7(), at: at(hhmm), outcome, note, duration_seconds: seconds } },
    deviceTime: at(hhmm),
  });
  await device.push([call('booked', 125, '约好上午', '08:10'), call('late_apology', 40, '堵车', '08:50')]);

  await signIn();
  await page.click(tid('nav-calls'));
  // A range around China's today, whatever the browser's own day is.
  await page.fill(tid('calls-from'), chinaDate(-1));
  await page.fill(tid('calls-to'), chinaDate(1));
  await page.selectOption(tid('calls-technician'), hq.technicians[CHEN].id);
  await page.click(tid('calls-show'));
  // Other tests' calls share this HQ: only this job's are counted.
  const rows = page.locator(tid('call-row')).filter({ hasText: '通话客户' });
  await eventually(async () => assert.equal(await rows.count(), 2));
  assert.match(await rows.nth(0).textContent(), /通话客户/);
  assert.equal(await rows.nth(0).locator(tid('call-duration')).textContent(), '02:05');
  assert.match(await rows.nth(1).textContent(), /迟到致电致歉/);
  const total = page.locator(`${tid('calls-total')}[data-technician="陈师傅"]`);
  const totalTime = await total.locator(tid('calls-total-time')).textContent();
  const [mm, ss] = totalTime.split(':').map(Number);
  assert.ok(mm * 60 + ss >= 165, `the technician's total time counts both calls: ${totalTime}`);
  await page.screenshot({ path: path.join(SHOTS, 'calls.png') });

  // A range that ends before it starts is HQ's clear refusal, not an empty list.
  await page.fill(tid('calls-from'), chinaDate(1));
  await page.fill(tid('calls-to'), chinaDate(-1));
  await page.click(tid('calls-show'));
  await page.locator('[role=alert]').waitFor();
});

test('complaints: taken on a job page at HQ and on site, overdue flagged, called back', async () => {
  const device = await enrollDevice(hq, hq.technicians[LIN].id, '林的投诉笔记本');
  const job = await createJob({ customer_name: '投诉客户', technician_id: hq.technicians[LIN].id });
  // Taken on site yesterday with a reply promised for yesterday evening: overdue.
  const yesterday = chinaDate(-1);
  await device.push([
    {
      job,
      change: {
        type: 'raise_complaint',
        data: { id: uuidv7(), taken_by: '林师傅', issue: '修好第二天又坏了', reply_by: at('18:00', yesterday) },
      },
      deviceTime: at('10:00', yesterday),
    },
  ]);

  await signIn();
  await page.goto(`${hq.base}/console/#/job/${job}`);
  const section = page.locator(tid('job-complaints'));
  await section.waitFor();
  const onSite = section.locator(`${tid('complaint-row')}[data-source="on_site"]`);
  await onSite.waitFor();
  assert.equal(await onSite.getAttribute('data-overdue'), 'true');
  assert.match(await onSite.textContent(), /由受理的维护员回访/, 'the technician owns its reply');

  // A promise already past is refused with HQ's reason; what was typed stays.
  await section.locator(tid('complaint-issue')).fill('电话投诉:多收了 20 元');
  await section.locator(tid('complaint-reply-by')).fill(`${yesterday}T09:00`);
  await section.locator(tid('complaint-take')).click();
  await section.locator(tid('complaint-error')).waitFor();
  assert.equal(await section.locator(tid('complaint-issue')).inputValue(), '电话投诉:多收了 20 元');
  await section.locator(tid('complaint-reply-by')).fill(`${chinaDate(1)}T18:00`);
  await section.locator(tid('complaint-take')).click();
  const atHq = section.locator(`${tid('complaint-row')}[data-source="hq"]`);
  await atHq.waitFor();
  assert.match(await atHq.textContent(), /dispatcher/, 'the dispatcher who took it owns it');

  await page.click(tid('nav-complaints'));
  const list = page.locator(tid('complaint-list'));
  await list.waitFor();
  const row = list.locator(`${tid('complaint-row')}[data-source="hq"]`).filter({ hasText: '多收了 20 元' });
  await row.locator(tid('complaint-callback-start')).click();
  await row.locator(tid('complaint-result')).fill('已退还 20 元并致歉');
  await page.screenshot({ path: path.join(SHOTS, 'complaints.png') });
  await row.locator(tid('complaint-callback-save')).click();
  // Answered, it leaves the list of those awaiting a reply.
  await eventually(async () => assert.equal(await list.locator(tid('complaint-row')).filter({ hasText: '多收了 20 元' }).count(), 0));
  await page.uncheck(tid('complaints-open-only'));
  const answered = page.locator(tid('complaint-row')).filter({ hasText: '多收了 20 元' });
  await answered.locator(tid('complaint-callback')).waitFor();
  assert.match(await answered.textContent(), /已退还 20 元并致歉/);

  // The customer's story lists the complaint still owed a reply (taken on
  // site), not the one called back at HQ.
  await page.goto(`${hq.base}/console/#/job/${job}`);
  await page.click(tid('detail-customer-link'));
  await page.locator(tid('customer-name')).waitFor();
  assert.deepEqual(await page.locator(tid('customer-complaint')).allTextContents(), ['修好第二天又坏了']);
});

test('leads: listed by follow-up time, filtered by technician and due, exported as CSV with formulas escaped', async () => {
  const lin = await enrollDevice(hq, hq.technicians[LIN].id, '林的意向笔记本');
  const chen = await enrollDevice(hq, hq.technicians[CHEN].id, '陈的意向笔记本');
  const linJob = await createJob({ customer_name: '意向客户甲', technician_id: hq.technicians[LIN].id });
  const chenJob = await createJob({ customer_name: '意向客户乙', technician_id: hq.technicians[CHEN].id });
  const lead = (product, note, followUpAt) => ({
    type: 'add_lead',
    data: { id: uuidv7(), product, interest: 'interested', note, follow_up_at: followUpAt, contacts: [] },
  });
  // Yesterday at 12:30 (midday rest): HQ lists it moved to 14:00, due now.
  await lin.push([{ job: linJob, change: lead('高清互动', '=HYPERLINK("http://example.invalid")', at('12:30', chinaDate(-1))), deviceTime: at('09:30') }]);
  await chen.push([{ job: chenJob, change: lead('宽带提速', '想先问家人', at('10:00', chinaDate(5))), deviceTime: at('09:40') }]);

  await signIn();
  await page.click(tid('nav-leads'));
  // Only this test's leads: other tests record leads on the same HQ.
  const rows = page.locator(tid('lead-row'), { hasText: '意向客户' });
  await eventually(async () => assert.equal(await rows.count(), 2));
  assert.match(await rows.nth(0).textContent(), new RegExp(`${chinaDate(-1)} 14:00`), 'the reminder after the midday rest, soonest first');
  assert.match(await rows.nth(0).textContent(), /意向客户甲/);
  assert.equal(await rows.nth(0).getAttribute('data-due'), 'now');
  assert.match(await rows.nth(1).textContent(), /意向客户乙/);

  await page.selectOption(tid('leads-technician'), hq.technicians[CHEN].id);
  await eventually(async () => {
    assert.equal(await rows.count(), 1);
    assert.match(await rows.nth(0).textContent(), /宽带提速/);
  });
  await page.selectOption(tid('leads-technician'), '');
  await page.selectOption(tid('leads-due'), 'now');
  await eventually(async () => {
    assert.equal(await rows.count(), 1, 'only the lead whose reminder has come');
    assert.match(await rows.nth(0).textContent(), /高清互动/);
  });
  await page.screenshot({ path: path.join(SHOTS, 'leads.png') });

  await page.selectOption(tid('leads-due'), 'open');
  await eventually(async () => assert.equal(await rows.count(), 2));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(tid('leads-export'))]);
  assert.equal(download.suggestedFilename(), 'leads.csv');
  const csv = fs.readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  const lines = csv.trim().split('\n');
  assert.match(lines[0], /^技术员,客户,电话,产品,意向,跟进时间/, 'the header in the console\'s language');
  const mine = lines.filter((l) => l.includes('意向客户'));
  assert.equal(mine.length, 2, 'the list\'s leads, one row each');
  assert.match(mine[0], /林师傅,意向客户甲,13800000000,高清互动,有意向/);
  assert.ok(mine[0].includes(`"'=HYPERLINK(""http://example.invalid"")"`), `a formula arrives as text: ${mine[0]}`);
});

test('a laptop clock set wrong: its changes are flagged, one stamped 1970 is kept apart and can only be kept on file', async () => {
  const device = await enrollDevice(hq, hq.technicians[LIN].id, '林的时钟错误笔记本');
  const job = await createJob({ customer_name: '时钟客户', technician_id: hq.technicians[LIN].id });
  const threeDaysFast = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const answer = await device.push(
    [
      { job, change: { type: 'set_step', data: 'visit' }, deviceTime: '1970-01-01T08:00:00Z' },
      { job, change: { type: 'set_step', data: 'operate' }, deviceTime: threeDaysFast },
    ],
    { sentAt: threeDaysFast },
  );
  assert.equal(answer.applied_through_seq, 2, 'neither change holds the sync back');
  assert.equal(answer.conflicts[0]?.reason, 'impossible_time', 'the 1970 change is kept apart');

  await signIn();
  await page.goto(`${hq.base}/console/#/job/${job}`);
  const skew = page.locator(tid('timeline-clock-skew'));
  await skew.waitFor();
  assert.equal(await skew.count(), 1, 'only the applied change is in the timeline, flagged');
  assert.match(await skew.textContent(), /设备时钟快 3天/, 'the flag says how far the clock ran off');

  await page.goto(`${hq.base}/console/#/conflicts`);
  const card = page.locator(`${tid('conflict')}[data-job-id="${job}"]`);
  await card.waitFor();
  assert.equal(await card.locator(tid('conflict-reason')).getAttribute('data-reason'), 'impossible_time');
  assert.equal(await card.locator(tid('resolution-accept_completion')).count(), 0, 'a change HQ never applied cannot be accepted');
  await card.locator(tid('resolution-keep_cancelled')).check();
  assert.match(await card.textContent(), /将修改存档/);
  await card.locator(tid('resolve-submit')).click();
  await eventually(async () => assert.equal(await card.count(), 0, 'the conflict leaves the open queue'));
});

test('price list: add, change and retire items; each edit is a new version laptops get, audited; a job page shows its receipt', async () => {
  await signIn();
  await page.click(tid('nav-prices'));
  const rows = page.locator(tid('price-row'));
  await rows.first().waitFor();
  assert.equal(await rows.count(), 6, 'the list apps carried before HQ kept one');
  const version = async () => Number(await page.getAttribute(tid('price-list-version'), 'data-version'));
  const start = await version();

  // HQ's rule, said in Chinese: a code is plain lower-case.
  await page.fill(tid('new-price-code'), 'Wall Mount');
  await page.fill(tid('new-price-name-zh'), '壁挂支架');
  await page.fill(tid('new-price-name-en'), 'Wall mount');
  await page.fill(tid('new-price-price'), '80');
  await page.click(tid('new-price-add'));
  await page.locator(tid('price-error')).waitFor();
  assert.match(await page.textContent(tid('price-error')), /小写字母/, 'the refusal explained in Chinese');

  await page.fill(tid('new-price-code'), 'wall_mount');
  await page.click(tid('new-price-add'));
  const mount = page.locator(`${tid('price-row')}[data-code="wall_mount"]`);
  await mount.waitFor();
  assert.equal(await mount.getAttribute('data-fen'), '8000');
  assert.equal(await version(), start + 1, 'an edit is the next version');

  const remote = page.locator(`${tid('price-row')}[data-code="remote"]`);
  await remote.locator(tid('price-price')).fill('40');
  await remote.locator(tid('price-save')).click();
  await eventually(async () => assert.equal(await remote.getAttribute('data-fen'), '4000'));

  const splitter = page.locator(`${tid('price-row')}[data-code="splitter"]`);
  await splitter.locator(tid('price-retire')).click();
  await eventually(async () => assert.equal(await splitter.getAttribute('data-retired'), 'true', 'retired, still listed'));
  assert.equal(await version(), start + 3);

  const audit = await hq.api.get('/api/v1/audit?limit=20');
  const actions = audit.entries.map((e) => e.action);
  for (const action of ['add_price_item', 'change_price_item', 'retire_price_item']) {
    assert.ok(actions.includes(action), `${action} is in the audit log: ${actions}`);
  }

  // A laptop holding the first list gets the new one at its next pull.
  const device = await enrollDevice(hq, hq.technicians[CHEN].id, '陈的笔记本');
  const pulled = await fetch(`${hq.base}/api/v1/sync/jobs?price_list_version=1`, {
    headers: { Authorization: `Bearer ${device.token}`, 'X-Doorstep-Protocol': '1' },
  }).then((r) => r.json());
  assert.equal(pulled.price_list?.version, start + 3);
  assert.ok(pulled.price_list.items.some((i) => i.code === 'wall_mount' && i.unit_price_fen === 8000));

  // Fees priced from that list, with their receipt, show on the job page.
  const job = await createJob({ customer_name: '收据客户', technician_id: hq.technicians[CHEN].id });
  const line = { code: 'wall_mount', quantity: 1, priced: { list_version: start + 3, name_zh: '壁挂支架', name_en: 'Wall mount', unit_price_fen: 8000 } };
  const answer = await device.push([
    { job, change: { type: 'set_fees', data: [line] }, deviceTime: at('09:30') },
    { job, change: { type: 'save_payment', data: { receipt_no: 'FJ-0042', amount_fen: 8000, method: 'wechat' } }, deviceTime: at('09:31') },
  ]);
  assert.deepEqual(answer.conflicts, [], 'on the list the laptop held');
  await page.goto(`${hq.base}/console/#/job/${job}`);
  const receipt = page.locator(tid('rec-receipt'));
  await receipt.waitFor();
  assert.equal(await receipt.getAttribute('data-receipt-no'), 'FJ-0042');
  assert.match(await receipt.textContent(), /¥80\.00[\s\S]*微信支付/);
  await page.screenshot({ path: path.join(SHOTS, 'price-list-receipt.png'), fullPage: true });
});

test('language: the console switches to English and back, and remembers it', async () => {
  await signIn();
  assert.equal(await page.textContent(tid('nav-board')), '调度看板');
  await page.click(tid('lang-toggle'));
  await eventually(async () => assert.equal(await page.textContent(tid('nav-board')), 'Board'));
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const headers = await page.locator(`${tid('board-column')} h3`).allTextContents();
  assert.equal(headers.at(-1), 'Unassigned', 'the board is in English');
  await page.screenshot({ path: path.join(SHOTS, 'board-en.png') });
  assert.match(await page.locator(`${tid('job-card')} ${tid('job-status')}`).first().textContent(), /^[A-Za-z ]+$/, 'statuses in English');
  await page.reload();
  await page.locator(tid('board')).waitFor();
  assert.equal(await page.textContent(tid('nav-board')), 'Board', 'the choice survives a reload');
  await page.click(tid('nav-import'));
  await page.fill(tid('import-text'), `${HEADER}\nx,1,y,repair,indoor,,${at('09:00')},${at('10:00')},`);
  await page.click(tid('import-submit'));
  assert.match(await page.locator(tid('import-row-error')).first().textContent(), /Row 1.*job type.*“repair”/, 'row errors in English too');
  await page.click(tid('lang-toggle'));
  await eventually(async () => assert.equal(await page.textContent(tid('nav-board')), '调度看板'));
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
});

test('documents: a PDF is published for the laptops, a wrong or too large file is refused clearly, retiring is logged', async () => {
  await signIn();
  await page.click(tid('nav-documents'));
  await page.locator(tid('document-form')).waitFor();
  const submit = async (name, buffer) => {
    await page.setInputFiles(tid('document-file'), { name, mimeType: 'application/octet-stream', buffer });
    await page.click(tid('document-submit'));
  };
  await page.fill(tid('document-title-zh'), '光猫设置指南');
  await page.fill(tid('document-title-en'), 'Modem set-up guide');

  // A Word file is not something the laptops can show safely: HQ refuses it.
  await submit('guide.docx', Buffer.from('PK\x03\x04 not a pdf'));
  const error = page.locator(tid('document-error'));
  await eventually(async () => (await error.textContent())?.includes('只能上传 PDF'));
  // Over 20 MiB: refused before it is sent, with the limit named. (From a
  // file on disk: the browser reads it itself, as it would a user's.)
  const big = path.join(SHOTS, 'scan.pdf');
  fs.writeFileSync(big, Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(20 * 1024 * 1024)]));
  await page.setInputFiles(tid('document-file'), big);
  await page.click(tid('document-submit'));
  fs.rmSync(big);
  await eventually(async () => (await error.textContent())?.includes('20 MiB'));
  assert.equal((await hq.api.get('/api/v1/documents')).length, 0, 'nothing was published');

  await submit('guide.pdf', Buffer.from('%PDF-1.4\n% modem guide\n'));
  await eventually(async () => (await page.locator(tid('flash')).textContent())?.includes('已发布《光猫设置指南》第 1 版'));
  const entry = page.locator(tid('document-entry'));
  await eventually(async () => (await entry.count()) === 1);
  assert.equal(await entry.getAttribute('data-state'), 'published');
  const [stored] = await hq.api.get('/api/v1/documents');
  assert.equal(stored.title_en, 'Modem set-up guide');
  assert.equal(stored.kind, 'pdf');
  await page.screenshot({ path: path.join(SHOTS, 'documents.png'), fullPage: true });

  page.once('dialog', (dialog) => dialog.accept());
  await page.click(tid('document-retire'));
  await eventually(async () => (await entry.getAttribute('data-state')) === 'retired');
  const audit = await hq.api.get('/api/v1/audit');
  const actions = audit.entries.map((e) => e.action);
  assert.ok(actions.includes('publish_document') && actions.includes('retire_document'), `logged: ${actions}`);
});

test('HQ serves the console at /console/ and its assets', async () => {
  const redirect = await fetch(`${hq.base}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/console/');
  const index = await fetch(`${hq.base}/console/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /text\/html/);
  const html = await index.text();
  const script = html.match(/src="(\/console\/assets\/[^"]+\.js)"/)?.[1];
  assert.ok(script, 'the page loads its script from /console/assets/');
  const js = await fetch(hq.base + script);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal((await fetch(`${hq.base}/console/assets/nope.js`)).status, 404, 'a missing asset is a 404');
});

test('sign out: the session ends on HQ and the sign-in page comes back', async () => {
  await signIn();
  const [session] = (await browser.context.cookies()).filter((c) => c.name === 'doorstep_session');
  assert.ok(session, 'signed in with a session cookie');
  await page.click(tid('sign-out'));
  await page.locator(tid('login-form')).waitFor();
  assert.equal(await page.locator(tid('board')).count(), 0, 'the board is gone');
  await page.reload();
  await page.locator(tid('login-form')).waitFor();
  const stale = await fetch(`${hq.base}/api/v1/devices`, { headers: { cookie: `doorstep_session=${session.value}` } });
  assert.equal(stale.status, 401, 'a copy of the old cookie no longer works');
});
