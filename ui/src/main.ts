import './lib/startup';
import { mount } from 'svelte';
import './app.css';
import './lib/i18n';
import App from './App.svelte';
import { app } from './lib/app.svelte';

// The store's questions go out before the page is built, so their answers
// are on their way while it is.
void app.start();

// index.html drew a first frame in #app while this script loaded: the app
// takes its place.
const target = document.getElementById('app')!;
target.replaceChildren();
export default mount(App, { target });
