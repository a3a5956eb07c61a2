// Celeriac dashboard. Plain browser JavaScript, no build step and nothing from a CDN.
// Every value that comes from a task is put into the page as text (textContent), never as HTML.
'use strict';

const body = document.body;
const PAGE = body.dataset.page;
const PAGE_ID = body.dataset.id;
const ADMIN = body.dataset.role === 'admin';
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const main = document.getElementById('main');
const STATES = ['RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED', 'PENDING'];

// ---------------------------------------------------------------- helpers

/** Builds an element; string and number children become text nodes. */
function h(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname); throw new Error('401'); }
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

async function post(path, payload) {
  const r = await fetch(path, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': CSRF, Accept: 'application/json' },
    body: JSON.stringify(payload || {}),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { toast(data.error || r.statusText, true); throw new Error(data.error || r.statusText); }
  return data;
}

/** Asks before a change; resolves true only on "Confirm". */
function confirmAction(text) {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise(resolve => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.returnValue = '';
    d.showModal();
  });
}

async function act(question, path, payload, done) {
  if (!(await confirmAction(question))) return;
  const r = await post(path, payload);
  toast(done ? done(r) : 'Done');
  refresh();
}

let toastTimer;
function toast(text, error) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.className = 'toast' + (error ? ' error' : '');
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

function fmtTime(sec) {
  if (sec === null || sec === undefined) return '';
  const d = new Date(sec * 1000);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}
function fmtDate(sec) { return sec ? new Date(sec * 1000).toLocaleString([], { hour12: false }) : ''; }
function fmtRuntime(s) { return s === null || s === undefined ? '' : s < 1 ? (s * 1000).toFixed(1) + ' ms' : s.toFixed(2) + ' s'; }
function ago(sec) {
  if (!sec) return 'never';
  const s = Math.max(0, Date.now() / 1000 - sec);
  return s < 60 ? Math.round(s) + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
}
function stateBadge(s) { return h('span', { class: 'state ' + s, 'data-state': s }, s); }
function taskLink(id) { return h('a', { href: '/tasks/' + encodeURIComponent(id), class: 'mono' }, id); }

/** Copies text to the clipboard; false if neither the Clipboard API (secure pages only) nor execCommand could. */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    // Over plain HTTP to another host the Clipboard API is missing: the older selection route still works.
    const ta = h('textarea', { readonly: true, class: 'offscreen' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (ignored) { ok = false; }
    ta.remove();
    return ok;
  }
}

/**
 * An id in a list: its first 8 characters as a link (the whole id on hover) and a button that copies the whole id.
 * A UUID in full would take 36 characters of a column that other columns need.
 */
function shortIdLink(id) {
  return h('span', { class: 'short-id' },
    h('a', { href: '/tasks/' + encodeURIComponent(id), class: 'mono', title: id, 'data-full-id': id }, id.slice(0, 8)),
    h('button', { type: 'button', class: 'copy link', title: 'Copy id ' + id, 'aria-label': 'Copy id',
      onclick: async () => toast(await copyText(id) ? 'Copied ' + id : 'Could not copy; the id is ' + id) },
    copyIcon()));
}

/** Two overlapping sheets, drawn rather than a font's glyph, which not every font has. */
function copyIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  for (const [x, y] of [[5, 1], [1, 5]]) {
    const r = document.createElementNS(ns, 'rect');
    Object.entries({ x, y, width: 10, height: 10, rx: 1.5, fill: x === 1 ? '#fff' : 'none', stroke: 'currentColor',
      'stroke-width': 1.5 }).forEach(([k, v]) => r.setAttribute(k, v));
    svg.append(r);
  }
  return svg;
}

/** A cell that keeps to one line, cut with an ellipsis; its whole text shows on hover. */
function clipCell(text) {
  return h('td', { class: 'mono clip', title: text }, text);
}

/** A table header row whose cells carry a class each, so the stylesheet can size the columns. */
function headRow(columns) {
  return h('thead', {}, h('tr', {}, columns.map(([label, cls]) => h('th', { class: cls || null }, label))));
}
function table(headers, rows, attrs) {
  return h('table', attrs || {}, h('thead', {}, h('tr', {}, headers.map(x => h('th', {}, x)))), h('tbody', {}, rows));
}
/** True if `data` is what `el` shows already; remembers it otherwise. Unchanged tables are not redrawn. */
function unchanged(el, data) {
  const key = JSON.stringify(data);
  if (el.dataset.shown === key) return true;
  el.dataset.shown = key;
  return false;
}

/** Replaces the page's content; nested arrays and empty values are allowed, as in h(). */
function render(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter(n => n !== null && n !== undefined && n !== false && n !== ''));
}
function debounce(fn, ms) {
  let t = null;
  return () => { if (t === null) t = setTimeout(() => { t = null; fn(); }, ms); };
}

// ---------------------------------------------------------------- live stream

let refresh = () => {};
let onTasks = () => {};
let onWorkers = () => {};

function connect() {
  const live = document.getElementById('live');
  const es = new EventSource('/api/stream');
  // Whatever happened while the stream was not connected (page load, reconnect) is picked up by a reload.
  es.addEventListener('open', () => { live.textContent = 'live'; live.classList.add('on'); refresh(); });
  es.addEventListener('error', () => { live.textContent = 'offline'; live.classList.remove('on'); });
  es.addEventListener('tasks', ev => onTasks(JSON.parse(ev.data)));
  es.addEventListener('workers', () => onWorkers());
}

