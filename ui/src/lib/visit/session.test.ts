import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Change, VisitView } from '../ipc';

const calls: Change[] = [];
let reject: ((c: Change) => { code: string; message: string } | null) | null = null;

vi.mock('../ipc', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../ipc')>();
  return {
    ...orig,
    ipc: {
      ...orig.ipc,
      applyChange: async (_jobId: string, change: Change): Promise<VisitView> => {
        calls.push(change);
        const err = reject?.(change);
        if (err) throw err;
        return view(change);
      },
    },
  };
});

const { VisitSession } = await import('./session.svelte');

function view(change?: Change): VisitView {
  const v = {
    visit: {
      job: {
        id: 'j1',
        customer: { id: 'c1', name: '陈美玲', phone: '1', address: 'a' },
        job_type: 'fault',
        sub_case: 'indoor',
        fault_description: '',
        window_start: '2026-01-01T08:30:00Z',
        window_end: '2026-01-01T09:30:00Z',
        status: 'scheduled',
        earlier_visits: [],
        visit: 1,
      },
      step: 'phone',
      call_logs: [],
      departure: { tools: false, spares: false, repair_record: false, receipt: false, service_form: false, feedback_form: false, kit: false },
      arrival: { arrived_at: null, knock_started_at: null, door_answered: false, badge_shown: false, fault_point_verified: false, service_form_left: false },
      kit: { mat_cloth: false, cover_cloth: false, wiping_cloth: false, shoe_covers: false, missing_reason: '' },
      work: { indoor: false, line_test: false, outdoor_line: false, replacement: false, drilling_wiring: false, fault_point: '', description: '', non_company_equipment: false },
      replacements: [],
      fees: [],
      communicate: { customer_type: null, needs: '', notes: '' },
      feedback: { mot: null, opinion: '' },
      cleanup: { site_checked: false, tools_packed: false, restored: false, rubbish_taken: false, splitter_checked: false },
      leads: [],
      photos: [],
      signature: null,
      reschedule: null,
      completed_at: null,
      support_request: null,
      complaints: [],
      payment: null,
    },
    missing: [],
    signature_valid: false,
    punctuality: null,
    service_form: {} as VisitView['service_form'],
    content_hash: 'h',
    word_hints: [],
  } as VisitView;
  if (change?.type === 'complete') v.visit.job.status = 'completed';
  return v;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  calls.length = 0;
  reject = null;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('autosave', () => {
  it('saves a ticked box at once, and typed text only after typing pauses', async () => {
    const s = new VisitSession(view());
    s.drafts.kit.mat_cloth = true;
    s.touch('kit');
    expect(s.status).toBe('saving');
    vi.useRealTimers();
    await s.flushAll();
    expect(calls.map((c) => c.type), 'a checkbox is saved without waiting').toEqual(['save_kit']);

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    for (const ch of '客户希望') {
      s.drafts.communicate.notes += ch;
      s.touch('communicate', 300);
    }
    expect(calls.length, 'nothing is sent while the technician types').toBe(1);
    vi.advanceTimersByTime(300);
    vi.useRealTimers();
    await s.flushAll();
    expect(calls.length, 'one save for the whole burst of typing').toBe(2);
    expect(calls[1]).toEqual({ type: 'save_communicate', data: { customer_type: null, needs: '', notes: '客户希望' } });
    expect(s.status).toBe('saved');
  });

  it('sends pending text before a later immediate change, so the server sees them in order', async () => {
    const s = new VisitSession(view());
    s.drafts.kit.missing_reason = '鞋套用完';
    s.touch('kit', 300);
    s.drafts.work.indoor = true;
    s.touch('work');
    vi.useRealTimers();
    await s.flushAll();
    expect(calls.map((c) => c.type), 'the kit reason permits the work, so it must arrive first').toEqual(['save_kit', 'save_work']);
  });

  it('keeps what was typed when a save is refused, and recovers on the next good save', async () => {
    vi.useRealTimers();
    const s = new VisitSession(view());
    reject = (c) => (c.type === 'save_work' ? { code: 'too_long', message: '实际故障点太长' } : null);
    s.drafts.work.fault_point = '长'.repeat(300);
    s.touch('work');
    expect(await s.flushAll(), 'flushAll reports the failure').toBe(false);
    await settle();
    expect(s.status).toBe('error');
    expect(s.error?.code).toBe('too_long');
    expect(s.errorFor('work')?.message).toBe('实际故障点太长');
    expect(s.drafts.work.fault_point.length, 'the text on screen is untouched').toBe(300);

    reject = null;
    s.drafts.work.fault_point = '分配器';
    s.touch('work');
    expect(await s.flushAll()).toBe(true);
    expect(s.status).toBe('saved');
    expect(s.error, 'the banner clears once the section saves').toBeNull();
  });

  it('flushes drafts before an action, and a closed job takes no more edits', async () => {
    vi.useRealTimers();
    const s = new VisitSession(view());
    s.drafts.cleanup.site_checked = true;
    s.touch('cleanup', 300);
    await s.apply('complete', { type: 'complete' });
    expect(calls.map((c) => c.type)).toEqual(['save_cleanup', 'complete']);
    expect(s.readOnly).toBe(true);
    s.drafts.cleanup.restored = true;
    s.touch('cleanup');
    await s.flushAll();
    expect(calls.length, 'read-only: nothing more is sent').toBe(2);
  });
});
