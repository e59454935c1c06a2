import { addMessages, init, locale } from 'svelte-i18n';
import { get } from 'svelte/store';
import zh from './zh-CN.json';
import en from './en.json';
import type { Locale } from '../ipc';

addMessages('zh-CN', zh);
addMessages('en', en);

init({ fallbackLocale: 'zh-CN', initialLocale: 'zh-CN' });

export function setUiLocale(l: Locale) {
  locale.set(l);
  document.documentElement.lang = l;
}

export function currentLocale(): Locale {
  return get(locale) === 'en' ? 'en' : 'zh-CN';
}

export { _, locale } from 'svelte-i18n';