// ---------------------------------------------------------------- tasks

function tasksPage() {
  const params = new URLSearchParams(location.search);
  const f = { state: params.get('state') || '', name: params.get('name') || '', search: params.get('search') || '',
    root: params.get('root') || '', parent: params.get('parent') || '', offset: Number(params.get('offset') || 0),
    limit: 50 };
  const state = h('select', { id: 'filter-state', onchange: () => { f.state = state.value; f.offset = 0; load(); } },
    h('option', { value: '' }, 'All states'), STATES.map(s => h('option', { value: s }, s)));
  state.value = f.state;
  const name = h('select', { id: 'filter-name', onchange: () => { f.name = name.value; f.offset = 0; load(); } },
    h('option', { value: '' }, 'All tasks'));
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Search id, name, args, result…', size: 40 });
  search.value = f.search;
  search.addEventListener('input', debounce(() => { f.search = search.value; f.offset = 0; load(); }, 300));
  const info = h('span', { id: 'tasks-count', class: 'muted' });
  // A workflow (root id) or a task's children (parent id), set by links from a task page; each can be cleared.
  const scope = h('span', { id: 'filter-scope', class: 'actions' });
  function drawScope() {
    const chip = (key, label) => f[key] ? h('span', { class: 'chip', id: 'filter-' + key }, label, ' ', taskLink(f[key]),
      h('button', { class: 'link clear', title: 'Clear', onclick: () => { f[key] = ''; f.offset = 0; drawScope(); load(); } },
        '×')) : null;
    scope.replaceChildren(...[chip('root', 'Workflow'), chip('parent', 'Sent by')].filter(c => c !== null));
  }
  drawScope();
  const prev = h('button', { id: 'prev', onclick: () => { f.offset = Math.max(0, f.offset - f.limit); load(); } }, '← Newer');
  const next = h('button', { id: 'next', onclick: () => { f.offset += f.limit; load(); } }, 'Older →');
  const tbody = h('tbody', { id: 'tasks-body' });
  render(h('h1', {}, 'Tasks'),
    h('div', { class: 'bar' }, state, name, search, scope, info),
    h('table', { id: 'tasks', class: 'list' }, headRow([['State', 'c-state'], ['Task', 'c-name'], ['Id', 'c-id'],
      ['Args', 'c-args'], ['Kwargs', 'c-kwargs'], ['Result / error', 'c-result'], ['Received', 'c-time'],
      ['Runtime', 'c-runtime'], ['Worker', 'c-worker']]), tbody),
    h('div', { class: 'pager' }, prev, next));

  let shown = '';
  async function load() {
    const q = new URLSearchParams();
    for (const k of ['state', 'name', 'search', 'root', 'parent']) if (f[k]) q.set(k, f[k]);
    if (f.offset) q.set('offset', f.offset);
    history.replaceState(null, '', '/tasks' + (q.toString() ? '?' + q : ''));
    q.set('limit', f.limit);
    const data = await api('/api/tasks?' + q);
    const known = new Set([...name.options].map(o => o.value));
    for (const n of data.names) if (!known.has(n)) name.append(h('option', { value: n }, n));
    name.value = f.name;
    info.textContent = data.total === 0 ? 'No tasks match' :
      `${data.offset + 1}–${data.offset + data.items.length} of ${data.total} (history holds ${data.historySize})`;
    prev.disabled = f.offset === 0;
    next.disabled = data.offset + data.items.length >= data.total;
    // Re-render only what changed: rows stay put (and selectable) while nothing happens.
    const key = JSON.stringify(data.items);
    if (key === shown) return;
    shown = key;
    tbody.replaceChildren(...data.items.map(t => h('tr', { 'data-id': t.id },
      h('td', {}, stateBadge(t.state)), h('td', { class: 'clip', title: t.name || '' }, t.name || ''),
      h('td', {}, shortIdLink(t.id)), clipCell(t.args || ''), clipCell(t.kwargs || ''),
      clipCell(t.exception || t.result || ''),
      h('td', {}, fmtTime(t.received)), h('td', {}, fmtRuntime(t.runtime)),
      h('td', { class: 'clip', title: t.worker || '' }, t.worker || ''))));
  }
  refresh = load;
  onTasks = debounce(load, 250);
  setInterval(load, 15000);
  load();
}

// ---------------------------------------------------------------- task detail

