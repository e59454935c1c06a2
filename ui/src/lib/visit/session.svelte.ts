// One open job: the server's view of it, the technician's drafts of every
// editable section, and the autosave queue that carries drafts to Rust.
//
// Drafts are the source of truth for what is on screen. A server response
// never overwrites a draft, so a rejected save never loses what was typed;
// the draft simply stays unsaved (and the error is shown) until it is fixed.
import {
  ipc,
  type AppError,
  type Arrival,
  type Change,
  type Cleanup,
  type Communicate,
  type Departure,
  type FeeLine,
  type Feedback,
  type JobStatus,
  type KitCheck,
  type Step,
  type VisitView,
  type Work,
  toAppError,
} from '../ipc';

export type SaveStatus = 'saved' | 'saving' | 'error';

export interface Drafts {
  departure: Departure;
  arrival: Arrival;
  kit: KitCheck;
  work: Work;
  fees: FeeLine[];
  communicate: Communicate;
  feedback: Feedback;
  cleanup: Cleanup;
}
export type SectionKey = keyof Drafts;

/** Text fields wait this long after the last keystroke before saving. */
export const TEXT_DEBOUNCE_MS = 300;

export function isClosed(status: JobStatus): boolean {
  return status === 'completed' || status === 'rescheduled' || status === 'cancelled';
}

function draftsOf(view: VisitView): Drafts {
  const v = structuredClone(view.visit);
  return {
    departure: v.departure,
    arrival: v.arrival,
    kit: v.kit,
    work: v.work,
    fees: v.fees,
    communicate: v.communicate,
    feedback: v.feedback,
    cleanup: v.cleanup,
  };
}

export class VisitSession {
  readonly jobId: string;
  view: VisitView = $state() as VisitView;
  step: Step = $state('phone');
  drafts: Drafts = $state() as Drafts;
  /** The last error from any save or action, for the banner. */
  error: AppError | null = $state(null);
  #pendingCount = $state(0);
  #inFlight = $state(0);
  #failed: Set<string> = $state(new Set());
  #errorTag: string | null = $state(null);

  #timers = new Map<SectionKey, ReturnType<typeof setTimeout> | null>();
  #chain: Promise<unknown> = Promise.resolve();

  readOnly = $derived(isClosed(this.view.visit.job.status));
  status: SaveStatus = $derived(
    this.#pendingCount > 0 || this.#inFlight > 0 ? 'saving' : this.#failed.size > 0 ? 'error' : 'saved',
  );

  constructor(view: VisitView) {
    this.jobId = view.visit.job.id;
    this.view = view;
    this.step = view.visit.step;
    this.drafts = draftsOf(view);
  }

  #change(key: SectionKey): Change {
    const d = $state.snapshot(this.drafts);
    switch (key) {
      case 'departure': return { type: 'save_departure', data: d.departure };
      case 'arrival': return { type: 'save_arrival', data: d.arrival };
      case 'kit': return { type: 'save_kit', data: d.kit };
      case 'work': return { type: 'save_work', data: d.work };
      case 'fees': return { type: 'set_fees', data: d.fees };
      case 'communicate': return { type: 'save_communicate', data: d.communicate };
      case 'feedback': return { type: 'save_feedback', data: d.feedback };
      case 'cleanup': return { type: 'save_cleanup', data: d.cleanup };
    }
  }

  /** A section's draft changed: save it now (delay 0) or after typing pauses. */
  touch(key: SectionKey, delay = 0): void {
    if (this.readOnly) return;
    const old = this.#timers.get(key);
    if (old) clearTimeout(old);
    else if (!this.#timers.has(key)) this.#pendingCount++;
    if (delay <= 0) {
      this.#timers.set(key, null);
      void this.flushAll();
    } else {
      // Map order = order first touched; flushAll sends in that order.
      this.#timers.set(key, setTimeout(() => void this.flush(key), delay));
    }
  }

  /** Send one section's pending draft, if any. */
  flush(key: SectionKey): Promise<void> {
    if (!this.#timers.has(key)) return this.#chain.then(() => undefined);
    const t = this.#timers.get(key);
    if (t) clearTimeout(t);
    this.#timers.delete(key);
    this.#pendingCount--;
    const change = this.#change(key);
    return this.#enqueue(key, () => ipc.applyChange(this.jobId, change), true).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Send every pending draft; resolves true when nothing failed. */
  async flushAll(): Promise<boolean> {
    const keys = [...this.#timers.keys()];
    for (const k of keys) void this.flush(k);
    await this.#chain.catch(() => undefined);
    return this.#failed.size === 0;
  }

  /**
   * Run one call that returns a new view, in order after every pending save.
   * `sticky` failures (a section draft that did not save) keep the save
   * indicator red until that section saves; action failures only raise the
   * banner, since their form keeps its own input.
   */
  #enqueue(tag: string, fn: () => Promise<VisitView>, sticky = false): Promise<VisitView> {
    this.#inFlight++;
    const p = this.#chain.catch(() => undefined).then(fn);
    this.#chain = p.catch(() => undefined);
    return p.then(
      (view) => {
        this.#inFlight--;
        this.view = view;
        if (this.#failed.has(tag)) {
          const next = new Set(this.#failed);
          next.delete(tag);
          this.#failed = next;
        }
        if (this.#errorTag === tag) {
          this.error = null;
          this.#errorTag = null;
        }
        return view;
      },
      (e: unknown) => {
        this.#inFlight--;
        const err = toAppError(e);
        this.error = err;
        this.#errorTag = tag;
        if (sticky) this.#failed = new Set(this.#failed).add(tag);
        throw err;
      },
    );
  }

  /**
   * A discrete action (add a record, complete, sign…): flushes pending drafts
   * first, then runs. Rejects with the AppError so the caller can keep its
   * form and show the message next to it.
   */
  async act(tag: string, fn: () => Promise<VisitView>): Promise<VisitView> {
    await this.flushAll();
    return this.#enqueue(tag, fn);
  }

  apply(tag: string, change: Change): Promise<VisitView> {
    return this.act(tag, () => ipc.applyChange(this.jobId, change));
  }

  /** Move to a step; remembered by Rust so the app reopens there. */
  async goStep(step: Step): Promise<void> {
    this.step = step;
    // An action's error belongs to the step it was made on; a draft that
    // did not save keeps its error until it does.
    if (this.#errorTag && !this.#failed.has(this.#errorTag)) this.dismissError();
    try {
      await this.apply('set_step', { type: 'set_step', data: step });
    } catch {
      /* shown in the banner */
    }
  }

  /** Re-read the view (e.g. after a language switch: labels come from Rust). */
  async refresh(): Promise<void> {
    try {
      await this.#enqueue('refresh', () => ipc.openJob(this.jobId));
    } catch {
      /* shown in the banner */
    }
  }

  /** The banner's error, if it came from this section or action. */
  errorFor(tag: string): AppError | null {
    return this.#errorTag === tag ? this.error : null;
  }

  dismissError(): void {
    this.error = null;
    this.#errorTag = null;
  }
}
