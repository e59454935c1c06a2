// The console's state: who is signed in, where we are (the URL hash), the
// technicians (used everywhere), and the board's choices.
import { api, isApiError, type OperatorSettings, type SupportRequestEntry, type Technician, type Uuid } from './api';
import { operatorDate, useTimeZone } from '../../src/lib/format';
import { errorText } from './i18n';
import type { JobStatus } from '../../src/lib/ipc';

export type Route =
  | { view: 'board' }
  | { view: 'job'; id: Uuid }
  | { view: 'customers' }
  | { view: 'customer'; id: Uuid }
  | { view: 'new' }
  | { view: 'import' }
  | { view: 'conflicts' }
  | { view: 'support' }
  | { view: 'calls' }
  | { view: 'complaints' }
  | { view: 'leads' }
  | { view: 'technicians' }
  | { view: 'devices' }
  | { view: 'audit' }
  | { view: 'documents' }
  | { view: 'prices' }
  | { view: 'account' }
  | { view: 'settings' };

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  switch (parts[0]) {
    case 'job':
      return parts[1] ? { view: 'job', id: decodeURIComponent(parts[1]) } : { view: 'board' };
    case 'customer':
      return parts[1] ? { view: 'customer', id: decodeURIComponent(parts[1]) } : { view: 'customers' };
    case 'customers':
      return { view: 'customers' };
    case 'new':
    case 'import':
    case 'conflicts':
    case 'support':
    case 'calls':
    case 'complaints':
    case 'leads':
    case 'technicians':
    case 'devices':
    case 'audit':
    case 'documents':
    case 'prices':
    case 'account':
    case 'settings':
      return { view: parts[0] };
    default:
      return { view: 'board' };
  }
}


class ConsoleState {
  /** null: not signed in (or not known yet). */
  user = $state<string | null>(null);
  ready = $state(false);
  route = $state<Route>(parseHash(location.hash));
  technicians = $state<Technician[]>([]);
  /** A short confirmation shown at the top ("job created"). */
  flash = $state<string | null>(null);
  /** The last error, already in the console's language. */
  error = $state<string | null>(null);
  /** Today in the operator's zone, once HQ has named it (`start`). */
  boardDate = $state(operatorDate());
  boardStatus = $state<JobStatus | 'all'>('all');
  /** 'all', 'unassigned', or a technician id. */
  boardTechnician = $state<string>('all');
  /** The jobs awaiting support: the nav's count, the board's badges, the list. */
  supportRequests = $state<SupportRequestEntry[]>([]);

  constructor() {
    window.addEventListener('hashchange', () => {
      this.route = parseHash(location.hash);
      this.error = null;
    });
  }

  go(hash: string) {
    if (location.hash === hash) this.route = parseHash(hash);
    else location.hash = hash;
    this.error = null;
  }

  /** What the operator set at HQ: its time zone and repair-time targets. */
  settings = $state<OperatorSettings | null>(null);

  /** On start: a valid session cookie means we are signed in. */
  async start() {
    try {
      await this.loadSettings();
      this.technicians = await api.technicians();
      this.user = sessionStorage.getItem('doorstep.console.user') ?? '';
    } catch {
      this.user = null;
    }
    this.ready = true;
  }

  /** Every time the console shows is in the operator's zone from here on. */
  async loadSettings() {
    const settings = await api.settings();
    const first = this.settings === null;
    this.settings = settings;
    useTimeZone(settings.time_zone);
    if (first) this.boardDate = operatorDate();
  }

  signedIn(username: string) {
    this.user = username;
    try {
      sessionStorage.setItem('doorstep.console.user', username);
    } catch {
      /* ignore */
    }
    void this.loadTechnicians();
    void this.loadSettings().catch((e) => this.fail(e));
  }

  /** Ends the session on HQ, then shows the sign-in page. */
  async signOut() {
    try {
      await api.logout();
    } catch (e) {
      this.fail(e);
      return;
    }
    try {
      sessionStorage.removeItem('doorstep.console.user');
    } catch {
      /* ignore */
    }
    this.user = null;
    this.technicians = [];
    this.error = null;
  }

  techName(id: Uuid | null | undefined): string | null {
    if (!id) return null;
    return this.technicians.find((t) => t.id === id)?.name ?? null;
  }

  awaitsSupport(id: Uuid): boolean {
    return this.supportRequests.some((s) => s.job.id === id);
  }

  async loadSupportRequests() {
    try {
      this.supportRequests = await api.supportRequests();
    } catch (e) {
      this.fail(e);
    }
  }

  async loadTechnicians() {
    try {
      this.technicians = await api.technicians();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Shows an error; a lost session sends the dispatcher to the sign-in page. */
  fail(e: unknown) {
    if (isApiError(e) && e.code === 'unauthorized') this.user = null;
    this.error = errorText(e);
  }

  say(message: string) {
    this.flash = message;
    this.error = null;
    const shown = message;
    setTimeout(() => {
      if (this.flash === shown) this.flash = null;
    }, 6000);
  }
}

export const con = new ConsoleState();