function taskPage() {
  // Three parts, each redrawn only when what it shows changed: a live workflow must not redraw the whole page.
  const head = h('div', { id: 'task-head' });
  const flow = h('section', { id: 'workflow' });
  const tail = h('div', { id: 'task-tail' });
  let root = null;
  let rendered = false;
  async function load() {
    let t;
    try { t = await api('/api/tasks/' + encodeURIComponent(PAGE_ID)); } catch (e) {
      rendered = false;
      render(h('h1', {}, 'Task'), h('p', { class: 'muted' }, e.message)); return;
    }
    // The workflow comes from the event history; a task known only to the result backend has none to show.
    const w = t.source ? null : await api('/api/tasks/' + encodeURIComponent(PAGE_ID) + '/workflow').catch(() => null);
    root = w ? w.rootId : null;
    if (!rendered) { render(head, flow, tail); rendered = true; }
    if (!unchanged(head, t)) head.replaceChildren(...taskHead(t));
    if (!unchanged(flow, w)) flow.replaceChildren(...workflowView(w));
    if (!unchanged(tail, [t.events, t.children])) tail.replaceChildren(...taskTail(t));
  }
  refresh = load;
  const reload = debounce(load, 300);
  // A push lists at most 200 changed tasks: a longer one may hide a task of this workflow, so it reloads too.
  onTasks = changed => {
    if (changed.length >= 200 || changed.some(c => c.id === PAGE_ID || c.retriedAs === PAGE_ID
      || (root !== null && (c.rootId === root || c.id === root)))) reload();
  };
  load();
}

function taskHead(t) {
  const rows = [
    ['Id', h('span', { class: 'mono' }, t.id)], ['Name', t.name || ''], ['State', stateBadge(t.state)],
    ['Args', h('span', { class: 'mono', id: 'task-args' }, t.args || '')],
    ['Kwargs', h('span', { class: 'mono' }, t.kwargs || '')], ['Worker', t.worker || ''], ['Queue', t.queue || ''],
    ['Received', fmtDate(t.received)], ['Started', fmtDate(t.started)], ['Finished', fmtDate(t.finished)],
    ['Runtime', fmtRuntime(t.runtime)], ['Retries', String(t.retries)], ['ETA', t.eta || ''], ['Expires', t.expires || ''],
    ['Parent', t.parentId ? taskLink(t.parentId) : ''], ['Root', t.rootId ? taskLink(t.rootId) : ''],
    ['Retried as', t.retriedAs ? taskLink(t.retriedAs) : ''],
    ['Retry of', t.retriedFrom.length ? t.retriedFrom.map(x => taskLink(x.id)) : ''],
  ];
  const actions = [];
  if (ADMIN) {
    if (t.name && ['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'].includes(t.state)) {
      actions.push(h('button', { id: 'retry', onclick: () => act(`Send ${t.name} again with the same arguments?`,
        `/api/tasks/${encodeURIComponent(t.id)}/retry`, {}, r => 'Sent as ' + r.id) }, 'Retry'));
    }
    if (!['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'].includes(t.state)) {
      actions.push(h('button', { id: 'revoke', class: 'danger', onclick: () => act(`Revoke task ${t.id}?`,
        `/api/tasks/${encodeURIComponent(t.id)}/revoke`, { terminate: false }) }, 'Revoke'));
      actions.push(h('button', { id: 'terminate', class: 'danger', onclick: () => act(
        `Terminate task ${t.id} if it is running?`, `/api/tasks/${encodeURIComponent(t.id)}/revoke`,
        { terminate: true }) }, 'Terminate'));
    }
  }
  return [h('h1', {}, 'Task ', h('span', { class: 'mono' }, t.name || t.id)),
    t.source ? h('p', { class: 'muted', id: 'task-source' }, 'Not in the event history; from the ' + t.source + '.') : '',
    h('div', { class: 'actions' }, actions),
    h('table', { class: 'kv', id: 'task-detail' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))))),
    t.result !== null ? [h('h2', {}, 'Result'), h('pre', { id: 'task-result' }, t.result)] : [],
    t.exception ? [h('h2', {}, 'Exception'), h('pre', { id: 'task-exception' }, t.exception)] : [],
    t.traceback ? [h('h2', {}, 'Traceback'), h('pre', { id: 'task-traceback' }, t.traceback)] : []]
    .flat(Infinity).filter(n => n !== '');
}

function taskTail(t) {
  return [h('h2', {}, 'Events'),
    table(['Time', 'Event', 'Worker', 'Detail'], t.events.map(e => h('tr', {}, h('td', {}, fmtTime(e.timestamp)),
      h('td', {}, e.type), h('td', {}, e.hostname || ''), h('td', { class: 'mono' }, e.detail || ''))), { id: 'task-events' }),
    t.children.length ? [h('h2', {}, 'Children'), table(['State', 'Task', 'Id'], t.children.map(c => h('tr', {},
      h('td', {}, stateBadge(c.state)), h('td', {}, c.name || ''), h('td', {}, taskLink(c.id)))))] : []].flat();
}

/** How long a task ran, or has been running. */
function runtimeOf(n) {
  if (n.runtime !== null && n.runtime !== undefined) return fmtRuntime(n.runtime);
  if (n.started && n.finished) return fmtRuntime(Math.max(0, n.finished - n.started));
  if (n.state === 'STARTED') return 'running';
  return '';
}

/** Counts per state, as badges: "SUCCESS 9,998 · FAILURE 2". */
function stateCounts(states) {
  return Object.entries(states).map(([s, n]) => h('span', { class: 'count', 'data-state': s }, stateBadge(s), ' ',
    n.toLocaleString()));
}

/** A name cell indented by depth (set through the CSSOM: the CSP allows no style attributes). */
function indented(depth, ...children) {
  const td = h('td', { class: 'tree', title: depth > 0 ? 'depth ' + depth : null }, depth > 0 ? '└ ' : '', ...children);
  td.style.setProperty('--depth', String(Math.min(depth, 24)));
  return td;
}

