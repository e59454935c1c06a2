import { mount } from 'svelte';
import '../../src/app.css';
import './console.css';
import './i18n';
import App from './App.svelte';

export default mount(App, { target: document.getElementById('app')! });
