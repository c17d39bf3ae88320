// The console's one entry point: who is signed in, then the page module the path names. Pages
// are plain URLs loaded in full (bookmarks and the back button just work); there is no client
// router and no build step.
import { api, ApiError } from './api.js';
import { h, problem, replace, title } from './dom.js';

const PAGES = [
  [/^\/ui\/?$/, 'batches'],
  [/^\/ui\/new$/, 'newbatch'],
  [/^\/ui\/usage$/, 'usage'],
  [/^\/ui\/batches\/(b[0-9a-f]{16})$/, 'batch'],
  [/^\/ui\/batches\/(b[0-9a-f]{16})\/jobs\/([0-9a-f]{16})$/, 'job'],
];

function signInForm(main) {
  title('Sign in');
  const key = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', required: true, size: 48 });
  const status = h('p', { role: 'status' });
  const form = h('form', {
    async onsubmit(event) {
      event.preventDefault();
      try {
        await api.signIn(key.value);
        location.reload();
      } catch (error) {
        replace(status, problem(error));
      }
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'),
    h('div', { class: 'help' }, 'omtx_… — kept for this browser session in an HttpOnly cookie; pages never see it')),
  h('div', { class: 'field' }, key),
  h('button', { class: 'primary', type: 'submit' }, 'Sign in'), status);
  replace(main, h('h1', {}, 'Sign in'), form);
  key.focus();
}

function who(session) {
  const el = document.getElementById('who');
  const out = session.auth === 'off' ? [] : [h('button', { type: 'button', async onclick() { await api.signOut(); location.assign('/ui/'); } }, 'Sign out')];
  replace(el, `tenant ${session.tenant}`, session.auth === 'off' ? ' (local stack, no sign-in)' : '', ...out);
}

async function start() {
  const main = document.getElementById('main');
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
  }
  const found = PAGES.map(([pattern, page]) => [location.pathname.match(pattern), page]).find(([m]) => m);
  // The page's modules load while the session is asked for, not after it (one round trip less).
  const loading = found ? import(`./${found[1]}.js`) : null;
  loading?.catch(() => {});
  let session;
  try {
    session = await api.session();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signInForm(main);
    title('Unavailable');
    return replace(main, h('h1', {}, 'The API did not answer'), problem(error));
  }
  who(session);
  if (!found) {
    title('Not found');
    return replace(main, h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '/ui/' }, 'My batches')));
  }
  const [match] = found;
  const module = await loading;
  try {
    await module.render(main, ...match.slice(1));
  } catch (error) {
    main.append(problem(error));
  }
}

start();