/** The workflow section: nothing for a task that is a workflow of its own. */
function workflowView(w) {
  if (!w || w.total <= 1) return [];
  const list = '/tasks?root=' + encodeURIComponent(w.rootId);
  const rows = [];
  // Nodes come depth first; a task's "… N more" line goes after its listed children, where its subtree ends.
  const pending = [];
  const flush = depth => { while (pending.length && pending[pending.length - 1].depth >= depth) rows.push(pending.pop().row); };
  let prevDepth = -1;
  for (const n of w.nodes) {
    flush(n.depth);
    // Past the limit only the way down to this page's task is listed: a long chain skips levels.
    if (n.depth > prevDepth + 1) {
      rows.push(h('tr', { class: 'more gap' }, h('td', {}), indented(prevDepth + 1,
        `⋮ ${(n.depth - prevDepth - 1).toLocaleString()} levels not listed`), h('td', {}), h('td', {}), h('td', {})));
    }
    prevDepth = n.depth;
    const current = n.id === PAGE_ID;
    rows.push(h('tr', { 'data-id': n.id, class: current ? 'current' : null },
      h('td', {}, stateBadge(n.state)), indented(n.depth, n.name || '?'),
      h('td', {}, current ? h('span', { class: 'mono' }, n.id) : taskLink(n.id)),
      h('td', {}, runtimeOf(n)), h('td', {}, n.worker || '')));
    if (n.hiddenChildren > 0) {
      pending.push({ depth: n.depth, row: h('tr', { class: 'more', 'data-more': n.id }, h('td', {}),
        indented(n.depth + 1, `… ${n.hiddenChildren.toLocaleString()} more `, stateCounts(n.hiddenStates), ' ',
          h('a', { href: '/tasks?parent=' + encodeURIComponent(n.id) }, 'list them')),
        h('td', {}), h('td', {}), h('td', {})) });
    }
  }
  flush(0);
  return [h('h2', {}, 'Workflow'),
    h('div', { class: 'bar', id: 'workflow-summary' },
      h('span', {}, `${w.total.toLocaleString()} tasks`), stateCounts(w.states),
      h('a', { id: 'workflow-link', href: list }, 'Open in the task list')),
    w.hidden > 0 ? h('p', { class: 'muted', id: 'workflow-more' },
      `Showing ${w.shown.toLocaleString()} of ${w.total.toLocaleString()} tasks: the ones that started others first, `
      + `then the first ${w.childrenShown} children of each task; `, h('a', { href: list }, 'the task list'),
      ' has them all.') : null,
    table(['State', 'Task', 'Id', 'Runtime', 'Worker'], rows, { id: 'workflow-tree' })].filter(n => n !== null);
}

// ---------------------------------------------------------------- workers

function workersPage() {
  const tbody = h('tbody', { id: 'workers-body' });
  const rlTask = h('input', { id: 'rl-task', placeholder: 'task name' });
  const rlRate = h('input', { id: 'rl-rate', placeholder: '10/m, 5/s, or empty to lift', size: 22 });
  const rlWorker = h('select', { id: 'rl-worker' }, h('option', { value: '' }, 'all workers'));
  render(h('h1', {}, 'Workers'),
    table(['Worker', 'Status', 'Software', 'Pool', 'Active', 'Processed', 'Load', 'Last heartbeat', 'Queues',
      ADMIN ? 'Control' : ''], [], { id: 'workers' }),
    ADMIN ? [h('h2', {}, 'Rate limit'), h('div', { class: 'bar' }, rlTask, rlRate, rlWorker,
      h('button', { id: 'rl-apply', onclick: () => act(`Set the rate limit of ${rlTask.value} to ${rlRate.value || 'none'}?`,
        '/api/rate-limit', { task: rlTask.value, rate: rlRate.value, worker: rlWorker.value || null }) }, 'Apply'))] : []);
  main.querySelector('#workers').replaceChild(tbody, main.querySelector('#workers tbody'));
  async function load() {
    const ws = await api('/api/workers');
    const known = new Set([...rlWorker.options].map(o => o.value));
    for (const w of ws) if (!known.has(w.hostname)) rlWorker.append(h('option', { value: w.hostname }, w.hostname));
    tbody.replaceChildren(...ws.map(w => h('tr', { 'data-worker': w.hostname },
      h('td', {}, w.hostname), h('td', {}, h('span', { class: 'state ' + (w.online ? 'SUCCESS' : 'FAILURE') }, w.online ? 'online' : 'offline')),
      h('td', {}, w.software), h('td', {}, w.poolSize || ''), h('td', {}, w.active), h('td', {}, w.processed),
      h('td', {}, w.loadavg.map(x => x.toFixed(2)).join(' ')), h('td', {}, ago(w.lastHeartbeat)),
      h('td', {}, w.queues.join(', ')),
      h('td', {}, ADMIN && w.online ? h('div', { class: 'actions' },
        h('button', { onclick: () => act(`Grow the pool of ${w.hostname} by 1?`, `/api/workers/${encodeURIComponent(w.hostname)}/pool`, { delta: 1 }) }, 'Pool +1'),
        h('button', { onclick: () => act(`Shrink the pool of ${w.hostname} by 1?`, `/api/workers/${encodeURIComponent(w.hostname)}/pool`, { delta: -1 }) }, 'Pool −1'),
        h('button', { class: 'danger', onclick: () => act(`Shut down ${w.hostname}? It finishes its running tasks first.`,
          `/api/workers/${encodeURIComponent(w.hostname)}/shutdown`, {}) }, 'Shut down')) : ''))));
  }
  refresh = load;
  onWorkers = debounce(load, 500);
  setInterval(load, 5000);
  load();
}

