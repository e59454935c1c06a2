// Times are the operator's, and repair-time targets: the console in a
// browser set to Los Angeles time still shows HQ's (Asia/Shanghai, the
// default) times and day, and a job past its type's target is flagged on
// the board and on its page. Its own HQ and browser, so the other tests
// keep their China-time browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chinaDate, eventually, startBrowser, startHq } from './harness.mjs';

let hq;
let browser;
let page;
const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? path.join(os.tmpdir(), 'doorstep-console-shots');
const tid = (id) => `[data-testid="${id}"]`;

before(async () => {
  hq = await startHq();
  browser = await startBrowser({ timezoneId: 'America/Los_Angeles' });
  page = await browser.context.newPage();
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await hq?.stop();
});

async function signIn() {
  await page.goto(`${hq.base}/console/`);
  await page.fill(tid('login-username'), 'dispatcher');
  await page.fill(tid('login-password'), 'doorstep-demo');
  await page.click(tid('login-submit'));
  await page.locator(tid('board')).waitFor();
}

test("a browser in another zone shows the operator's day and times; a job past its repair target is flagged", async () => {
  const browserZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(browserZone, 'America/Los_Angeles', 'the browser runs on Los Angeles time');
  await signIn();

  // The dispatcher sets the fault target on the settings page; it is logged.
  await page.click(tid('nav-settings'));
  assert.equal((await page.textContent(tid('operator-time-zone'))).trim(), 'Asia/Shanghai');
  await page.fill(tid('target-hours-fault'), '0');
  await page.click(tid('target-save-fault'));
  await page.locator(tid('target-error')).waitFor();
  await page.fill(tid('target-hours-fault'), '24');
  await page.click(tid('target-save-fault'));
  await eventually(async () => {
    const settings = await hq.api.get('/api/v1/settings');
    assert.deepEqual(settings.repair_targets, [{ job_type: 'fault', hours: 24 }]);
  });
  const audit = await hq.api.get('/api/v1/audit?action=set_repair_target');
  assert.equal(audit.entries.length, 1, 'the change is in the audit log');

  // A fault reported 30 hours ago, booked 09:00-11:00 Beijing time today.
  const day = chinaDate(0);
  const reported = new Date(Date.now() - 30 * 3600_000).toISOString();
  const created = await hq.api.post('/api/v1/jobs', {
    customer_name: '时限测试', phone: '13800000000', address: '福州市鼓楼区测试路 2 号',
    job_type: 'fault', sub_case: 'indoor', fault_description: '没有信号',
    window_start: `${day}T09:00:00+08:00`, window_end: `${day}T11:00:00+08:00`,
    technician_id: hq.technicians[0].id, reported_at: reported,
  });
  const id = created.job.id;
  assert.ok(created.job.due_by, 'HQ set its due-by time');

  await page.click(tid('nav-board'));
  await page.click(tid('board-today'));
  await eventually(async () => assert.equal(await page.getAttribute(tid('board'), 'data-date'), day, "the operator's today, not Los Angeles'"));
  const card = page.locator(`${tid('job-card')}[data-job-id="${id}"]`);
  await card.waitFor();
  assert.match(await card.textContent(), /09:00–11:00/, "the window in the operator's time");
  await card.locator(tid('past-target-badge')).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'board-past-target.png') });

  await card.click();
  assert.match(await page.textContent(tid('detail-window')), /09:00–11:00/);
  await page.locator(tid('detail-past-target')).waitFor();
  // A time typed in the page is the operator's too.
  assert.equal(await page.inputValue(tid('reschedule-start')), `${day}T09:00`);
});
