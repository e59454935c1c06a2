// The leads owed a follow-up call, app-wide: the Leads screen lists them and
// the main screen's button carries the count due now or today. Read again
// every minute (a reminder comes due while the app is open), after every
// sync (retention may drop a job) and whenever a lead changes.
import { listen } from '@tauri-apps/api/event';
import { ipc, type LeadList } from '../ipc';

const EVERY_MINUTE_MS = 60_000;

class Leads {
  list: LeadList = $state({ leads: [], due_count: 0 });

  async follow() {
    await listen('sync-finished', () => void this.refresh());
    setInterval(() => void this.refresh(), EVERY_MINUTE_MS);
    await this.refresh();
  }

  /** Rejects with the store's error, for the Leads screen to show. */
  async load() {
    this.list = await ipc.listLeads();
  }

  async refresh() {
    try {
      await this.load();
    } catch {
      // The store could not be read: keep the badge as it was; the Leads
      // screen shows the error when opened.
    }
  }
}

export const leads = new Leads();