// ---------------------------------------------------------------- queues

function queuesPage() {
  const tbody = h('tbody', { id: 'queues-body' });
  const dl = h('p', { id: 'dead-letter-count' });
  render(h('h1', {}, 'Queues'),
    h('table', { id: 'queues' }, h('thead', {}, h('tr', {}, ['Queue', 'Waiting', 'Consumers', 'Workers',
      'Received / min', 'Finished / min', ADMIN ? 'Control' : ''].map(x => h('th', {}, x)))), tbody), dl);
  async function load() {
    const data = await api('/api/queues');
    dl.replaceChildren('Dead-lettered messages: ', h('a', { href: '/failed' }, String(data.deadLetters)));
    if (unchanged(tbody, data.queues)) return;
    // On Redis Cluster each queue carries where it lives (slot and master), shown on hover.
    tbody.replaceChildren(...data.queues.map(q => h('tr', { 'data-queue': q.name, title: q.location },
      h('td', {}, q.name), h('td', {}, q.waiting),
      // The broker's own count (null: this broker does not know, as on Redis); the workers are those that said so.
      q.consumerCount === null
        ? h('td', { class: 'consumer-count', title: 'This broker does not count the consumers of a queue' }, '\u2014')
        : h('td', { class: 'consumer-count' }, q.consumerCount),
      h('td', {}, q.consumers.join(', ') || 'none'),
      h('td', {}, q.receivedPerMinute), h('td', {}, q.finishedPerMinute),
      h('td', {}, ADMIN ? h('button', { class: 'danger', onclick: () => act(
        `Purge queue ${q.name}? Its ${q.waiting} waiting messages are deleted.`,
        `/api/queues/${encodeURIComponent(q.name)}/purge`, {}, r => `Purged ${r.purged}`) }, 'Purge') : ''))));
  }
  refresh = load;
  onTasks = debounce(load, 1000);
  setInterval(load, 5000);
  load();
}

// ---------------------------------------------------------------- charts

const COLORS = ['#2859a8', '#2f7d4f', '#b3261e', '#a15c00', '#6b3a8a', '#0f7b8a', '#8a6d0f', '#5a5a5a'];

/**
 * Round steps for an axis from 0: `count` to `count` + 1 of them (1, 2, 2.5 or 5 times a power of ten; whole
 * numbers only when `whole`), reaching at least `max`.
 */
function niceTicks(max, count, whole) {
  const raw = max / (count + 1);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  // 2.5 is no step for whole numbers below 10 (it would round to 3).
  let step = (whole && mag < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]).map(m => m * mag).find(x => x >= raw);
  if (whole) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let i = 0; i * step < max + step - 1e-9; i++) ticks.push(+(i * step).toPrecision(12));
  return { ticks, top: ticks[ticks.length - 1], step };
}

/** Time ticks on round local minutes: 4 to 7 of them over the window. */
function timeTicks(x0, x1) {
  const step = [60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].find(s => (x1 - x0) / s <= 7) || 86400;
  // Epoch seconds to the local clock and back, so that ticks fall on :00, :10, ... wherever the zone's offset is.
  const offset = new Date(x0 * 1000).getTimezoneOffset() * 60;
  const ticks = [];
  for (let t = Math.ceil((x0 - offset) / step) * step + offset; t <= x1 + 1e-9; t += step) ticks.push(t);
  return ticks;
}

/**
 * A line chart in SVG: series of per-step values (null for no data) starting at `start` every `step` seconds, or of
 * [time, value] pairs. The y axis is labelled with `unit` and has round ticks from 0 (at least `minTop`, so that a
 * quiet hour still shows a scale); the x axis has local-time ticks.
 */
