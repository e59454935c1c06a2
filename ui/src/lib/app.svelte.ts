// App-wide state: who is signed in, the UI language, which screen is shown.
import { ipc, type AppInfo, type Locale, type LockState, toAppError, type AppError } from './ipc';
import { listen } from '@tauri-apps/api/event';
import { setUiLocale } from './i18n';
import { useTimeZone } from './format';
import { VisitSession } from './visit/session.svelte';

export type Screen = 'loading' | 'locked' | 'list' | 'job' | 'report' | 'sync' | 'leads' | 'documents';

class AppState {
  info: AppInfo | null = $state(null);
  locale: Locale = $state('zh-CN');
  screen: Screen = $state('loading');
  session: VisitSession | null = $state(null);
  /** A problem outside a job (start-up, opening a job). */
  error: AppError | null = $state(null);
  /** Bumped on every language switch, so views re-read Rust-localized text. */
  localeVersion = $state(0);
  /** Why the store is locked, while it is (the unlock screen). */
  lock: LockState | null = $state(null);
  /** Where an unreadable store was moved when the technician started again. */
  setAside: string | null = $state(null);

  async start() {
    try {
      this.lock = await ipc.unlockState(this.locale);
      if (this.lock) {
        this.screen = 'locked';
        return;
      }
      const info = await ipc.appInfo();
      this.useInfo(info);
      this.followSyncs();
      this.locale = info.locale === 'en' ? 'en' : 'zh-CN';
      setUiLocale(this.locale);
      if (info.last_job_id) {
        await this.openJob(info.last_job_id);
        if (this.screen === 'job') return;
      }
      this.screen = 'list';
    } catch (e) {
      this.error = toAppError(e);
      this.screen = 'list';
    }
  }

  async setLocale(l: Locale) {
    if (this.screen === 'locked') {
      // No store to remember the choice in yet.
      this.locale = l;
      setUiLocale(l);
      this.lock = await ipc.unlockState(l).catch(() => this.lock);
      return;
    }
    const before = this.locale;
    this.locale = l;
    setUiLocale(l);
    try {
      await ipc.setLocale(l);
    } catch (e) {
      this.locale = before;
      setUiLocale(before);
      this.error = toAppError(e);
      return;
    }
    this.localeVersion++;
    this.error = null;
    if (this.session) {
      // Messages already shown came in the old language.
      this.session.dismissError();
      await this.session.refresh();
    }
  }

  /** Opens the store with the passphrase; rejects with the reason. */
  async unlock(passphrase: string) {
    await ipc.unlock(passphrase, this.locale);
    this.lock = null;
    this.screen = 'loading';
    await this.start();
    // The store's remembered language wins over the one chosen while locked.
    if (this.info && this.info.locale !== this.locale) await this.setLocale(this.locale);
  }

  /** Moves the unreadable store aside and starts on a new one, then shows
   *  the sync screen to enroll again; rejects with the reason. */
  async startAgain() {
    this.setAside = await ipc.startAgain(this.locale);
    this.lock = null;
    this.screen = 'loading';
    await this.start();
    if (this.info && this.info.locale !== this.locale) await this.setLocale(this.locale);
    this.screen = 'sync';
  }

  toggleLocale() {
    return this.setLocale(this.locale === 'zh-CN' ? 'en' : 'zh-CN');
  }

  async openJob(jobId: string) {
    try {
      const view = await ipc.openJob(jobId);
      this.session = new VisitSession(view);
      this.error = null;
      this.screen = 'job';
    } catch (e) {
      this.error = toAppError(e);
    }
  }

  async backToList() {
    // A draft that failed to save stays on screen (with its error) rather
    // than being dropped with the session.
    if (this.session && !(await this.session.flushAll())) return;
    try {
      await ipc.closeJob();
    } catch (e) {
      this.error = toAppError(e);
    }
    this.session = null;
    this.screen = 'list';
  }

  /** The depot's sync screen; an open job is saved and closed first. */
  async showSync() {
    if (this.session) {
      await this.backToList();
      if (this.session) return; // a draft could not be saved: stay with it
    }
    this.screen = 'sync';
  }

  /** The technical documents; an open job is saved and closed first. */
  async showDocuments() {
    if (this.session) {
      await this.backToList();
      if (this.session) return; // a draft could not be saved: stay with it
    }
    this.screen = 'documents';
  }

  showList() {
    this.screen = 'list';
  }

  /** The leads to follow up; an open job is saved and closed first. */
  async showLeads() {
    if (this.session) {
      await this.backToList();
      if (this.session) return; // a draft could not be saved: stay with it
    }
    this.screen = 'leads';
  }

  /** After enrollment the technician's name comes from HQ. */
  async reloadInfo() {
    try {
      this.useInfo(await ipc.appInfo());
    } catch (e) {
      this.error = toAppError(e);
    }
  }

  private useInfo(info: AppInfo) {
    this.info = info;
    useTimeZone(info.time_zone);
  }

  private followingSyncs = false;

  /** A sync may bring the operator's time zone from HQ: read it again. */
  private followSyncs() {
    if (this.followingSyncs) return;
    this.followingSyncs = true;
    void listen('sync-finished', () => void this.reloadInfo());
  }

  async showReport() {
    if (this.session) await this.session.flushAll();
    this.screen = 'report';
  }
}

export const app = new AppState();
