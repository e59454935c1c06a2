// App-wide state: who is signed in, the UI language, which screen is shown.
import { ipc, type AppInfo, type JobPage, type Locale, type LockState, type Tab, toAppError, type AppError } from './ipc';
import { listen } from '@tauri-apps/api/event';
import { setUiLocale } from './i18n';
import { useTimeZone } from './format';
import { VisitSession } from './visit/session.svelte';
import { markStart } from './startup';

/** The tab the job list opens on. */
export const FIRST_TAB: Tab = 'today';

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
  /** The first list's page, asked for at start: the list takes it once. */
  private firstPage: Promise<JobPage> | null = null;

  async start() {
    // Asked for together rather than one after another: the first list is
    // what the technician waits for. While the store is locked the info and
    // the list fail, and are not used.
    const lock = ipc.unlockState(this.locale);
    const appInfo = ipc.appInfo();
    const firstPage = ipc.listJobs(FIRST_TAB, '');
    appInfo.catch(() => {});
    firstPage.catch(() => {});
    try {
      this.lock = await lock;
      markStart('lock known');
      if (this.lock) {
        this.screen = 'locked';
        return;
      }
      const info = await appInfo;
      markStart('app info');
      this.useInfo(info);
      this.followSyncs();
      this.locale = info.locale === 'en' ? 'en' : 'zh-CN';
      setUiLocale(this.locale);
      if (info.last_job_id) {
        await this.openJob(info.last_job_id);
        if (this.screen === 'job') return;
      }
      this.firstPage = firstPage;
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

  /** The page asked for at start, if `tab` and `query` are what it was
   *  asked for and it has not been taken: the list's first load then need
   *  not ask again. */
  takeFirstPage(tab: Tab, query: string): Promise<JobPage> | null {
    const page = this.firstPage;
    this.firstPage = null;
    return tab === FIRST_TAB && query === '' ? page : null;
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
