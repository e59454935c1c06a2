import './lib/startup';
import { mount } from 'svelte';
import './app.css';
import './lib/i18n';
import App from './App.svelte';

// index.html drew a first frame in #app while this script loaded: the app
// takes its place.
const target = document.getElementById('app')!;
target.replaceChildren();
const app = mount(App, { target });

export default app;
