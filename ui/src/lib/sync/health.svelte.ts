// Whether syncing works right now: the sync button's badge and the reason in
// the sync view. App-wide, so it outlives every view; the reason comes from
// Rust already in the UI's language, and is read again when that changes.
import { listen } from '@tauri-apps/api/event';
import { ipc, type SyncFailure, type SyncStatus } from '../ipc';

class SyncHealth {
  failure: SyncFailure | null = $state(null);

  /** Follows every sync that ends, in the background or from "Sync now". */
  async follow() {
    await listen('sync-finished', () => void this.refresh());
    await this.refresh();
  }

  async refresh() {
    try {
      this.update(await ipc.syncStatus());
    } catch {
      // The store could not be read: keep what is shown until the next sync
      // ends; the sync view shows the store's error itself.
    }
  }

  update(status: SyncStatus) {
    this.failure = status.failure;
  }
}

export const syncHealth = new SyncHealth();