function lineChart(title, series, unit, points, opts) {
  const o = Object.assign({ minTop: 1, whole: false, format: v => v.toLocaleString(), width: 600 }, opts || {});
  // Drawn at the size it is shown (width from the page), so text is 11 px at any window width.
  const W = Math.max(320, Math.round(o.width)), H = 220, L = 62, B = 40, T = 10, R = 14;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', W);
  svg.setAttribute('height', H);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${title}, ${unit}, by time`);
  const all = series.flatMap(s => s.values.map(v => (Array.isArray(v) ? v[1] : v))).filter(v => v !== null);
  const y = niceTicks(Math.max(o.minTop, ...all), 4, o.whole);
  const max = y.top;
  const xs = series.flatMap(s => s.values.map((v, i) => (Array.isArray(v) ? v[0] : points.start + i * points.step)));
  const x0 = points.x0 ?? Math.min(...xs), x1 = points.x1 ?? Math.max(...xs, x0 + 1);
  const sx = x => L + ((x - x0) / Math.max(1, x1 - x0)) * (W - L - R);
  const sy = v => H - B - (v / max) * (H - B - T);
  const line = (xa, ya, xb, yb, color) => {
    const l = document.createElementNS(ns, 'line');
    Object.entries({ x1: xa, y1: ya, x2: xb, y2: yb, stroke: color || '#dfe3ea' }).forEach(([k, v]) => l.setAttribute(k, v));
    return l;
  };
  const text = (x, yy, s, anchor, cls) => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', x); t.setAttribute('y', yy); t.setAttribute('font-size', '11'); t.setAttribute('fill', '#6b7385');
    if (anchor) t.setAttribute('text-anchor', anchor);
    if (cls) t.setAttribute('class', cls);
    t.textContent = s;
    return t;
  };
  // Y: a grid line and a label per tick, the unit written along the axis.
  for (const v of y.ticks) {
    svg.append(line(L, sy(v), W - R, sy(v)));
    svg.append(text(L - 5, sy(v) + 4, o.format(v, y.step), 'end', 'tick-y'));
  }
  const yTitle = text(0, 0, unit, 'middle', 'axis-y');
  yTitle.setAttribute('transform', `translate(13 ${(T + H - B) / 2}) rotate(-90)`);
  svg.append(yTitle);
  // X: the axis, a tick mark and a local time every few minutes.
  svg.append(line(L, H - B, W - R, H - B, '#9aa3b5'));
  for (const t of timeTicks(x0, x1)) {
    svg.append(line(sx(t), H - B, sx(t), H - B + 4, '#9aa3b5'));
    svg.append(text(sx(t), H - B + 16, new Date(t * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit',
      minute: '2-digit' }), 'middle', 'tick-x'));
  }
  svg.append(text((L + W - R) / 2, H - 4, 'local time', 'middle', 'axis-x'));
  const dots = [];
  series.forEach((s, k) => {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      const x = Array.isArray(v) ? v[0] : points.start + i * points.step + (points.step || 0) / 2;
      const val = Array.isArray(v) ? v[1] : v;
      if (val === null) { pen = false; return; }
      d += (pen ? 'L' : 'M') + sx(x).toFixed(1) + ' ' + sy(val).toFixed(1) + ' ';
      pen = true;
      if (val > 0) {
        // A dot per non-zero point, so a lone minute of data shows even where no line joins it.
        const c = document.createElementNS(ns, 'circle');
        c.setAttribute('cx', sx(x).toFixed(1)); c.setAttribute('cy', sy(val).toFixed(1)); c.setAttribute('r', '2.5');
        c.setAttribute('fill', COLORS[k % COLORS.length]);
        dots.push(c);
      }
    });
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d || 'M0 0');
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', COLORS[k % COLORS.length]);
    p.setAttribute('stroke-width', '2');
    svg.append(p);
  });
  svg.append(...dots);
  const legend = h('div', { class: 'legend' }, series.map((s, k) => {
    const e = h('span', {}, s.name);
    e.style.setProperty('--c', COLORS[k % COLORS.length]);
    return e;
  }));
  return h('div', { class: 'card chart' }, h('h2', {}, title, unit ? h('span', { class: 'muted' }, ' (' + unit + ')') : ''),
    svg, legend, all.length === 0 ? h('p', { class: 'muted' }, 'No data in the last hour yet.') : '');
}

function chartsPage() {
  const task = h('select', { id: 'chart-task', onchange: () => load() }, h('option', { value: '' }, 'All tasks'));
  const grid = h('div', { class: 'grid', id: 'charts' });
  render(h('h1', {}, 'Charts'), h('div', { class: 'bar' }, 'Failure rate and run time of ', task,
    h('span', { class: 'muted' }, ' — last hour, per minute, live')), grid);
  async function load() {
    const [c, names] = await Promise.all([api('/api/charts?task=' + encodeURIComponent(task.value)),
      api('/api/tasks?limit=1')]);
    const known = new Set([...task.options].map(o => o.value));
    for (const n of names.names) if (!known.has(n)) task.append(h('option', { value: n }, n));
    const pts = { start: c.start, step: c.step, x0: c.start, x1: c.start + 60 * c.step };
    // The width each chart gets: the grid's columns, less the card's padding and border.
    const columns = getComputedStyle(grid).gridTemplateColumns.split(' ').length;
    const width = (grid.clientWidth - (columns - 1) * 16) / columns - 34;
    const thr = Object.entries(c.throughput).map(([n, v]) => ({ name: n, values: v }));
    const rt = ['p50', 'p95', 'p99'].map(p => ({ name: p, values: c.runtimeMs[p] }));
    const qs = Object.entries(c.queues).map(([n, v]) => ({ name: n, values: v }));
    // Fractional steps get the decimals they need (0.25), whole ones none; the unit is the axis's title.
    const decimals = (v, step) => v.toLocaleString([], { maximumFractionDigits: step >= 1 ? 0 : step >= 0.1 ? 2 : 3 });
    grid.replaceChildren(
      lineChart('Throughput by task', thr, 'tasks finished / min', pts, { minTop: 4, whole: true, width }),
      lineChart('Failure rate', [{ name: task.value || 'all tasks', values: c.failureRate }], '% of finished', pts,
        { minTop: 10, format: decimals, width }),
      lineChart('Run time percentiles', rt, 'ms', pts, { format: decimals, width }),
      lineChart('Queue length', qs, 'waiting messages', { x0: c.start, x1: c.start + 60 * c.step },
        { minTop: 4, whole: true, width }));
  }
  // A window made wider or narrower gets charts drawn for it.
  window.addEventListener('resize', debounce(load, 300));
  refresh = load;
  onTasks = debounce(load, 2000);
  setInterval(load, 15000);
  load();
}

// ---------------------------------------------------------------- schedules

function schedulesPage() {
  const tbody = h('tbody', { id: 'schedules-body' });
  const field = (id, label, attrs) => {
    const input = h(attrs && attrs.textarea ? 'textarea' : 'input', Object.assign({ id: 'sched-' + id, name: id }, attrs || {}));
    return [input, h('label', {}, label, input)];
  };
  const [fName, lName] = field('name', 'Name', { required: true });
  const [fTask, lTask] = field('task', 'Task', { required: true });
  const [fSpec, lSpec] = field('schedule', 'Schedule (every 30s · crontab */5 * * * * · at 2026-12-01T09:00:00Z)', { required: true });
  const [fArgs, lArgs] = field('args', 'Args (JSON list)', { textarea: true });
  const [fKwargs, lKwargs] = field('kwargs', 'Kwargs (JSON object)', { textarea: true });
  const [fQueue, lQueue] = field('queue', 'Queue (empty: task routing)');
  const fEnabled = h('input', { id: 'sched-enabled', type: 'checkbox', checked: true });
  let previousName = null;
  const form = h('form', { class: 'schedule card', id: 'schedule-form', onsubmit: async ev => {
    ev.preventDefault();
    let args, kwargs;
    try {
      args = JSON.parse(fArgs.value.trim() || '[]');
      kwargs = JSON.parse(fKwargs.value.trim() || '{}');
    } catch (e) { toast('Args and kwargs must be JSON: ' + e.message, true); return; }
    await post('/api/schedules', { name: fName.value, task: fTask.value, schedule: fSpec.value, args, kwargs,
      queue: fQueue.value, enabled: fEnabled.checked, previousName });
    toast('Saved ' + fName.value);
    clear();
    load();
  } }, lName, lTask, lSpec, lArgs, lKwargs, lQueue, h('label', {}, h('span', {}, 'Enabled'), fEnabled),
  h('div', { class: 'actions' }, h('button', { id: 'sched-save', type: 'submit', class: 'primary' }, 'Save'),
    h('button', { type: 'button', onclick: () => clear() }, 'New')));
  function clear() {
    previousName = null;
    for (const f of [fName, fTask, fSpec, fArgs, fKwargs, fQueue]) f.value = '';
    fEnabled.checked = true;
  }
  function edit(e) {
    previousName = e.name;
    fName.value = e.name; fTask.value = e.task; fSpec.value = e.schedule;
    fArgs.value = JSON.stringify(e.args); fKwargs.value = JSON.stringify(e.kwargs); fQueue.value = e.queue || '';
    fEnabled.checked = e.enabled;
    fSpec.focus();
  }
  render(h('h1', {}, 'Schedules'),
    h('table', { id: 'schedules' }, h('thead', {}, h('tr', {}, ['Name', 'Task', 'Schedule', 'Args', 'Kwargs', 'Queue',
      'Enabled', 'Last run', 'Runs', 'Next due', ADMIN ? 'Control' : ''].map(x => h('th', {}, x)))), tbody),
    ADMIN ? [h('h2', {}, 'Add or edit'), form] : []);
  async function load() {
    const data = await api('/api/schedules');
    if (!data.configured) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 11, class: 'muted' },
        'No schedule store configured: start the dashboard with --store (or on a Redis broker).')));
      return;
    }
    if (unchanged(tbody, data.entries)) return;
    tbody.replaceChildren(...data.entries.map(e => h('tr', { 'data-schedule': e.name },
      h('td', {}, e.name), h('td', {}, e.task), h('td', { class: 'mono' }, e.schedule),
      h('td', { class: 'mono clip' }, JSON.stringify(e.args)), h('td', { class: 'mono clip' }, JSON.stringify(e.kwargs)),
      h('td', {}, e.queue || ''), h('td', {}, e.enabled ? 'yes' : 'no'), h('td', {}, e.lastRunAt || 'never'),
      h('td', {}, e.totalRunCount), h('td', {}, e.enabled ? e.nextDue || '' : ''),
      h('td', {}, ADMIN ? h('div', { class: 'actions' },
        h('button', { class: 'edit', onclick: () => edit(e) }, 'Edit'),
        h('button', { class: 'toggle', onclick: () => act(`${e.enabled ? 'Disable' : 'Enable'} ${e.name}?`,
          `/api/schedules/${encodeURIComponent(e.name)}/enabled`, { enabled: !e.enabled }) }, e.enabled ? 'Disable' : 'Enable'),
        h('button', { class: 'run', onclick: () => act(`Send ${e.task} now?`, `/api/schedules/${encodeURIComponent(e.name)}/run`,
          {}, r => 'Sent ' + r.id) }, 'Run now'),
        h('button', { class: 'danger delete', onclick: () => act(`Delete schedule ${e.name}?`,
          `/api/schedules/${encodeURIComponent(e.name)}/delete`, {}) }, 'Delete')) : ''))));
  }
  refresh = load;
  setInterval(load, 10000);
  load();
}

// ---------------------------------------------------------------- failed and dead-lettered

function failedPage() {
  const search = h('input', { id: 'failed-search', type: 'search', placeholder: 'Search failed tasks…', size: 40 });
  const failedBody = h('tbody', { id: 'failed-body' });
  const deadBody = h('tbody', { id: 'dead-body' });
  const count = h('span', { class: 'muted', id: 'failed-count' });
  search.addEventListener('input', debounce(() => load(), 300));
  render(h('h1', {}, 'Failed tasks'),
    h('div', { class: 'bar' }, search, count, ADMIN ? h('button', { id: 'retry-all', onclick: () => act(
      `Retry every failed task matching “${search.value || 'anything'}” that was not retried yet?`,
      '/api/tasks/retry-all', { search: search.value }, r => `Retried ${r.retried}`) }, 'Retry all matching') : '',
    ADMIN ? h('button', { id: 'discard-all', class: 'danger', onclick: () => act(
      `Remove every failed task matching “${search.value || 'anything'}” from the history? Results stay in the result backend.`,
      '/api/tasks/discard-failed', { search: search.value }, r => `Discarded ${r.discarded}`) }, 'Discard all matching') : ''),
    h('table', { id: 'failed', class: 'list' }, headRow([['Task', 'c-name'], ['Id', 'c-id'], ['Args', 'c-args'],
      ['Exception', 'c-result'], ['Failed', 'c-time'], ['Worker', 'c-worker'], ['Retried as', 'c-id'],
      [ADMIN ? 'Control' : '', ADMIN ? 'c-control' : 'c-none']]), failedBody),
    h('h2', {}, 'Dead-lettered messages'),
    h('p', { class: 'muted' }, 'Messages no worker could run (malformed, unknown task), kept with the reason.'),
    ADMIN ? h('div', { class: 'bar' }, h('button', { id: 'requeue-all', onclick: () => act('Put every dead letter back on its queue?',
      '/api/dead-letters/requeue-all', {}, r => `Requeued ${r.requeued}`) }, 'Requeue all')) : '',
    h('table', { id: 'dead' }, h('thead', {}, h('tr', {}, ['Time', 'Queue', 'Task', 'Reason', 'Message',
      ADMIN ? 'Control' : ''].map(x => h('th', {}, x)))), deadBody));
  async function load() {
    const q = new URLSearchParams({ state: 'FAILURE', limit: 100 });
    if (search.value) q.set('search', search.value);
    const [failed, dead] = await Promise.all([api('/api/tasks?' + q), api('/api/dead-letters')]);
    count.textContent = `${failed.total} failed`;
    if (!unchanged(failedBody, failed.items)) failedBody.replaceChildren(...failed.items.map(t => h('tr', { 'data-id': t.id },
      h('td', { class: 'clip', title: t.name || '' }, t.name || ''), h('td', {}, shortIdLink(t.id)),
      clipCell(t.args || ''), clipCell(t.exception || ''), h('td', {}, fmtTime(t.finished)),
      h('td', { class: 'clip', title: t.worker || '' }, t.worker || ''),
      h('td', {}, t.retriedAs ? shortIdLink(t.retriedAs) : ''),
      h('td', {}, ADMIN ? h('div', { class: 'actions' },
        h('button', { class: 'retry', onclick: () => act(`Send ${t.name} again with the same arguments?`,
          `/api/tasks/${encodeURIComponent(t.id)}/retry`, {}, r => 'Sent as ' + r.id) }, 'Retry'),
        h('button', { class: 'danger discard', onclick: () => act(`Remove failed task ${t.id} from the history?`,
          `/api/tasks/${encodeURIComponent(t.id)}/discard`, {}) }, 'Discard')) : ''))));
    if (!unchanged(deadBody, dead)) deadBody.replaceChildren(...dead.map(d => h('tr', { 'data-dead': d.id },
      h('td', {}, d.time || ''), h('td', {}, d.queue), h('td', {}, d.task || '?'), h('td', {}, d.reason),
      h('td', {}, h('details', {}, h('summary', {}, d.taskId || 'payload'), h('pre', {}, d.payload))),
      h('td', {}, ADMIN ? h('div', { class: 'actions' },
        h('button', { onclick: () => act('Put this message back on ' + d.queue + '?', `/api/dead-letters/${encodeURIComponent(d.id)}/requeue`, {}) }, 'Requeue'),
        h('button', { class: 'danger', onclick: () => act('Discard this message for good?', `/api/dead-letters/${encodeURIComponent(d.id)}/discard`, {}) }, 'Discard')) : ''))));
  }
  refresh = load;
  onTasks = debounce(load, 500);
  load();
}

// ---------------------------------------------------------------- start

const pages = { tasks: tasksPage, task: taskPage, workers: workersPage, queues: queuesPage, charts: chartsPage,
  schedules: schedulesPage, failed: failedPage };
(pages[PAGE] || tasksPage)();
connect();
