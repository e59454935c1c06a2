// Console translations: the technician app's shared labels (job types,
// statuses, kit, forms...) from src/lib/i18n, plus the console's own.
import { addMessages, init, locale, _ } from 'svelte-i18n';
import { get } from 'svelte/store';
import sharedZh from '../../../src/lib/i18n/zh-CN.json';
import sharedEn from '../../../src/lib/i18n/en.json';
import zh from './zh-CN.json';
import en from './en.json';
import type { Locale } from '../../../src/lib/ipc';
import type { ApiError } from '../api';

addMessages('zh-CN', sharedZh);
addMessages('en', sharedEn);
addMessages('zh-CN', zh);
addMessages('en', en);

const KEY = 'doorstep.console.locale';

function saved(): Locale {
  try {
    return localStorage.getItem(KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

init({ fallbackLocale: 'zh-CN', initialLocale: saved() });
document.documentElement.lang = saved();

export function currentLocale(): Locale {
  return get(locale) === 'en' ? 'en' : 'zh-CN';
}

export function setLocale(l: Locale) {
  locale.set(l);
  document.documentElement.lang = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    /* private mode: the choice lasts this page */
  }
}

export function toggleLocale() {
  setLocale(currentLocale() === 'en' ? 'zh-CN' : 'en');
}

const t = (key: string, values?: Record<string, string | number>) => get(_)(key, { values });

/** HQ's field names, as the console labels them. */
function field(name: string): string {
  const key = `fields.${name}`;
  const label = t(key);
  return label === key ? name : label;
}

/**
 * One of HQ's messages (English, for people) in the console's language.
 * Known shapes are translated; anything else is shown as HQ wrote it.
 */
export function translateMessage(message: string): string {
  let m: RegExpMatchArray | null;
  if ((m = message.match(/^(\w+) is required$/))) return t('server.required', { field: field(m[1]) });
  if ((m = message.match(/^(\w+): unknown value '(.*)'$/))) return t('server.unknown_value', { field: field(m[1]), value: m[2] });
  if ((m = message.match(/^(\w+): '(.*)' is not a time like/))) return t('server.bad_time', { field: field(m[1]), value: m[2] });
  if ((m = message.match(/^technician: no technician '(.*)'$/))) return t('server.no_technician_named', { value: m[1] });
  if ((m = message.match(/^(\w+) is (\d+) characters; at most (\d+)$/)))
    return t('server.too_long', { field: field(m[1]), len: m[2], max: m[3] });
  if (/^window_end must be after window_start$/.test(message)) return t('server.window_order');
  if ((m = message.match(/^found record with (\d+) fields, but the previous record has (\d+) fields/)))
    return t('server.csv_fields', { got: m[1], want: m[2] });
  if (/^the first line must be:/.test(message)) return t('errors.bad_header', { columns: message.replace(/^the first line must be:\s*/, '') });
  return message;
}

/** An error from HQ (or the network) as a sentence in the console's language. */
export function errorText(e: unknown): string {
  if (typeof e !== 'object' || e === null || !('code' in e)) return t('errors.unknown', { message: String(e) });
  const err = e as ApiError;
  const key = `errors.${err.code}`;
  const text = t(key, { message: translateMessage(err.message ?? ''), columns: (err.message ?? '').replace(/^the first line must be:\s*/, '') });
  if (text !== key) return text;
  return translateMessage(err.message ?? err.code);
}

export { _, locale };
